"""Getting the data: real files from the course's public mirrors (or Kaggle), or synthetic
files in the exact same on-disk format.

Command line::

    python -m common.data fetch hw1          # download + sha256-verify the real files
    python -m common.data synthetic hw1      # write the synthetic stand-in
    python -m common.data where hw1          # which folder a notebook would read

Each homework registers a :class:`DatasetSpec` in ``DATASETS``. Offline, ``fetch`` fails
within seconds with a message that says where to put the files by hand, or how to run on
synthetic data instead.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from common.paths import DATA_ENV, data_root, shared_data_dir


class FetchError(RuntimeError):
    """The real data could not be obtained; the message says what to do instead."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set: where it goes, what it must hash to, where to get it."""

    name: str  # path relative to the data set's folder
    sha256: tuple[str, ...]  # every accepted digest (e.g. CRLF original and LF copy)
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetSpec:
    key: str
    folder: str  # folder under the data root, and under ../shared/data
    files: tuple[RemoteFile, ...]
    kaggle: str | None = None  # competition slug for `kaggle competitions download`
    synthetic: str = ""  # "module:function" writing synthetic data: f(out_dir, seed, smoke)
    description: str = ""
    extra_help: str = field(default="", compare=False)
    # "module:function" fetching an archive of many files instead of file by file:
    # f(spec, folder, timeout, say) -> failed attempts ([] on success); FetchError for bad files
    fetcher: str = ""


def _gdrive(file_id: str) -> str:
    return f"https://drive.google.com/uc?export=download&id={file_id}"


DATASETS: dict[str, DatasetSpec] = {
    "hw1": DatasetSpec(
        key="hw1",
        folder="hw1_covid_2022",
        description="ML2022Spring HW1 COVID-19 (Kaggle ml2022spring-hw1)",
        kaggle="ml2022spring-hw1",
        synthetic="common.covid:write_synthetic",
        files=(
            RemoteFile(
                "covid.train.csv",
                ("e812bde2705d52f97babd166cfe09dbed7e157fd1f92d3ea529daa69a542e5a1",
                 "298378b3db6a233e6cba686533c55844072b7c84e5e2eecf830a9e86a8dce475"),
                (_gdrive("1kLSW_-cW2Huj7bh84YTdimGBOJaODiOS"),
                 "https://www.dropbox.com/s/lmy1riadzoy0ahw/covid.train.csv?dl=1"),
            ),
            RemoteFile(
                "covid.test.csv",
                ("79b53506b5a7145ec58cef47b51985601eae9ce6eee1f6a34f2e380b5d9f7e0a",
                 "d7bc0afb67a741638d745efa53dd4f967ca65f1e774957e701ff7822af6a37c3"),
                (_gdrive("1iiI5qROrAhZn-o4FPqsE97bMzDEFvIdg"),
                 "https://www.dropbox.com/s/zalbw42lu4nmhr2/covid.test.csv?dl=1"),
            ),
        ),
    ),
    "hw2_2": DatasetSpec(
        key="hw2_2",
        folder="hw2_hessian",
        description="ML2021Spring HW2-2 Hessian checkpoints (data.pth)",
        synthetic="common.sinc_checkpoints:write_synthetic",
        files=(
            RemoteFile(
                "data.pth",
                ("47fea2972f729c7e95088c5e5ca57c248e5196d7670d30be7a4daed8d408a9b9",),
                (_gdrive("1ym6G7KKNkbsqSnMmnxdQKHO1JBoF0LPR"),),
            ),
        ),
    ),
    "hw4": DatasetSpec(
        key="hw4",
        folder="Dataset",
        description="ML2022Spring HW4 speaker classification (Kaggle ml2022spring-hw4), about 6.9 GB",
        synthetic="common.voxceleb:write_synthetic",
        fetcher="common.voxceleb:fetch_real",
        # sha256 from ../shared/data/hw4_speaker/ml2022_Dataset_lfs_manifest.tsv
        files=(
            RemoteFile("metadata.json",
                       ("bf4e0aa43e69d735e560d1e471160bbc91f821cee41823df0907412b61c8cf9c",)),
            RemoteFile("testdata.json",
                       ("b41c02c44703e70ec5241b63db8ce14b7e88f4d3ec3aeda538233c74322e3378",)),
            RemoteFile("mapping.json",
                       ("2f0d158521f5fbc98e03139494b504a8358acdb7d3792ca78fb20f75026c4308",)),
        ),
        extra_help=("download the four Dataset.tar.gz.part* files (6.9 GB) of the GitHub release "
                    "MachineLearningHW/ML_HW4_Dataset, `cat Dataset.tar.gz.part* | tar xz`, and "
                    "put the Dataset/ folder there (or `kaggle competitions download -c "
                    "ml2022spring-hw4` and unzip it there);"),
    ),
    "hw2": DatasetSpec(
        key="hw2",
        folder="libriphone",
        description="ML2022Spring HW2 phoneme classification (Kaggle ml2022spring-hw2)",
        kaggle="ml2022spring-hw2",
        synthetic="common.libriphone:write_synthetic",
        fetcher="common.libriphone:fetch_libriphone",
        extra_help="the official notebook downloads libriphone.zip (GitHub release "
                   "xraychen/shiny-robot v1.0, Drive, Dropbox); unzip it so that "
                   "libriphone/feat/train/*.pt exists",
        files=(
            RemoteFile("train_split.txt",
                       ("145aaa826c54f80cff1c1ee788258ec202d454529aa22b7ace07e982921fd7aa",)),
            RemoteFile("test_split.txt",
                       ("82f5d89e494cb7512d03f7e9f8ad63cf6ad9b1c77c9dee44b6ed3956b6469c00",)),
            # No published digest: the fetcher checks the layout (labels vs frames) instead.
            RemoteFile("train_labels.txt", ()),
        ),
    ),
}


