"""Atomic writes and run folders (common.io)."""

import os
import stat

import pytest

from common.io import RunFolder, atomic_open


def test_atomic_open_keeps_the_old_file_on_error(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_open(path) as f:
        f.write("half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temporary left behind


def test_atomic_open_gives_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_open(tmp_path / "pred.csv") as f:
            f.write("id,x\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "pred.csv").stat().st_mode) == 0o644


def test_run_folder_publishes_only_a_finished_run(tmp_path):
    (tmp_path / "pred.csv").write_text("good\n")
    run = RunFolder(tmp_path)
    (run / "pred.csv").write_text("new\n")
    (run / "plots" / "a.png").parent.mkdir()
    (run / "plots" / "a.png").write_bytes(b"png")
    assert (tmp_path / "pred.csv").read_text() == "good\n"  # nothing visible before publish
    published = run.publish()
    assert [p.relative_to(tmp_path).as_posix() for p in published] == ["plots/a.png", "pred.csv"]
    assert (tmp_path / "pred.csv").read_text() == "new\n"
    assert not (tmp_path / RunFolder.STAGE).exists()


def test_run_folder_metrics_last_and_resume_keeps_staged_files(tmp_path):
    run = RunFolder(tmp_path)
    (run / "metrics.json").write_text("{}")
    (run / "z.csv").write_text("z")
    assert [p.name for p in run.publish()] == ["z.csv", "metrics.json"]
    interrupted = RunFolder(tmp_path)
    (interrupted / "checkpoint.pt").write_bytes(b"ckpt")  # the run dies here
    assert (RunFolder(tmp_path, resume=True) / "checkpoint.pt").read_bytes() == b"ckpt"
    assert not (RunFolder(tmp_path) / "checkpoint.pt").exists()  # a fresh run starts clean
