"""The benchmark harness (benchmarks/harness.py): reports, the machine line, and the
child-process runner with its two memory caps."""

from __future__ import annotations

import os
import platform
import textwrap

from benchmarks.harness import machine, run_child, write_report


def test_write_report_joins_prints_writes_and_appends(tmp_path, capsys):
    path = tmp_path / "RESULTS.md"
    assert write_report(path, ["# A", "", "| x |", ""]) == "# A\n\n| x |\n"
    assert path.read_text() == "# A\n\n| x |\n"
    assert "| x |" in capsys.readouterr().out
    write_report(path, "# B\n", append=True)
    assert path.read_text() == "# A\n\n| x |\n\n# B\n"
    write_report(None, ["# C"])  # printed only
    assert "# C" in capsys.readouterr().out and "# C" not in path.read_text()


def test_machine_line_names_cores_ram_and_versions():
    import torch

    line = machine()
    assert line.startswith(f"{os.cpu_count()} CPU cores (")
    assert "GiB RAM" in line and "nan" not in line
    assert f"python {platform.python_version()}" in line and f"torch {torch.__version__}" in line


def _script(tmp_path, body: str):
    path = tmp_path / "child.py"
    path.write_text(textwrap.dedent("""
        import json, sys
        assert sys.argv[1] == "--child"
        args = sys.argv[2:]
    """) + textwrap.dedent(body))
    return path


def test_run_child_reads_the_last_json_line_and_passes_args_and_env(tmp_path):
    script = _script(tmp_path, """
        import os
        print("progress, not a record")
        print(json.dumps({"early": 1}))
        print(json.dumps({"args": args, "env": os.environ.get("HARNESS_TEST")}))
    """)
    child = run_child(script, ["a", 3], env={"HARNESS_TEST": "yes"}, cwd=tmp_path)
    assert child.ok and child.returncode == 0 and not child.killed
    assert child.record == {"args": ["a", "3"], "env": "yes"}
    assert child.peak_rss > 1e6 and child.wall > 0


def test_run_child_failure_gives_the_last_stderr_line(tmp_path):
    script = _script(tmp_path, """
        print(json.dumps({"half": 1}))
        raise SystemExit("bad size: " + args[0])
    """)
    child = run_child(script, ["7"], cwd=tmp_path)
    assert not child.ok and child.record is None and child.returncode == 1
    assert child.error == "bad size: 7"


def test_run_child_address_space_cap_fails_a_large_allocation(tmp_path):
    script = _script(tmp_path, """
        buf = bytearray(int(args[0]) * 2**20)
        print(json.dumps({"allocated_mb": len(buf) >> 20}))
    """)
    assert run_child(script, [64], mem_cap_gb=1.0, cwd=tmp_path).record == {"allocated_mb": 64}
    capped = run_child(script, [2048], mem_cap_gb=1.0, cwd=tmp_path)
    assert not capped.ok and "MemoryError" in capped.error


def test_run_child_rss_watchdog_kills_and_peak_rss_is_measured(tmp_path):
    script = _script(tmp_path, """
        import time
        blocks = []
        for _ in range(int(args[0])):  # 10 MB resident per step
            blocks.append(b"x" * (10 * 2**20))
            time.sleep(0.02)
        print(json.dumps({"done": True}))
    """)
    small = run_child(script, [5], rss_cap_gb=1.0, cwd=tmp_path)
    assert small.ok and not small.killed and small.peak_rss > 50e6
    big = run_child(script, [100], rss_cap_gb=0.2, cwd=tmp_path)  # would reach 1 GB
    assert big.killed and not big.ok and big.error == "killed at the RSS cap"
    assert 0.2e9 < big.peak_rss < 0.9e9


def test_parse_variant_reads_a_preset_and_its_overrides():
    from benchmarks.harness import parse_variant

    assert parse_variant("boss:pooling=mean,d_model=64") == ("boss", {"pooling": "mean", "d_model": 64})
    assert parse_variant("simple") == ("simple", {})
