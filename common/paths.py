"""Where data and outputs live. Never relative to the current working directory."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV = "ML2022_DATA_DIR"
SHARED_ENV = "ML2022_SHARED_DIR"


def data_root() -> Path:
    """Root for downloaded and synthetic data: ``$ML2022_DATA_DIR`` or ``<repo>/data``."""
    return Path(os.environ.get(DATA_ENV) or REPO_ROOT / "data").expanduser().resolve()


def shared_data_dir() -> Path | None:
    """The read-only ``../shared/data`` copy of real course files, if this checkout has one.

    ``$ML2022_SHARED_DIR`` overrides the location. Returns None when absent (a student's clone).
    """
    path = Path(os.environ.get(SHARED_ENV) or REPO_ROOT.parent / "shared" / "data")
    return path if path.is_dir() else None
