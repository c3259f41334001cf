"""Atomic writes and benchmark reports (common.io)."""

import pytest

from common.io import atomic_open, write_report


def test_atomic_open_keeps_the_old_file_on_error(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_open(path) as f:
        f.write("half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temporary left behind


def test_write_report_joins_prints_writes_and_appends(tmp_path, capsys):
    path = tmp_path / "RESULTS.md"
    assert write_report(path, ["# A", "", "| x |", ""]) == "# A\n\n| x |\n"
    assert path.read_text() == "# A\n\n| x |\n"
    assert "| x |" in capsys.readouterr().out
    write_report(path, "# B\n", append=True)
    assert path.read_text() == "# A\n\n| x |\n\n# B\n"
    write_report(None, ["# C"])  # printed only
    assert "# C" in capsys.readouterr().out and "# C" not in path.read_text()
