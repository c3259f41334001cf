"""A Colab session ends mid-run: the notebook stops right after fit() wrote its checkpoint for
epoch ``STOP`` (a KeyboardInterrupt injected into the kernel), nothing is published, and the same
notebook run again with ``resume=True`` finishes with exactly the result of an uninterrupted run
(metrics, best weights, learning curves)."""

from __future__ import annotations

import json

import pytest
import torch

from common.paths import REPO_ROOT
from common.reproduce import HOMEWORKS

STOP = 0  # the disconnect comes right after the checkpoint of the first epoch

DISCONNECT = f"""
import sys
sys.path.insert(0, {str(REPO_ROOT)!r})
import common.train as _train

_save = _train.atomic_torch_save

def _save_then_disconnect(obj, path):
    _save(obj, path)
    if isinstance(obj, dict) and obj.get("epoch") == {STOP}:
        raise KeyboardInterrupt("simulated Colab disconnect after epoch {STOP + 1}")

_train.atomic_torch_save = _save_then_disconnect
"""

LOG_EPOCHS = f"""
import os, sys
sys.path.insert(0, {str(REPO_ROOT)!r})
import common.train as _train

_save = _train.atomic_torch_save

def _save_and_log(obj, path):
    _save(obj, path)
    if isinstance(obj, dict) and "epoch" in obj:
        with open(os.environ["EPOCH_LOG"], "a") as f:
            f.write(f"{{obj['epoch']}}\\n")

_train.atomic_torch_save = _save_and_log
"""

# checkpoint written by fit(), metrics compared, parameters (at least two epochs each)
CASES = {
    "hw1": ("mlp0.ckpt", ["value", "member_mse", "validation_mse"], dict(smoke=True, preset="simple")),
    "hw2": ("model0.ckpt", ["value", "valid_accuracy_raw", "decoding", "valid_accuracy_by_decoding",
                            "best_epoch"],
            dict(smoke=False, preset="strong", num_epoch=3, max_train_utts=16, hidden_dim=32,
                 hidden_layers=1)),
    "hw2_2": ("wide_mlp.ckpt", ["value", "lanczos_1m"], dict(smoke=True, preset="boss")),
    "hw4": ("checkpoint0.pt", ["value", "valid_accuracy_128_crop", "best_valid_accuracy_per_model",
                               "synthetic_test_accuracy"], dict(smoke=True, preset="boss")),
}


def _untimed(value):
    """``value`` without wall-clock entries (they differ between any two runs)."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "seconds"}
    return value


def _run(hw, out_dir, **params):
    import papermill as pm

    pm.execute_notebook(str(REPO_ROOT / HOMEWORKS[hw].notebook), str(out_dir) + ".ipynb",
                        kernel_name="python3", cwd=str(REPO_ROOT), progress_bar=False,
                        parameters=dict(data_source="synthetic", out_dir=str(out_dir), **params))


@pytest.mark.notebook
@pytest.mark.parametrize("hw", sorted(CASES))
def test_interrupted_then_resumed_run_equals_an_uninterrupted_one(hw, tmp_path, monkeypatch,
                                                                  kernel_startup):
    import papermill as pm

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    ckpt_name, keys, params = CASES[hw]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    _run(hw, whole, **params)

    fault = kernel_startup("00-disconnect", DISCONNECT)
    with pytest.raises(pm.PapermillExecutionError, match="simulated Colab disconnect"):
        _run(hw, cut, **params)
    fault.unlink()
    kernel_startup("00-log-epochs", LOG_EPOCHS)
    monkeypatch.setenv("EPOCH_LOG", str(tmp_path / "epochs.log"))
    assert not (cut / "metrics.json").exists()  # nothing published by the interrupted run
    staged = torch.load(cut / ".incomplete" / ckpt_name, weights_only=False)
    assert staged["epoch"] == STOP

    if hw == "hw4":  # a resume with other parameters is refused, and the checkpoint survives it
        with pytest.raises(pm.PapermillExecutionError, match="written by a run with another config"):
            _run(hw, cut, resume=True, **{**params, "seed": 1234})
        open(tmp_path / "epochs.log", "w").close()
    _run(hw, cut, resume=True, **params)
    assert not (cut / ".incomplete").exists()
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (whole, cut))
    for key in keys:
        assert _untimed(a[key]) == _untimed(b[key]), key
    ca, cb = (torch.load(d / ckpt_name, weights_only=False) for d in (whole, cut))
    assert ca["epoch"] == cb["epoch"] > STOP
    trained = [int(e) for e in (tmp_path / "epochs.log").read_text().split()]
    assert trained == list(range(STOP + 1, ca["epoch"] + 1))  # only the remaining epochs
    assert ca["history"].train_loss == cb["history"].train_loss
    assert ca["history"].valid_metric == cb["history"].valid_metric
    for name, value in ca["best_model"].items():
        assert torch.equal(value, cb["best_model"][name]), name
