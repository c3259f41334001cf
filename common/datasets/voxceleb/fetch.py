"""Getting the real HW4 ``Dataset/`` (about 6.9 GB): the four release parts streamed through
``tar`` without writing the archive, then checked against the known sha256."""

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

from common.fetch import FetchError, open_url, sha256sum

PART_URLS = tuple(
    "https://github.com/MachineLearningHW/ML_HW4_Dataset/releases/latest/download/"
    f"Dataset.tar.gz.part{suffix}" for suffix in ("aa", "ab", "ac", "ad"))
DOWNLOAD_GB = 6.9  # the four parts together; the extracted Dataset/ is 6.85 GB


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
    three JSON files against the format's sha256. The fetcher of ``python -m common.data fetch
    hw4``: returns the failed download attempts ([] on success), raises FetchError for wrong files
    (``common.data.fetch`` has checked the digests of those already there)."""
    root = folder.parent
    if all((folder / f.name).is_file() for f in fmt.files):
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
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(got, folder)
    say(f"fetched  {folder}")
    return []
