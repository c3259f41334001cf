"""The repository URL and ref live in tools/colab.py only: every notebook's bootstrap cell
and every Open In Colab badge (notebooks and README) agree with it; the bootstrap finds the
repository locally from any working directory, or says exactly what to do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from common.config import describe_checkout
from common.paths import REPO_ROOT
from tools import colab


def test_notebooks_bootstrap_and_readme_badges_agree_with_tools_colab():
    assert colab.sync(write=False) == []
    readme = (REPO_ROOT / "README.md").read_text()
    for rel in colab.notebooks():
        nb = nbformat.read(REPO_ROOT / rel, as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert f'REPO_URL, REPO_REF = "{colab.REPO_URL}", "{colab.REF}"' in first.source
        assert colab.badge_url(rel) in nb.cells[0].source + nb.cells[1].source  # badge at the top
        assert f"({colab.badge_url(rel)})" in readme
        assert f"/blob/{colab.REF}/{rel}" in colab.badge_url(rel)


def test_check_finds_and_sync_fixes_a_drifted_copy(tmp_path):
    for rel in [*colab.notebooks(), "README.md"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / rel, tmp_path / rel)
    hw2, hw4 = "hw2_phoneme/hw2_phoneme.ipynb", "hw4_speaker/hw4_speaker.ipynb"
    nb = nbformat.read(tmp_path / hw2, as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace(f"/blob/{colab.REF}/", "/blob/v0.0-old/")
    next(c for c in nb.cells if c.cell_type == "code").source += "\n# edited by hand"
    nbformat.write(nb, tmp_path / hw2)
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace(colab.badge_url(hw4), colab.badge_url(hw4, url="https://github.com/someone/fork")))

    problems = colab.sync(tmp_path, write=False)
    assert any(p.startswith(hw2) and "bootstrap" in p for p in problems)
    assert any(p.startswith(hw2) and "v0.0-old" in p for p in problems)
    assert any(p.startswith("README.md") and "someone/fork" in p for p in problems)
    assert len(problems) == 3
    assert colab.sync(tmp_path, write=True) and colab.sync(tmp_path, write=False) == []
    fixed = nbformat.read(tmp_path / hw2, as_version=4)
    assert [c.id for c in fixed.cells] == [c.id for c in nbformat.read(REPO_ROOT / hw2, as_version=4).cells]


def _run_bootstrap(cwd, **env):
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ML2022_REPO")}
    code = colab.bootstrap_source() + "\nprint('ROOT', ROOT)\nimport common.config; print('IMPORTED', common.config.__file__)"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=clean | env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("where", [".", "hw2_phoneme", "common/datasets"])
def test_bootstrap_finds_the_repository_from_inside_it(where):
    run = _run_bootstrap(REPO_ROOT / where)
    assert run.returncode == 0, run.stderr
    assert f"ROOT {REPO_ROOT}\n" in run.stdout
    assert f"IMPORTED {REPO_ROOT / 'common' / 'config.py'}" in run.stdout
    assert "repository:" not in run.stdout  # nothing Colab-only happens locally


def test_bootstrap_outside_the_repository_says_what_to_do(tmp_path):
    run = _run_bootstrap(tmp_path)
    assert run.returncode != 0 and "StopIteration" not in run.stderr
    message = run.stderr.strip().splitlines()[-1]
    assert message.startswith("FileNotFoundError:") and str(tmp_path) in message
    assert f"git clone --branch {colab.REF} {colab.REPO_URL}" in message
    assert "%env ML2022_REPO=" in message

    run = _run_bootstrap(tmp_path, ML2022_REPO=str(REPO_ROOT))  # what the message suggests
    assert run.returncode == 0, run.stderr
    assert f"ROOT {REPO_ROOT}\n" in run.stdout


def test_describe_checkout_names_the_version_and_warns_on_another_ref(tmp_path):
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    assert "another version" not in describe_checkout(tmp_path, "main")
    text = describe_checkout(tmp_path, "v9.9")
    assert text.startswith(f"repository: {tmp_path} at ")
    assert f"another version than v9.9: move it away (!mv {tmp_path}" in text


def test_a_release_pins_every_notebook_and_badge_to_its_tag(tmp_path, monkeypatch):
    """The README's release steps: set REF to the tag, sync; nothing keeps pointing at main."""
    for rel in [*colab.notebooks(), "README.md"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / rel, tmp_path / rel)
    monkeypatch.setattr(colab, "REF", "v9.9")
    assert colab.sync(tmp_path, write=True)  # everything was at the old ref
    assert colab.sync(tmp_path, write=False) == []
    readme = (tmp_path / "README.md").read_text()
    assert "/blob/v9.9/" in readme and "/blob/main/" not in readme
    for rel in colab.notebooks():
        nb = nbformat.read(tmp_path / rel, as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert f'REPO_URL, REPO_REF = "{colab.REPO_URL}", "v9.9"' in first.source
        assert "/blob/main/" not in nb.cells[0].source
