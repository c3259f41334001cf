"""Reproduce the course baselines: run a homework notebook once per preset with papermill,
collect each run's ``metrics.json`` and print/save a markdown table.

    python -m common.reproduce hw1 --preset all                 # real data if present
    python -m common.reproduce hw1 --preset boss --data synthetic
    python -m common.reproduce hw1 --preset all --quick         # smoke-sized runs

Outputs go to ``outputs/<hw>/<preset>/`` (executed notebook, submission, metrics, plots)
and the table to ``outputs/<hw>/results.md``; ``--quick`` runs go to ``outputs/quick/<hw>/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from common.config import PRESETS
from common.io import atomic_open
from common.paths import REPO_ROOT


@dataclass(frozen=True)
class Homework:
    notebook: str  # path relative to the repo root
    title: str


HOMEWORKS: dict[str, Homework] = {
    "hw1": Homework("hw1_covid_regression/hw1_covid_regression.ipynb", "HW1 COVID-19 regression"),
    "hw2_2": Homework("hw2_hessian/hw2_hessian.ipynb", "HW2-2 Hessian: local minimum or saddle point"),
    "hw4": Homework("hw4_speaker/hw4_speaker.ipynb", "HW4 speaker classification"),
    "hw2": Homework("hw2_phoneme/hw2_phoneme.ipynb", "HW2 phoneme classification (libriphone)"),
}


def run_notebook(hw: str, preset: str, out_dir: Path, data: str = "auto", quick: bool = False,
                 overrides: dict | None = None, kernel: str = "python3") -> dict:
    """Execute one notebook with papermill; returns the ``metrics.json`` it wrote. The
    notebook's progress bars and warnings (its stderr) are streamed to this process's stderr."""
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    params = {"preset": preset, "data_source": data, "smoke": quick, "out_dir": str(out_dir),
              **(overrides or {})}
    pm.execute_notebook(str(REPO_ROOT / HOMEWORKS[hw].notebook), str(out_dir / "executed.ipynb"),
                        parameters=params, kernel_name=kernel, cwd=str(REPO_ROOT),
                        progress_bar=False, stderr_file=sys.stderr,
                        # the kernel's "running over TCP without encryption" notice, once per run
                        extra_arguments=["--IPKernelApp.log_level=ERROR"])
    return json.loads((out_dir / "metrics.json").read_text())


def results_table(rows: list[dict]) -> str:
    """Markdown table of metrics.json records."""
    lines = ["| preset | metric | value | seed(s) | data | wall time (s) | torch | numpy |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        v = r.get("versions", {})
        lines.append(f"| {r['preset']} | {r['metric']} | {r['value']:.5g} | "
                     f"{','.join(map(str, r.get('seeds', [])))} | {r.get('data', '?')} | "
                     f"{r.get('wall_seconds', float('nan')):.1f} | {v.get('torch', '?')} | "
                     f"{v.get('numpy', '?')} |")
    return "\n".join(lines)


def parse_overrides(hw: str, items: list[str]) -> dict:
    """``NAME=VALUE`` pairs (VALUE as JSON if it parses, else a string), checked against the
    notebook's parameters cell: a misspelt name is an error that lists the valid ones."""
    import papermill as pm

    valid = list(pm.inspect_notebook(str(REPO_ROOT / HOMEWORKS[hw].notebook)))
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set {item!r}: expected NAME=VALUE")
        if name not in valid:
            raise SystemExit(f"--set {name}: {HOMEWORKS[hw].notebook} has no parameter {name!r}; "
                             f"its parameters are: {', '.join(valid)}")
        try:
            overrides[name] = json.loads(value)
        except json.JSONDecodeError:
            overrides[name] = value
    return overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.reproduce",
                                     description="Run a homework's presets and tabulate the metrics.")
    parser.add_argument("hw", choices=sorted(HOMEWORKS))
    parser.add_argument("--preset", default="all", choices=["all", *PRESETS])
    parser.add_argument("--data", default="auto",
                        help="auto (real if present, else synthetic) | real | synthetic | a folder")
    parser.add_argument("--quick", action="store_true",
                        help="smoke-sized runs (CI, a first look), written under <out>/quick/")
    parser.add_argument("--out", default=str(REPO_ROOT / "outputs"), help="output root")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a notebook parameter on top of the preset (also with --quick), "
                             "e.g. --set seed=1 --set n_epochs=100")
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.hw, args.set)
    # Paths given on the command line are relative to where the command runs.
    data = args.data if args.data in ("auto", "real", "synthetic") else str(Path(args.data).resolve())
    root = Path(args.out).resolve() / ("quick" if args.quick else "") / args.hw

    presets = PRESETS if args.preset == "all" else (args.preset,)
    rows = []
    for i, preset in enumerate(presets, start=1):
        t0 = time.time()
        print(f"[{args.hw}] preset {i}/{len(presets)}: {preset} -> {root / preset}", flush=True)
        record = run_notebook(args.hw, preset, root / preset, data=data, quick=args.quick,
                              overrides=overrides)
        print(f"[{args.hw}] {preset}: {record['metric']} = {record['value']:.5g} "
              f"({record['data']} data, {time.time() - t0:.0f} s)", flush=True)
        rows.append(record)
    table = results_table(rows)
    labels = {r.get("data") for r in rows}
    header = f"# {HOMEWORKS[args.hw].title}: `python -m common.reproduce {' '.join(sys.argv[1:] if argv is None else argv)}`\n\n"
    if "synthetic" in labels:
        header += ("**Synthetic data**: these numbers are for "
                   "the synthetic stand-in of the real files and are not comparable to the Kaggle baselines.\n\n")
    if "unverified" in labels:
        header += ("**Unverified data**: the files read are not known to be the course's "
                   "(their sha256 or layout did not match).\n\n")
    with atomic_open(root / "results.md") as f:
        f.write(header + table + "\n")
    print("\n" + header + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
