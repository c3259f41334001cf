"""The four notebooks follow one template (README, Layout): title, bootstrap, versions and
device, a parameters cell of one shape read by notebook_config, then data -> features/windows/
crops -> model -> the visible fit() call -> validation -> submission and metrics."""

from __future__ import annotations

import ast
import dataclasses
import importlib

import nbformat
import pytest

from common.paths import REPO_ROOT
from tools import colab

RUN_PARAMETERS = ["preset", "data_source", "smoke", "out_dir", "resume"]
NOTEBOOKS = {  # notebook, module with Config, extra run knobs, the section headings in order
    "hw1": ("hw1_covid_regression/hw1_covid_regression.ipynb", "hw1_covid_regression.covid_model", set(),
            ["## Data", "## Validation that tells the truth", "## Features", "## The model", "## Training",
             "## Validation scores", "## Test predictions and submission"]),
    "hw2": ("hw2_phoneme/hw2_phoneme.ipynb", "hw2_phoneme.models", set(),
            ["## Data", "## Windows", "## Model", "## Training", "## Validation", "## Test predictions and submission"]),
    "hw4": ("hw4_speaker/hw4_speaker.ipynb", "hw4_speaker.models", {"cpu_threads", "cpu_budget"},
            ["## Data", "## Crops and batches", "## Model", "## Training", "## Validation", "## Test predictions and submission"]),
    "hw2_2": ("hw2_hessian/hw2_hessian.ipynb", "hw2_hessian.hessian", set(),
              ["## Data", "## The model", "## 1. The course's procedure", "## 2. The exact Hessian",
               "## 3. Beyond the toy", "## Run record"]),
}


@pytest.mark.parametrize("hw", sorted(NOTEBOOKS))
def test_notebook_follows_the_template(hw):
    path, module, knobs, headings = NOTEBOOKS[hw]
    nb = nbformat.read(REPO_ROOT / path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert code[0].source == colab.bootstrap_source()
    assert "describe_runtime()" in code[1].source
    assert code[2].metadata.get("tags") == ["parameters"]
    assert "notebook_config(" in code[3].source and "RunFolder(repo_path(out_dir), resume=resume)" in code[3].source

    names = [t.id for node in ast.parse(code[2].source).body for t in node.targets]
    assert names[:len(RUN_PARAMETERS)] == RUN_PARAMETERS
    assert len(names) == len(set(names))  # each parameter written once
    fields = {f.name for f in dataclasses.fields(importlib.import_module(module).Config)}
    assert set(names[len(RUN_PARAMETERS):]) <= fields | knobs  # all read by notebook_config
    assert "build_config(" not in "".join(c.source for c in code)

    found = [c.source.splitlines()[0] for c in nb.cells
             if c.cell_type == "markdown" and c.source.startswith("## ")]
    positions = [min((i for i, h in enumerate(found) if h.startswith(want)), default=-1)
                 for want in headings]
    assert -1 not in positions and positions == sorted(positions), found
    # training through fit() (directly, or HW2's train_model, which calls it) with a resumable checkpoint
    assert any(("fit(" in c.source or "train_model(" in c.source) and "checkpoint_path=" in c.source
               and "resume=resume" in c.source for c in code)
    assert "outputs.publish()" in code[-1].source
