"""Progress bars: no ``TqdmWarning: IProgress not found`` in a Jupyter kernel without
ipywidgets (the text bar is used), the widget bar where ipywidgets exists (Colab)."""

from __future__ import annotations

import importlib.util

import nbformat
import pytest
from nbclient import NotebookClient

import common.progress
from common.paths import REPO_ROOT
from common.progress import progress_bar


def test_text_bar_without_ipywidgets_widget_bar_with_it(monkeypatch):
    from tqdm.auto import tqdm as auto_tqdm
    from tqdm.std import tqdm as text_tqdm

    monkeypatch.setattr(common.progress.importlib.util, "find_spec", lambda name: None)
    assert type(progress_bar(range(3), disable=True)) is text_tqdm
    monkeypatch.setattr(common.progress.importlib.util, "find_spec", lambda name: object())
    assert type(progress_bar(range(3), disable=True)) is auto_tqdm


@pytest.mark.notebook
def test_fit_and_download_bars_in_a_kernel_print_no_warning(tmp_path):
    src = tmp_path / "blob.bin"
    src.write_bytes(b"x" * 5000)
    code = f"""
import sys; sys.path.insert(0, {str(REPO_ROOT)!r})
import torch
from pathlib import Path
from common.fetch import download
from common.train import TensorBatches, fit
x = torch.randn(32, 3); y = x.sum(1, keepdim=True)
model = torch.nn.Linear(3, 1)
h = fit(model, TensorBatches(x, y, batch_size=8), TensorBatches(x, y, batch_size=8),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), n_epochs=3, device="cpu")
download({src.as_uri()!r}, Path({str(tmp_path / "copy.bin")!r}), timeout=5)
print("done", len(h.train_loss))
"""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(o.get("text", "") + str(o.get("data", "")) for o in nb.cells[0].outputs)
    assert "done 3" in text and "epochs" in text and "copy.bin" in text
    assert "IProgress" not in text and "TqdmWarning" not in text
    if importlib.util.find_spec("ipywidgets") is None:
        assert all(o.output_type == "stream" for o in nb.cells[0].outputs)  # text bars only
    assert (tmp_path / "copy.bin").read_bytes() == src.read_bytes()
