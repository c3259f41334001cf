"""Where data and outputs live. Never relative to the current working directory."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV = "ML2022_DATA_DIR"  # where downloads and synthetic data are written
SEARCH_ENV = "ML2022_DATA_PATH"  # extra read-only folders holding real files (os.pathsep-separated)


def data_root() -> Path:
    """Root for downloaded and synthetic data: ``$ML2022_DATA_DIR`` or ``<repo>/data``."""
    return Path(os.environ.get(DATA_ENV) or REPO_ROOT / "data").expanduser().resolve()


def data_search_path() -> list[Path]:
    """Folders searched for real data: the data root, then each folder of ``$ML2022_DATA_PATH``."""
    extra = [Path(p).expanduser() for p in os.environ.get(SEARCH_ENV, "").split(os.pathsep) if p]
    return [data_root(), *extra]


def repo_path(path: str | os.PathLike) -> Path:
    """An absolute path; a relative one is taken relative to the repository root (the same
    for a notebook's ``out_dir`` and ``data_source`` wherever the kernel was started)."""
    path = Path(path).expanduser()
    return (path if path.is_absolute() else REPO_ROOT / path).resolve()
