"""HW2-2 notebook smoke runs: on synthetic checkpoints (always) and on the real data.pth (when
present). Both check metrics.json, the verdict table and the plots."""

from __future__ import annotations

import csv
import json

import nbformat
import pytest

from common.paths import REPO_ROOT

NOTEBOOK = REPO_ROOT / "hw2_hessian" / "hw2_hessian.ipynb"
VERDICTS = {"local minima like", "saddle point", "none of the above"}


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert any("parameters" in c.metadata.get("tags", []) for c in code)
    assert "colab" not in nb.metadata and "widgets" not in nb.metadata


def _run(tmp_path, data_source):
    pm = pytest.importorskip("papermill")
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "executed.ipynb"), kernel_name="python3",
                        parameters=dict(smoke=True, out_dir=str(tmp_path), data_source=data_source),
                        cwd=str(REPO_ROOT), progress_bar=False)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    with open(tmp_path / "verdicts.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10 and {r["course verdict"] for r in rows} <= VERDICTS
    assert {r["Hessian verdict"] for r in rows} <= VERDICTS
    for png in ("hessian_spectrum.png", "loss_along_eigenvectors.png", "lanczos_big.png", "wide_mlp.ckpt"):
        assert (tmp_path / png).stat().st_size > 1000
    assert metrics["metric"] == "gradient_norm" and metrics["value"] > 0
    assert metrics["course_verdict"] in VERDICTS and metrics["hessian_verdict"] in VERDICTS
    return metrics, rows


@pytest.mark.notebook
def test_notebook_smoke_synthetic(tmp_path, check_readme_outputs):
    metrics, _ = _run(tmp_path, "synthetic")
    assert metrics["data"] == "synthetic"
    assert metrics["lanczos_1m"]["n_params"] > 0
    check_readme_outputs("HW2-2", tmp_path)  # boss: every file


@pytest.mark.notebook
def test_notebook_smoke_real_file(tmp_path, shared_data):
    folder = shared_data / "hw2_hessian"
    if not (folder / "data.pth").is_file():
        pytest.skip(f"{folder}/data.pth not present")
    metrics, rows = _run(tmp_path, str(folder))  # a folder: real data even in smoke mode
    assert metrics["data"] == "real" and metrics["entry"] == 0
    assert metrics["value"] == pytest.approx(float(rows[0]["grad norm (course)"]), rel=1e-12)
    assert metrics["n_negative"] == 50 and metrics["hessian_verdict"] == "saddle point"
