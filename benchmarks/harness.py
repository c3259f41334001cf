"""What every benchmark script shares: the machine line of a report, :func:`write_report`, and
:func:`run_child`, which runs one measurement in a fresh subprocess (so its peak RSS is its
own) under an optional memory cap and reads back the JSON record it prints last.

A measuring script re-runs itself with ``--child ...``; the child prints ``json.dumps(record)``
as its last stdout line and the parent calls ``run_child(__file__, [...])``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.io import atomic_open

REPO = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- the machine
def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, or the platform's processor string."""
    try:
        with open("/proc/cpuinfo") as f:
            name = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        name = ""
    return name or platform.processor() or "unknown CPU"


def ram_gib() -> float:
    """Physical memory in GiB (NaN where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return float("nan")


def machine() -> str:
    """One line for a report: cores, CPU model, RAM, GPU, OS, python and torch versions."""
    import torch

    gpu = f"GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no GPU"
    return (f"{os.cpu_count()} CPU cores ({cpu_model()}), {ram_gib():.1f} GiB RAM, {gpu}; "
            f"{platform.system()} {platform.release()}, python {platform.python_version()}, "
            f"torch {torch.__version__}")


def shared_machine(threads: int, load_before: float, minutes: float) -> str:
    """The machine line of a benchmark whose runs go one after another on a shared machine."""
    import torch

    return (f"Machine: {os.cpu_count()} cores ({cpu_model()}), no GPU, {threads} torch thread(s), "
            f"runs one after another, python {platform.python_version()}, torch {torch.__version__}; "
            f"shared with other jobs (load average {load_before:.1f} at the start, "
            f"{os.getloadavg()[0]:.1f} at the end). Whole benchmark: {minutes:.1f} min.")


# --------------------------------------------------------------------------- the report
def spread(values: Sequence[float]) -> str:
    """``mean ± std [min, max]`` (just the value for a single run)."""
    import statistics

    if len(values) < 2:
        return f"{values[0]:.4f}"
    return (f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f} "
            f"[{min(values):.4f}, {max(values):.4f}]")


def write_report(path: str | os.PathLike | None, report: str | Sequence[str],
                 append: bool = False) -> str:
    """Print a benchmark report (text, or lines to join) and write it to ``path`` atomically,
    after the file's current text if ``append``; ``path=None`` only prints. Returns the text."""
    text = (report if isinstance(report, str) else "\n".join(report)).rstrip("\n") + "\n"
    print("\n" + text)
    if path is not None:
        path = Path(path)
        body = path.read_text() + "\n" + text if append and path.exists() else text
        with atomic_open(path, "w") as f:
            f.write(body)
    return text


def read_records(*paths: str | os.PathLike) -> list[dict]:
    """The JSON objects of JSON-lines files (one run's record per line; blank lines skipped)."""
    return [json.loads(line) for p in paths for line in Path(p).read_text().splitlines() if line.strip()]


def append_record(path: str | os.PathLike | None, record: dict) -> None:
    """Append ``record`` as one JSON line to ``path`` (nothing when ``path`` is None)."""
    if path is not None:
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")


# --------------------------------------------------------------------------- one measurement
@dataclass
class Child:
    """How a :func:`run_child` subprocess ended.

    ``record``: the JSON object of its last ``{...}`` stdout line (None if it failed);
    ``peak_rss``: its high-water resident memory in bytes (``ru_maxrss`` from ``wait4``);
    ``killed``: the RSS watchdog killed it; ``error``: the last line of its stderr.
    """

    returncode: int
    wall: float
    peak_rss: int
    killed: bool = False
    record: dict[str, Any] | None = None
    stdout: str = ""
    stderr: str = field(default="", repr=False)

    @property
    def ok(self) -> bool:
        return self.record is not None

    @property
    def error(self) -> str:
        if self.killed:
            return "killed at the RSS cap"
        lines = self.stderr.strip().splitlines() or self.stdout.strip().splitlines() or ["?"]
        return lines[-1][:160]


def _rss(pid: int) -> int:
    """Current resident memory of ``pid`` in bytes (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def run_child(script: str | os.PathLike, args: Sequence[object], *, mem_cap_gb: float | None = None,
              rss_cap_gb: float | None = None, env: Mapping[str, str] | None = None,
              cwd: str | os.PathLike | None = REPO) -> Child:
    """Run ``python script --child *args`` (each arg ``str()``-ed) and wait for it.

    ``mem_cap_gb``: an address-space limit (``RLIMIT_AS``) set before the child starts, so an
    allocation past it fails cleanly (MemoryError / a torch error) instead of pushing a shared
    machine into swap. ``rss_cap_gb``: a watchdog polls the child's resident memory every 10 ms
    and kills it past the cap (for code that reserves far more address space than it touches,
    where ``RLIMIT_AS`` would fail too early). ``mem_cap_gb`` counts GiB (2**30 bytes),
    ``rss_cap_gb`` GB (1e9 bytes), as the scripts' reports do. ``env``: extra environment
    variables.
    """
    def limit() -> None:
        cap = int(mem_cap_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    cmd = [sys.executable, str(Path(script).resolve()), "--child", *map(str, args)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd,
                                env={**os.environ, **(env or {})},
                                preexec_fn=limit if mem_cap_gb else None)
        killed = False
        try:
            if rss_cap_gb is None:
                _, status, usage = os.wait4(proc.pid, 0)
            else:
                while True:
                    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                    if pid:
                        break
                    if not killed and _rss(proc.pid) > rss_cap_gb * 1e9:
                        os.kill(proc.pid, signal.SIGKILL)
                        killed = True
                    time.sleep(0.01)
        except BaseException:  # Ctrl-C or an error here: the child must not run on
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    child = Child(proc.returncode, wall, usage.ru_maxrss * 1024, killed, None, stdout, stderr)
    records = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if records and not killed and proc.returncode == 0:
        child.record = json.loads(records[-1])
    return child


def parse_variant(variant: str) -> tuple[str, dict]:
    """``"boss:pooling=mean,d_model=64"`` -> ``("boss", {"pooling": "mean", "d_model": 64})``
    (values as JSON when they parse, else strings): a preset plus overrides on the command line."""
    preset, _, extra = variant.partition(":")
    overrides = {}
    for item in extra.split(",") if extra else []:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return preset, overrides
