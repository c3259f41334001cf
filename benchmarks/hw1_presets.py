"""HW1: validation MSE per preset on the time-ordered hold-out of the real 2022 train file,
mean and spread over 5 seeds, against persistence and ridge regression, with CPU time.

    python -m benchmarks.hw1_presets [--data DIR] [--seeds 5] [--out benchmarks/RESULTS_hw1.md]

Every preset is scored on the same split (split="time", valid_ratio=0.2) so the rows are
comparable; the official sample's random split is shown once more for the leak it hides.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.harness import machine, write_report
from common.config import build_config
from common.data import real_data_dir
from common.datasets.covid import load_covid
from hw1_covid_regression.covid_model import PRESETS, Config, reference_scores, train_ensemble


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="folder with covid.train.csv (default: the real data)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/RESULTS_hw1.md")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the notebook does on CPU: tiny nets run fastest on one thread
    folder = Path(args.data) if args.data else real_data_dir("hw1")
    if folder is None:
        raise SystemExit("real HW1 data not found: python -m common.data fetch hw1, or --data DIR")
    train, _ = load_covid(folder / "covid.train.csv", folder / "covid.test.csv")
    seeds = [5201314, 1, 2, 3, 4, 5, 6, 7, 8, 9][:args.seeds]

    rows = []
    runs = [(p, "time") for p in ("simple", "medium", "strong", "boss")] + [("strong", "random")]
    for preset, split in runs:
        mses, cpu, refs = [], [], None
        for seed in seeds:
            extra = {"seed": seed}
            members = len(PRESETS[preset].get("seeds", ()))
            if members:  # each repetition is a different ensemble of the preset's size
                extra["seeds"] = tuple(seed + 1000 * k for k in range(members))
            cfg = build_config(Config, PRESETS, preset, split=split, **extra)
            t0 = time.process_time()
            run = train_ensemble(cfg, train)
            cpu.append(time.process_time() - t0)
            mses.append(run.valid_mse)
            if refs is None:  # same split and columns as this preset
                refs = reference_scores(train, run.valid_mask, run.columns)
            print(f"{preset:7s} {split:6s} seed {seed}: MSE {run.valid_mse:.4f} ({cpu[-1]:.1f} s CPU)",
                  flush=True)
        rows.append((preset, split, np.mean(mses), np.std(mses), min(mses), max(mses),
                     refs["ridge"], refs["persistence"], np.mean(cpu), int(run.valid_mask.sum())))

    lines = [
        "## HW1 COVID-19: validation MSE per preset (real 2022 train file)",
        "",
        f"Command: `python -m {' '.join(['benchmarks.hw1_presets', *sys.argv[1:]])}`  ",
        f"Machine: {machine()}, numpy {np.__version__}; {torch.get_num_threads()} torch "
        "thread(s)  ",
        "Split `time`: the last 20 % of every state's chain of days is validation; `random`: the "
        f"official sample's random 20 %. {len(seeds)} seeds per row (boss: {len(seeds)} different "
        f"{len(PRESETS['boss']['seeds'])}-seed ensembles). Ridge (alpha by CV on the training rows) and persistence (the day-4 "
        "`tested_positive`) are fitted on the same rows and columns as the preset.",
        "",
        "| preset | split | valid rows | MSE mean | std | min | max | ridge | persistence | CPU s / run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for preset, split, mean, std, lo, hi, ridge, persist, cpu, n_valid in rows:
        lines.append(f"| {preset} | {split} | {n_valid} | {mean:.4f} | {std:.4f} | {lo:.4f} | "
                     f"{hi:.4f} | {ridge:.4f} | {persist:.4f} | {cpu:.1f} |")
    lines.append("")
    write_report(args.out, lines)


if __name__ == "__main__":
    main()
