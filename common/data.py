"""Getting the data: real files from the course's public mirrors (or Kaggle), or synthetic
files in the exact same on-disk format.

Command line::

    python -m common.data fetch hw1          # download + sha256-verify the real files
    python -m common.data synthetic hw1      # write the synthetic stand-in
    python -m common.data where hw1          # which folder a notebook would read, and its label

Real files are looked for in ``<data root>/<folder>`` (``$ML2022_DATA_DIR``, default
``<repo>/data``) and in every folder of ``$ML2022_DATA_PATH``. Offline, ``fetch`` fails within
seconds with a message that says where to put the files by hand, or how to run on synthetic
data instead.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common.datasets import SYNTHETIC_MARKER, DataFormat, covid, libriphone, sinc, voxceleb
from common.fetch import FetchError, Say, digest_check, from_mirrors, kaggle_download, sha256sum
from common.paths import DATA_ENV, SEARCH_ENV, data_root, data_search_path, repo_path

FORMATS: dict[str, DataFormat] = {f.key: f for f in (covid.FORMAT, libriphone.FORMAT,
                                                     sinc.FORMAT, voxceleb.FORMAT)}


@dataclass(frozen=True)
class DataSource:
    """The folder a notebook reads, and what it is.

    ``label``: ``"real"`` (the course's files, sha256/layout checked), ``"synthetic"`` (made by
    this repository's generator), or ``"unverified"`` (a folder in the right layout whose files
    are not known to be the course's). ``note`` says why synthetic data was used, if it was.
    """

    folder: Path
    label: str
    note: str = ""

    @property
    def synthetic(self) -> bool:
        return self.label == "synthetic"

    def banner(self) -> str:
        kind = {"real": "real data", "synthetic": "SYNTHETIC data (not the course's)",
                "unverified": "UNVERIFIED data (not known to be the course's files)"}[self.label]
        return f"{kind} from {self.folder}" + (f"\n  ({self.note})" if self.note else "")


def label_of(key: str, folder: Path) -> str:
    """``"synthetic"`` if this repository wrote ``folder``, ``"real"`` if its files are the
    course's (sha256 or the format's own check), else ``"unverified"``."""
    fmt = FORMATS[key]
    if (folder / SYNTHETIC_MARKER).is_file():
        return "synthetic"
    if fmt.verify_real is not None:
        return "real" if fmt.verify_real(folder) is None else "unverified"
    for f in fmt.files:
        path = folder / f.name
        if not path.is_file() or (f.sha256 and sha256sum(path) not in f.sha256):
            return "unverified"
    return "real"


def _complete(folder: Path, fmt: DataFormat) -> bool:
    return all((folder / f.name).is_file() for f in fmt.files)


def real_data_dir(key: str) -> Path | None:
    """The first folder on the data search path holding ``key``'s files, or None."""
    fmt = FORMATS[key]
    return next((d / fmt.folder for d in data_search_path() if _complete(d / fmt.folder, fmt)), None)


def generator_version(key: str) -> str:
    """The first 8 hex digits of the sha256 of ``key``'s synthetic generator source. Folders of
    synthetic data carry it in their name, so a changed generator never reuses old data."""
    module = sys.modules[FORMATS[key].write_synthetic.__module__]
    return hashlib.sha256(Path(module.__file__).read_bytes()).hexdigest()[:8]


