"""Every broken input of ``bad_inputs.CASES`` is refused with an error that names the file and
the place; run through a notebook, the failed run replaces none of the previous outputs."""

from __future__ import annotations

import re

import pytest
from bad_inputs import CASES, broken_copy, load_all

from common.paths import REPO_ROOT
from common.reproduce import HOMEWORKS


def check_message(message: str, expect: tuple[str, ...]) -> None:
    for pattern in expect:
        assert re.search(pattern, message, re.S), f"{pattern!r} not in:\n{message}"


@pytest.mark.parametrize("case", [c for c in CASES if c.stage == "load"], ids=lambda c: c.name)
def test_loader_names_the_file_and_place(case, tmp_path):
    folder = broken_copy(case, tmp_path)
    if not case.expect:  # accepted as it is
        load_all(case.hw, folder)
        return
    with pytest.raises((ValueError, FileNotFoundError)) as err:
        load_all(case.hw, folder, **({"student_id": case.params["student_id"]} if "student_id" in case.params else {}))
    check_message(str(err.value), case.expect)


def previous_outputs(out_dir):
    """Files of an earlier good run: whatever their names, a failed run must not touch them."""
    out_dir.mkdir()
    files = {name: f"earlier good {name}\n".encode() for name in
             ("pred.csv", "prediction.csv", "submission.csv", "metrics.json", "model.ckpt",
              "model0.ckpt", "learning_curves.png", "checkpoint0.pt", "model0.pt", "verdicts.csv")}
    for name, content in files.items():
        (out_dir / name).write_bytes(content)
    return files


@pytest.mark.notebook
@pytest.mark.parametrize("case", [c for c in CASES if c.notebook], ids=lambda c: c.name)
def test_failed_notebook_run_keeps_previous_outputs(case, tmp_path):
    import papermill as pm

    folder = broken_copy(case, tmp_path)
    out_dir = tmp_path / "out"
    before = previous_outputs(out_dir)
    params = {"smoke": True, "data_source": str(folder), "out_dir": str(out_dir), **case.params}
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(str(REPO_ROOT / HOMEWORKS[case.hw].notebook), str(tmp_path / "run.ipynb"),
                            parameters=params, kernel_name="python3", cwd=str(REPO_ROOT),
                            progress_bar=False, extra_arguments=["--IPKernelApp.log_level=ERROR"])
    check_message(str(err.value), case.expect)
    published = {p.name: p.read_bytes() for p in out_dir.iterdir() if p.is_file()}
    assert published == before  # byte-identical, nothing added
