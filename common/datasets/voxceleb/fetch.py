"""Getting the real HW4 ``Dataset/`` (about 6.9 GB): the four release parts streamed through
``tar`` without writing the archive, then checked against the known sha256 (and against the
full file manifest when one is on the data search path)."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
import urllib.error
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from common.datasets.voxceleb.load import VoxCelebFormatError
from common.fetch import FetchError, open_url, sha256sum
from common.paths import data_search_path

PART_URLS = tuple(
    "https://github.com/MachineLearningHW/ML_HW4_Dataset/releases/latest/download/"
    f"Dataset.tar.gz.part{suffix}" for suffix in ("aa", "ab", "ac", "ad"))
DOWNLOAD_GB = 6.9  # the four parts together; the extracted Dataset/ is 6.85 GB
# file, size and sha256 of all 64,672 real files; used when found on the data search path
MANIFEST_NAME = "ml2022_Dataset_lfs_manifest.tsv"


def find_manifest() -> Path | None:
    """``<folder>/hw4_speaker/<MANIFEST_NAME>`` in the first search-path folder that has it."""
    return next((p for p in (d / "hw4_speaker" / MANIFEST_NAME for d in data_search_path())
                 if p.is_file()), None)


def read_manifest(path: str | os.PathLike) -> dict[str, tuple[int, str]]:
    """``{file name: (size, sha256)}`` from the tab-separated manifest of the real files."""
    rows: dict[str, tuple[int, str]] = {}
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        if header != ["file", "size_bytes", "sha256"]:
            raise VoxCelebFormatError(f"{path} line 1: header {header}, expected file/size_bytes/sha256")
        for line_no, line in enumerate(f, start=2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or not parts[1].isdigit() or len(parts[2]) != 64:
                raise VoxCelebFormatError(f"{path} line {line_no}: expected file, size, sha256")
            rows[parts[0]] = (int(parts[1]), parts[2])
    return rows


def verify_manifest(folder: str | os.PathLike, manifest: dict[str, tuple[int, str]],
                    names: Sequence[str] | None = None) -> list[str]:
    """Problems found (empty = all good) comparing files in ``folder`` to the manifest:
    missing files, wrong sizes, wrong sha256. ``names`` limits the check (default: all)."""
    folder = Path(folder)
    problems = []
    for name in names if names is not None else sorted(manifest):
        size, digest = manifest[name]
        path = folder / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.stat().st_size != size:
            problems.append(f"{path}: {path.stat().st_size} bytes, expected {size}")
        elif sha256sum(path) != digest:
            problems.append(f"{path}: sha256 differs from the manifest")
    return problems


class _ChainedResponses(io.RawIOBase):
    """The four release parts read back to back as one stream (``cat part* | tar xz``
    without writing the 6.9 GB archive to disk)."""

    def __init__(self, urls: Sequence[str], timeout: float, say: Callable[..., None]) -> None:
        self.urls, self.timeout, self.say = list(urls), timeout, say
        self.current: Any = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            if self.current is None:
                if not self.urls:
                    return 0
                url = self.urls.pop(0)
                self.say(f"downloading {url}")
                self.current = open_url(url, self.timeout)
            n = self.current.readinto(buffer)
            if n:
                return n
            self.current.close()
            self.current = None


def fetch_real(fmt: Any, folder: Path, timeout: float = 15.0, say: Callable[..., None] = print,
               urls: Sequence[str] = PART_URLS) -> list[str]:
    """Download and unpack the real ``Dataset/`` (about 6.9 GB) into ``folder``; verify the
    three JSON files against the format's sha256 (and every file against the
    manifest when it is present). The fetcher of ``python -m common.data fetch hw4``: returns
    the failed download attempts ([] on success), raises FetchError for wrong files."""
    root = folder.parent
    if all((folder / f.name).is_file() for f in fmt.files):
        for f in fmt.files:
            if sha256sum(folder / f.name) not in f.sha256:
                raise FetchError(f"{folder / f.name}: sha256 is not the real file's; delete or move "
                                 "it and fetch again")
        say(f"ok       {folder}")
        return []
    root.mkdir(parents=True, exist_ok=True)
    free_gb = shutil.disk_usage(root).free / 1e9
    say(f"HW4 data: {len(urls)} parts, about {DOWNLOAD_GB} GB to download and {DOWNLOAD_GB} GB on disk "
        f"({free_gb:.0f} GB free in {root}); this takes a while.")
    if free_gb < 7.5:
        raise FetchError(f"{root}: only {free_gb:.1f} GB free, the HW4 Dataset/ needs about 7 GB")
    with tempfile.TemporaryDirectory(dir=root, prefix=".fetch-hw4-") as tmp:
        try:
            stream = io.BufferedReader(_ChainedResponses(urls, timeout, say), buffer_size=1 << 20)
            with tarfile.open(fileobj=stream, mode="r|gz") as archive:
                for member in archive:
                    if not (member.isfile() or member.isdir()) or member.name.startswith(("/", "..")) \
                            or ".." in Path(member.name).parts:
                        continue  # nothing but plain files inside Dataset/
                    archive.extract(member, tmp, set_attrs=False)
        except (urllib.error.URLError, OSError, tarfile.TarError) as err:
            return [f"{urls[0]} (+{len(urls) - 1} parts): {getattr(err, 'reason', err)}"]
        got = next((p.parent for p in Path(tmp).rglob("metadata.json")), None)
        if got is None:
            raise FetchError(f"the archive from {urls[0]} holds no metadata.json")
        for f in fmt.files:
            if not (got / f.name).is_file() or sha256sum(got / f.name) not in f.sha256:
                raise FetchError(f"{got / f.name}: missing or sha256 differs from the real file's")
        manifest_path = find_manifest()
        if manifest_path is not None:
            problems = verify_manifest(got, read_manifest(manifest_path))
            if problems:
                raise FetchError(f"{len(problems)} files differ from {manifest_path}: "
                                 + "; ".join(problems[:5]))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(got, folder)
    say(f"fetched  {folder}")
    return []