def sha256sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _complete(folder: Path, spec: DatasetSpec) -> bool:
    return all((folder / f.name).is_file() for f in spec.files)


def real_data_dir(key: str) -> Path | None:
    """The folder holding the real files of ``key``, or None.

    Looks in ``<data root>/<folder>`` first, then in a read-only ``../shared/data/<folder>``.
    """
    spec = DATASETS[key]
    candidates = [data_root() / spec.folder]
    shared = shared_data_dir()
    if shared is not None:
        candidates.append(shared / spec.folder)
    return next((c for c in candidates if _complete(c, spec)), None)


def generator_version(key: str) -> str:
    """The first 8 hex digits of the sha256 of ``key``'s synthetic generator module. Folders of
    synthetic data carry it in their name, so a changed generator never reuses data written by
    an older one."""
    module = importlib.import_module(DATASETS[key].synthetic.split(":")[0])
    return hashlib.sha256(Path(module.__file__).read_bytes()).hexdigest()[:8]


def synthetic_data_dir(key: str, seed: int = 0, smoke: bool = False) -> Path:
    """Write (once) and return the synthetic stand-in for ``key``."""
    spec = DATASETS[key]
    module, func = spec.synthetic.split(":")
    generator = importlib.import_module(module)
    version = generator_version(key)
    out = data_root() / "synthetic" / f"{spec.folder}-seed{seed}{'-smoke' if smoke else ''}-{version}"
    if not (out / ".complete").exists():
        writer: Callable[..., None] = getattr(generator, func)
        tmp = Path(tempfile.mkdtemp(dir=_mkdir(out.parent), prefix=out.name + "."))
        try:
            writer(tmp, seed=seed, smoke=smoke)
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


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_data_dir(key: str, source: str = "auto", seed: int = 0, smoke: bool = False) -> tuple[Path, bool]:
    """Where a notebook reads its data from. Returns ``(folder, is_synthetic)``.

    ``source``: ``"auto"`` (real data when present, else synthetic), ``"real"`` (error if
    absent), ``"synthetic"``, or a folder holding files in the real layout (for example
    another year's files; the notebook names them).
    """
    if source not in ("auto", "real", "synthetic"):
        folder = Path(source).expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: data folder not found")
        return folder, False
    if source != "synthetic" and not smoke:
        real = real_data_dir(key)
        if real is not None:
            return real, False
        if source == "real":
            raise FileNotFoundError(manual_help(DATASETS[key]))
    return synthetic_data_dir(key, seed=seed, smoke=smoke), True


def manual_help(spec: DatasetSpec, target: Path | None = None) -> str:
    target = target or data_root() / spec.folder
    lines = [f"The real data for {spec.key} ({spec.description}) is not available.",
             "Do one of:",
             f"  * put {', '.join(f.name for f in spec.files)} into {target}",
             f"    (or point ${DATA_ENV} at a folder that has {spec.folder}/ inside);"]
    if spec.kaggle:
        lines.append(f"  * with Kaggle credentials (~/.kaggle/kaggle.json), run "
                     f"`python -m common.data fetch {spec.key}` again, or "
                     f"`kaggle competitions download -c {spec.kaggle}`;")
    if spec.extra_help:
        lines.append(f"  * {spec.extra_help}")
    lines.append(f"  * or run on synthetic data in the same format: `python -m common.data "
                 f"synthetic {spec.key}` (notebooks do this by themselves with data_source='auto').")
    return "\n".join(lines)


def _download(url: str, dest: Path, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "ml2022-homework-fetch"})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(dest, "wb") as f:
        shutil.copyfileobj(response, f)


