"""Getting the real libriphone data (``python -m common.data fetch hw2``): the official
notebook's libriphone.zip mirrors, then the Kaggle CLI; the extracted layout is verified."""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from common.datasets.libriphone.load import LibriphoneFormatError, verify_layout
from common.fetch import from_mirrors, kaggle_download, sha256sum

# The official 2022 sample notebook's main link and backups for libriphone.zip (~480 MB).
# No sha256 of the zip is published, so the extracted layout is verified instead.
LIBRIPHONE_URLS = (
    "https://github.com/xraychen/shiny-robot/releases/download/v1.0/libriphone.zip",
    "https://drive.google.com/uc?export=download&id=1o6Ag-G3qItSmYhTheX6DYiuyNzWyHyTc",
    "https://drive.google.com/uc?export=download&id=1R1uQYi4QpX0tBfUWt2mbZcncdBsJkxeW",
    "https://www.dropbox.com/s/wqww8c5dbrl2ka9/libriphone.zip?dl=1",
    "https://www.dropbox.com/s/p2ljbtb2bam13in/libriphone.zip?dl=1",
)

def _install(found: Path, folder: Path) -> None:
    """Move a verified extracted libriphone folder's content into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train_split.txt", "test_split.txt", "train_labels.txt", "feat"):
        target = folder / name
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(found / name, target)


def fetch_libriphone(fmt, folder: Path, timeout: float = 15.0,
                     say: Callable[..., None] = print) -> list[str]:
    """Download ``libriphone.zip`` (official mirrors, then the Kaggle CLI), extract it, verify
    the layout and the split lists' sha256, and install it into ``folder``. Returns the failed
    attempts (``[]``: success), which ``common.data.fetch`` turns into a FetchError."""
    try:
        counts = verify_layout(folder, check_frames=False)
        say(f"ok       {folder}  ({counts})")
        return []
    except (FileNotFoundError, LibriphoneFormatError):
        pass
    failures: list[str] = []
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".fetch-libriphone-") as tmp:
        work = Path(tmp)
        found: list[Path] = []

        def extracted_layout() -> str | None:
            """None once a verified libriphone folder under ``work`` is in ``found``, else what
            is wrong."""
            problems = []
            for split_file in sorted(work.rglob("train_split.txt")):
                try:
                    verify_layout(split_file.parent)
                    wrong = [f.name for f in fmt.files
                             if f.sha256 and sha256sum(split_file.parent / f.name) not in f.sha256]
                    if wrong:
                        raise LibriphoneFormatError(f"{', '.join(wrong)}: not the official file(s)")
                    found.append(split_file.parent)
                    return None
                except (FileNotFoundError, LibriphoneFormatError) as err:
                    problems.append(f"extracted layout is wrong: {err}")
            return "; ".join(problems) or "no libriphone/train_split.txt in the archive"

        def unzip_and_check(archive: Path) -> str | None:
            shutil.rmtree(work / "x", ignore_errors=True)
            try:
                with zipfile.ZipFile(archive) as z:
                    z.extractall(work / "x")
            except zipfile.BadZipFile:
                return "not a zip file (a quota or login page?)"
            finally:
                archive.unlink(missing_ok=True)
            return extracted_layout()

        origin = from_mirrors(LIBRIPHONE_URLS, work / "libriphone.zip", timeout, failures, unzip_and_check)
        if origin is None:
            kaggle_failures = kaggle_download(fmt.kaggle, work, timeout)
            failures += kaggle_failures
            problem = "download failed" if kaggle_failures else extracted_layout()
            if problem is not None:
                if not kaggle_failures:
                    failures.append(f"kaggle {fmt.kaggle}: {problem}")
                return failures
            origin = f"kaggle {fmt.kaggle}"
        _install(found[-1], folder)
        say(f"fetched  {folder}  ({origin}; verified layout)")
    return []
