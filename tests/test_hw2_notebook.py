"""Smoke run of the HW2 notebook on synthetic data (papermill), then its artefacts."""

from __future__ import annotations

import json

import nbformat
import pytest

from common.datasets.libriphone import load_libriphone
from common.paths import REPO_ROOT
from common.submission import validate_submission
from hw2_phoneme.models import PRESETS

NOTEBOOK = REPO_ROOT / "hw2_phoneme" / "hw2_phoneme.ipynb"


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None
    assert "widgets" not in nb.metadata and "colab" not in nb.metadata
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and 'preset = "boss"' in tagged[0].source


@pytest.mark.notebook
@pytest.mark.parametrize("preset", ["simple", "boss"])
def test_notebook_smoke(tmp_path, monkeypatch, preset, check_readme_outputs):
    import papermill as pm

    from common.data import synthetic_data_dir

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the kernel inherits it: no thread thrashing
    # simple: Viterbi decoding switched on from papermill (boss: whatever its preset says)
    extra = dict(viterbi=True) if preset == "simple" else {}
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "executed.ipynb"), kernel_name="python3",
                        parameters=dict(smoke=True, out_dir=str(tmp_path), preset=preset,
                                        data_source="synthetic", **extra),
                        cwd=str(REPO_ROOT), progress_bar=False)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["data"] == "synthetic" and metrics["preset"] == preset
    assert metrics["metric"] == "valid_accuracy" and 0.0 <= metrics["value"] <= 1.0
    # the decoding that wrote the CSV is the best one on validation, among those compared
    by_decoding = metrics["valid_accuracy_by_decoding"]
    assert metrics["value"] == by_decoding[metrics["decoding"]] == max(by_decoding.values())
    assert "min_run 1" in by_decoding  # the raw argmax is always a candidate
    assert any(name.startswith("viterbi") for name in by_decoding)  # boss: its preset turns it on
    test = load_libriphone(synthetic_data_dir("hw2", smoke=True), "test")
    assert validate_submission(tmp_path / "prediction.csv", "hw2", n_rows=test.n_frames) == test.n_frames
    n_models = PRESETS[preset].get("n_models", 1)
    checkpoints = [f"model{k}.ckpt" for k in range(n_models)]  # one per model of the ensemble
    for name in ("learning_curves.png", "per_class_accuracy.png", "confusion.png", *checkpoints):
        assert (tmp_path / name).stat().st_size > 0
    assert not (tmp_path / f"model{n_models}.ckpt").exists() and len(metrics["seeds"]) == n_models
    executed = (tmp_path / "executed.ipynb").read_text()
    assert "epochs" in executed and "TqdmWarning" not in executed  # a text progress bar, no warning
    check_readme_outputs("HW2", tmp_path)