def _kaggle_configured() -> bool:
    has_key = (Path.home() / ".kaggle" / "kaggle.json").is_file() or (
        os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"))
    return bool(has_key) and shutil.which("kaggle") is not None


def _fetch_kaggle(spec: DatasetSpec, workdir: Path, timeout: float) -> list[str]:
    """Download the competition zip with the Kaggle CLI and extract it into ``workdir``."""
    try:
        subprocess.run(["kaggle", "competitions", "download", "-c", spec.kaggle, "-p", str(workdir)],
                       check=True, timeout=max(timeout, 600), capture_output=True, text=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as err:
        detail = getattr(err, "stderr", "") or err
        return [f"kaggle competitions download -c {spec.kaggle}: {str(detail).strip()[:300]}"]
    for archive in workdir.glob("*.zip"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(workdir)
    return []


def _from_mirrors(f: RemoteFile, work: Path, folder: Path, timeout: float,
                  failures: list[str], say: Callable[..., None]) -> bool:
    """Try each mirror of ``f`` in turn; True once a download with a known digest is in place."""
    tmp = work / Path(f.name).name
    for url in f.urls:
        try:
            _download(url, tmp, timeout)
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            failures.append(f"{url}: {reason}")
            if isinstance(reason, OSError):  # no network: the other mirrors fail alike
                return False
            continue
        digest = sha256sum(tmp)
        if digest in f.sha256:
            os.replace(tmp, folder / f.name)
            say(f"fetched  {folder / f.name}  ({url})")
            return True
        failures.append(f"{url}: sha256 {digest} is not the real file's (a quota or login page?)")
    return False


def fetch(key: str, root: str | os.PathLike | None = None, timeout: float = 15.0,
          verbose: bool = True) -> Path:
    """Download the real files of ``key`` into ``<root>/<folder>`` and verify their sha256.

    Files already present with a valid digest are skipped; a present file with a wrong
    digest is an error (it is not overwritten). Raises :class:`FetchError` when a file
    cannot be obtained from any mirror, naming every attempt and what to do by hand.
    """
    spec = DATASETS[key]
    folder = _mkdir(Path(root or data_root())) / spec.folder
    say = print if verbose else (lambda *a, **k: None)
    if spec.fetcher:  # an archive of many files: the data set's own module fetches it
        module, func = spec.fetcher.split(":")
        failures = getattr(importlib.import_module(module), func)(spec, folder, timeout, say)
        if failures:
            raise FetchError(f"Could not download {spec.key}:\n  - " + "\n  - ".join(failures)
                             + "\n\n" + manual_help(spec, folder))
        return folder
    folder.mkdir(exist_ok=True)
    todo = []
    for f in spec.files:
        path = folder / f.name
        if path.is_file():
            digest = sha256sum(path)
            if digest not in f.sha256:
                raise FetchError(f"{path}: sha256 {digest} is not a known digest of the real "
                                 f"{f.name}; delete or move it and fetch again")
            say(f"ok       {path}")
        else:
            todo.append(f)
    if not todo:
        return folder

    failures: list[str] = []
    with tempfile.TemporaryDirectory(dir=folder, prefix=".fetch-") as tmpdir:
        work = Path(tmpdir)
        pending = [f for f in todo if not _from_mirrors(f, work, folder, timeout, failures, say)]
        if pending and spec.kaggle and _kaggle_configured():
            failures += _fetch_kaggle(spec, work, timeout)
            for f in list(pending):
                hits = [p for p in work.rglob(Path(f.name).name) if sha256sum(p) in f.sha256]
                if hits:
                    os.replace(hits[0], folder / f.name)
                    say(f"fetched  {folder / f.name}  (kaggle {spec.kaggle})")
                    pending.remove(f)
        elif pending and spec.kaggle:
            failures.append("Kaggle CLI: not configured (pip install kaggle; ~/.kaggle/kaggle.json)")
    if pending:
        raise FetchError("Could not download " + ", ".join(f.name for f in pending) + ":\n  - "
                         + "\n  - ".join(failures) + "\n\n" + manual_help(spec, folder))
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.data", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["fetch", "synthetic", "where"])
    parser.add_argument("key", choices=sorted(DATASETS))
    parser.add_argument("--seed", type=int, default=0, help="synthetic data seed")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per download attempt")
    args = parser.parse_args(argv)
    try:
        if args.action == "fetch":
            print(fetch(args.key, timeout=args.timeout))
        elif args.action == "synthetic":
            print(synthetic_data_dir(args.key, seed=args.seed))
        else:
            folder, synthetic = resolve_data_dir(args.key, seed=args.seed)
            print(f"{folder}{'  (synthetic)' if synthetic else ''}")
    except (FetchError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    # Run the imported module's main: as __main__ this file would define a second FetchError
    # class, which the fetchers (importing common.data) raise and this main would not catch.
    from common.data import main as _main

    sys.exit(_main())
