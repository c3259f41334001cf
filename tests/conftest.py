"""Shared fixtures. The maintainers' checkout has real course files in ../shared/data (a
student's clone does not): the tests put that folder on the data search path
(``$ML2022_DATA_PATH``) and tests that need it ask for ``shared_data``, skipped with a reason
when it is absent."""

from __future__ import annotations

import os
import re
import textwrap
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


@pytest.fixture
def kernel_startup(tmp_path, monkeypatch):
    """``add(name, code) -> path``: code that every Jupyter kernel this test starts runs first
    (an IPython startup file in a private ``$IPYTHONDIR``; unlink the path to drop it). Used
    to fake Colab (``google.colab`` imported) and to inject faults."""
    folder = tmp_path / "ipython" / "profile_default" / "startup"
    folder.mkdir(parents=True)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))

    def add(name: str, code: str) -> Path:
        path = folder / f"{name}.py"
        path.write_text(textwrap.dedent(code))
        return path

    return add


@pytest.fixture
def check_readme_outputs():
    """``check(label, out_dir)``: the files a run published in ``out_dir`` are exactly the ones
    the README lists for ``label`` ("- **HW2** (...): `prediction.csv` ..." under "What a run
    writes"; ``<k>`` stands for a number). Executed notebooks are ignored."""
    section = (REPO_ROOT / "README.md").read_text().split("## What a run writes", 1)[1]

    def check(label: str, out_dir: Path) -> None:
        m = re.search(rf"^- \*\*{re.escape(label)}\*\* \(`[^`]+`\):(.*?)(?=^- \*\*|^\s*$)",
                      section, re.M | re.S)
        assert m, f"README: no '- **{label}**' entry under 'What a run writes'"
        names = re.findall(r"`([\w<>.-]+\.(?:csv|json|png|pt|ckpt))`", m.group(1))
        patterns = [re.compile(re.escape(n).replace("<k>", r"\d+") + "$") for n in names]
        files = sorted(p.name for p in out_dir.iterdir() if p.is_file() and p.suffix != ".ipynb")
        unlisted = [f for f in files if not any(p.match(f) for p in patterns)]
        missing = [n for n, p in zip(names, patterns) if not any(p.match(f) for f in files)]
        assert not unlisted, f"{label}: written but not in the README: {unlisted}"
        assert not missing, f"{label}: in the README but not written: {missing}"

    return check


def pytest_configure(config):
    # One intra-op thread for the whole suite: the models are small, and two spinning OpenMP
    # threads on a busy 2-core machine ran 10-100x slower (MKL eigh, small MLPs, LSTMs).
    import torch

    torch.set_num_threads(1)
