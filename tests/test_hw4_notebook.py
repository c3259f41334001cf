"""HW4 notebook: committed without outputs; a smoke run on synthetic data writes a valid
submission (one row per testdata.json entry, in order, speaker names) and metrics.json."""

from __future__ import annotations

import csv
import json

import nbformat
import pytest
import torch

from common.data import resolve_data_dir
from common.datasets import voxceleb as vc
from common.paths import REPO_ROOT
from common.reproduce import HOMEWORKS
from common.submission import validate_submission
from hw4_speaker import models as M

NOTEBOOK = REPO_ROOT / "hw4_speaker" / "hw4_speaker.ipynb"


def test_notebook_is_committed_clean_and_registered():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert "colab" not in nb.metadata and "widgets" not in nb.metadata
    assert HOMEWORKS["hw4"].notebook == "hw4_speaker/hw4_speaker.ipynb"


@pytest.mark.notebook
def test_notebook_smoke_run(tmp_path, check_readme_outputs):
    import papermill as pm

    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "executed.ipynb"), kernel_name="python3",
                        parameters=dict(smoke=True, out_dir=str(tmp_path), data_source="synthetic"),
                        cwd=str(REPO_ROOT), progress_bar=False)
    folder = resolve_data_dir("hw4", "synthetic", seed=0, smoke=True).folder
    data = vc.load_dataset(folder)
    ids = [name for name, _ in data.test]
    assert validate_submission(tmp_path / "submission.csv", "hw4", expected_ids=ids) == len(ids)
    with open(tmp_path / "submission.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Id", "Category"]
    assert [r[0] for r in rows[1:]] == ids  # testdata.json order
    assert {r[1] for r in rows[1:]} <= set(data.speaker2id)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["data"] == "synthetic" and metrics["preset"] == "boss"
    assert metrics["metric"] == "valid_accuracy_whole_utterance" and 0 <= metrics["value"] <= 1
    assert 0 <= metrics["valid_accuracy_128_crop"] <= 1
    for name in ("learning_curves.png", "validation.png", "data.png", "model0.pt", "checkpoint0.pt"):
        assert (tmp_path / name).is_file()
    assert "TqdmWarning" not in (tmp_path / "executed.ipynb").read_text()
    check_readme_outputs("HW4", tmp_path)

    # The fit() call in view is the one the benchmarks measure (M.train_model): same model.
    cfg = M.Config(**metrics["config"])
    model, history = M.train_model(cfg, data, vc.FeatureStore(data, preload=True), device="cpu",
                                   progress=False)
    assert history.best_score == metrics["best_valid_accuracy_per_model"][0]
    notebook_weights = torch.load(tmp_path / "model0.pt", weights_only=True)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(notebook_weights[name], value, rtol=0, atol=1e-6)
