"""Shared fixtures. The maintainers' checkout has real course files in ../shared/data (a
student's clone does not): the tests put that folder on the data search path
(``$ML2022_DATA_PATH``) and tests that need it ask for ``shared_data``, skipped with a reason
when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from common.paths import REPO_ROOT, SEARCH_ENV

SHARED_DATA = Path(os.environ.get("ML2022_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real course data not present ({SHARED_DATA} exists only in the maintainers' checkout)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_data_root(tmp_path_factory, monkeypatch):
    """Synthetic data and downloads go to a per-session temporary data root, never ./data;
    real files are found on the search path."""
    root = tmp_path_factory.getbasetemp() / "data-root"
    monkeypatch.setenv("ML2022_DATA_DIR", str(root))
    if SHARED_DATA.is_dir():
        monkeypatch.setenv(SEARCH_ENV, str(SHARED_DATA))
    else:
        monkeypatch.delenv(SEARCH_ENV, raising=False)
    return root


def pytest_configure(config):
    # One intra-op thread for the whole suite: the models are small, and two spinning OpenMP
    # threads on a busy 2-core machine ran 10-100x slower (MKL eigh, small MLPs, LSTMs).
    import torch

    torch.set_num_threads(1)
