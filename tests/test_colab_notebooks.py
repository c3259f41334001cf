"""Each notebook as a student runs it in Colab, offline: a fake ``google.colab`` module, the
notebook started outside any clone, and ``REPO_URL`` redirected (git ``insteadOf``) to a local
bare repository holding this working tree. The bootstrap must clone it and import from it, the
data step must try to download the real data (no network here: every HTTP request goes to a
closed port), fall back to synthetic data and say why, and the run must be labelled synthetic in
the printed banner, in every saved figure's title and in metrics.json."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from common.paths import REPO_ROOT
from tools import colab

FAKE_COLAB = """
import sys, types
try:
    import google
except ImportError:
    google = types.ModuleType("google")
    google.__path__ = []
    sys.modules["google"] = google
colab = types.ModuleType("google.colab")
google.colab = colab
sys.modules["google.colab"] = colab
"""

RECORD_FIGURE_TITLES = """
import json, os, sys
import matplotlib.figure

_savefig = matplotlib.figure.Figure.savefig

def _recording_savefig(self, fname, *args, **kwargs):
    record = {"file": os.path.basename(str(fname)),
              "suptitle": self._suptitle.get_text() if self._suptitle is not None else "",
              "titles": [ax.get_title() for ax in self.axes if ax.get_title()],
              "common": sys.modules["common"].__file__}
    with open(os.environ["FIGURE_TITLES"], "a") as f:
        f.write(json.dumps(record) + "\\n")
    return _savefig(self, fname, *args, **kwargs)

matplotlib.figure.Figure.savefig = _recording_savefig
"""

# Full-size synthetic data (the fallback of a non-smoke run), tiny training.
CASES = {
    "hw1": ("pred.csv", dict(preset="simple", n_epochs=3)),
    "hw2_2": (None, dict(preset="simple")),
    "hw2": ("prediction.csv", dict(preset="simple", num_epoch=1, max_train_utts=8)),
    "hw4": ("submission.csv", dict(preset="simple", total_steps=4, valid_steps=2, warmup_steps=1,
                                   batch_size=4, segment_len=32)),
}


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    """A bare repository with this working tree (committed or not) at ``colab.REF``, and a git
    config that sends ``colab.REPO_URL`` there."""
    tmp = tmp_path_factory.mktemp("origin")
    work, bare = tmp / "work", tmp / "ml2022-homework.git"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO_ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        if (REPO_ROOT / rel).is_file():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / rel, work / rel)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-q", "-m", "snapshot"], check=True)
    if colab.REF != "main":
        subprocess.run([*git, "-C", str(work), "tag", colab.REF], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    gitconfig = tmp / "gitconfig"
    gitconfig.write_text(f'[url "{bare.as_uri()}"]\n\tinsteadOf = {colab.REPO_URL}\n')
    return gitconfig


def _outputs_text(path) -> str:
    nb = json.loads(path.read_text())
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            parts.append("".join(out.get("data", {}).get("text/plain", "")))
            parts.append("\n".join(out.get("traceback", [])))
    return "\n".join(parts)


@pytest.mark.notebook
@pytest.mark.parametrize("hw", [
    "hw1", "hw2_2", "hw2", "hw4"])
def test_notebook_in_colab_clones_tries_the_fetch_and_labels_the_run_synthetic(
        hw, origin, tmp_path, monkeypatch, kernel_startup):
    import papermill as pm

    from common.reproduce import HOMEWORKS

    kernel_startup("00-fake-colab", FAKE_COLAB)
    kernel_startup("01-record-figure-titles", RECORD_FIGURE_TITLES)
    titles_log = tmp_path / "figure_titles.jsonl"
    monkeypatch.setenv("FIGURE_TITLES", str(titles_log))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(origin))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # offline: every download is refused at once
    for var in ("no_proxy", "NO_PROXY", "ML2022_DATA_PATH", "ML2022_REPO", "PYTHONPATH",
                "KAGGLE_USERNAME", "KAGGLE_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    content, out = tmp_path / "content", tmp_path / "out"
    content.mkdir()

    submission, params = CASES[hw]
    pm.execute_notebook(str(REPO_ROOT / HOMEWORKS[hw].notebook), str(tmp_path / "executed.ipynb"),
                        kernel_name="python3", cwd=str(content), progress_bar=False,
                        parameters=dict(smoke=False, data_source="auto", out_dir=str(out), **params))
    clone = content / colab.CLONE_DIR
    text = _outputs_text(tmp_path / "executed.ipynb")

    # cloned, found the root, said which version and that there is no GPU
    assert (clone / "common" / "config.py").is_file()
    assert f"repository: {clone} at " in text and "another version" not in text
    assert "CPU only (on Colab: Runtime > Change runtime type > GPU" in text
    # tried the download, fell back, said why
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"] == "synthetic"
    assert metrics["data_note"].startswith("could not fetch the real data")
    assert "[data] could not fetch the real data" in text and "using synthetic data instead" in text
    assert "SYNTHETIC data (not the course's)" in text and metrics["data_note"] in text
    if submission:
        assert (out / submission).is_file()
    # every saved figure says so in its title (the suptitle, or every panel's title)
    figures = [json.loads(line) for line in titles_log.read_text().splitlines()]
    assert figures and all(f["common"].startswith(str(clone)) for f in figures)  # the clone's code
    for fig in figures:
        labelled = "synthetic" in fig["suptitle"].lower() or (
            fig["titles"] and all("synthetic" in t.lower() for t in fig["titles"]))
        assert labelled, f"{hw}: {fig['file']} does not say synthetic: {fig}"
