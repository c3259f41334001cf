"""Shared fixtures. Real course files live in ../shared/data (not in a student's clone):
tests that need them ask for ``shared_data`` and are skipped with a reason when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.paths import shared_data_dir


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("real course data not present (../shared/data is only in the maintainers' checkout)")
    return path


@pytest.fixture(autouse=True)
def _isolated_data_root(tmp_path_factory, monkeypatch):
    """Synthetic data and downloads go to a per-session temporary data root, never ./data."""
    root = tmp_path_factory.getbasetemp() / "data-root"
    monkeypatch.setenv("ML2022_DATA_DIR", str(root))
    return root


def pytest_configure(config):
    # One intra-op thread for the whole suite: the models are small, and two spinning OpenMP
    # threads on a busy 2-core machine ran 10-100x slower (MKL eigh, small MLPs, LSTMs).
    import torch

    torch.set_num_threads(1)