def synthetic_data_dir(key: str, seed: int = 0, smoke: bool = False) -> Path:
    """Write (once) and return the synthetic stand-in for ``key``."""
    fmt, writer = FORMATS[key], FORMATS[key].write_synthetic
    out = data_root() / "synthetic" / f"{fmt.folder}-seed{seed}{'-smoke' if smoke else ''}-{generator_version(key)}"
    if not (out / ".complete").exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=out.name + "."))
        try:
            writer(tmp, seed=seed, smoke=smoke)
            (tmp / SYNTHETIC_MARKER).write_text(
                f"Synthetic stand-in for {fmt.description}, written by {writer.__module__} "
                f"(seed {seed}{', smoke size' if smoke else ''}). Not the course's data.\n")
            (tmp / ".complete").touch()
            if (out / ".complete").exists():  # another process finished first: keep its copy
                shutil.rmtree(tmp)
            else:
                if out.exists():
                    shutil.rmtree(out)
                tmp.rename(out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return out


def resolve_data_dir(key: str, source: str = "auto", seed: int = 0, smoke: bool = False,
                     fetch_if_missing: bool | None = None) -> DataSource:
    """Where a notebook reads its data from.

    ``source``: ``"auto"`` (real data when present, else synthetic), ``"real"`` (error if
    absent), ``"synthetic"``, or a folder in the real layout (relative paths are taken from
    the repository root); its layout is checked here, so a wrong folder fails at once.
    ``fetch_if_missing`` (default: only in Colab) downloads the real data under ``"auto"``
    before falling back to synthetic data; the returned ``note`` says why it fell back.
    """
    fmt = FORMATS[key]
    if source not in ("auto", "real", "synthetic"):
        folder = repo_path(source)
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: data folder not found")
        if fmt.check is not None:
            fmt.check(folder)
        return DataSource(folder, label_of(key, folder))
    note = "smoke run" if smoke else ""
    if source != "synthetic" and not smoke:
        real = real_data_dir(key)
        in_colab = "google.colab" in sys.modules
        if real is None and (in_colab if fetch_if_missing is None else fetch_if_missing):
            try:
                real = fetch(key)
            except FetchError as err:
                if source == "real":
                    raise
                note = "could not fetch the real data: " + str(err).splitlines()[0]
                print(f"[data] {note}; using synthetic data instead", file=sys.stderr)
        if real is not None:
            return DataSource(real, label_of(key, real))
        if source == "real":
            raise FileNotFoundError(manual_help(fmt))
        note = note or f"no real data in {', '.join(str(d) for d in data_search_path())}"
    return DataSource(synthetic_data_dir(key, seed=seed, smoke=smoke), "synthetic", note)


def manual_help(fmt: DataFormat, target: Path | None = None) -> str:
    target = target or data_root() / fmt.folder
    lines = [f"The real data for {fmt.key} ({fmt.description}) is not available.",
             "Do one of:",
             f"  * put {', '.join(f.name for f in fmt.files)} into {target}",
             f"    (or point ${DATA_ENV} or ${SEARCH_ENV} at a folder that has {fmt.folder}/ inside);"]
    if fmt.kaggle:
        lines.append(f"  * with Kaggle credentials (~/.kaggle/kaggle.json), run "
                     f"`python -m common.data fetch {fmt.key}` again, or "
                     f"`kaggle competitions download -c {fmt.kaggle}`;")
    if fmt.manual_steps:
        lines.append(f"  * {fmt.manual_steps}")
    lines.append(f"  * or run on synthetic data in the same format: `python -m common.data "
                 f"synthetic {fmt.key}` (notebooks do this by themselves with data_source='auto').")
    return "\n".join(lines)


def _fetch_files(fmt: DataFormat, folder: Path, timeout: float, say: Say) -> list[str]:
    """Each missing one of ``fmt.files`` from its mirrors, then what is still missing from Kaggle."""
    folder.mkdir(parents=True, exist_ok=True)
    todo = [f for f in fmt.files if not (folder / f.name).is_file()]
    failures: list[str] = []
    with tempfile.TemporaryDirectory(dir=folder, prefix=".fetch-") as tmpdir:
        work = Path(tmpdir)
        for f in list(todo):
            url = from_mirrors(f.urls, work / Path(f.name).name, timeout, failures, digest_check(f))
            if url is not None:
                os.replace(work / Path(f.name).name, folder / f.name)
                say(f"fetched  {folder / f.name}  ({url})")
                todo.remove(f)
        if todo and fmt.kaggle:
            failures += kaggle_download(fmt.kaggle, work, timeout)
            for f in list(todo):
                hits = [p for p in work.rglob(Path(f.name).name) if digest_check(f)(p) is None]
                if hits:
                    os.replace(hits[0], folder / f.name)
                    say(f"fetched  {folder / f.name}  (kaggle {fmt.kaggle})")
                    todo.remove(f)
    return failures if todo else []


def fetch(key: str, root: str | os.PathLike | None = None, timeout: float = 15.0,
          verbose: bool = True) -> Path:
    """Download the real files of ``key`` into ``<root>/<folder>`` and verify them.

    Files already present with a valid digest are kept; a present file with a wrong digest is
    an error (it is never overwritten). Raises :class:`FetchError` when the data cannot be
    obtained, naming every failed attempt and what to do by hand.
    """
    fmt = FORMATS[key]
    folder = Path(root or data_root()) / fmt.folder
    say: Say = print if verbose else (lambda *a, **k: None)
    for f in fmt.files:
        path = folder / f.name
        if path.is_file():
            problem = digest_check(f)(path)
            if problem:
                raise FetchError(f"{path}: {problem}; delete or move it and fetch again")
            say(f"ok       {path}")
    failures = (fmt.fetch or _fetch_files)(fmt, folder, timeout, say)
    if failures:
        raise FetchError(f"Could not download {fmt.key}:\n  - " + "\n  - ".join(failures)
                         + "\n\n" + manual_help(fmt, folder))
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.data", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["fetch", "synthetic", "where"])
    parser.add_argument("key", choices=sorted(FORMATS))
    parser.add_argument("--seed", type=int, default=0, help="synthetic data seed")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per download attempt")
    args = parser.parse_args(argv)
    try:
        if args.action == "fetch":
            print(fetch(args.key, timeout=args.timeout))
        elif args.action == "synthetic":
            print(synthetic_data_dir(args.key, seed=args.seed))
        else:
            print(resolve_data_dir(args.key, seed=args.seed, fetch_if_missing=False).banner())
    except (FetchError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
