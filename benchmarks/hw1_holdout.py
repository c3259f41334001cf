"""HW1: the notebook itself, run unchanged on a time hold-out of each year's real train file.

    python -m benchmarks.hw1_holdout [--data DIR] [--years 2021 2022 2023]
        [--presets simple medium strong boss] [--out benchmarks/RESULTS_hw1_holdout.md]

For every state, the rows of its last quarter of days (the latest fold of
``hw1_covid_regression/timecv.py``) become a test file without the target column, the earlier
rows the train file; both keep the real file's name, header and ids (so the test ids are not
0..N-1). The notebook is executed with papermill on that folder (``data_source`` = the folder,
every other parameter the preset's), and its ``pred.csv`` is scored against the held-out
targets, beside the references fitted on the same train rows. This is the check
``benchmarks/hw1_timecv.py`` makes through the Python API, here through the notebook a student
runs; one run per preset with the preset's own seeds (the spread over seeds is in
``RESULTS_hw1_timecv.md``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness import machine, write_report
from common.datasets.covid import find_covid_files, load_covid
from common.paths import REPO_ROOT, data_search_path
from hw1_covid_regression.timecv import LATEST_FOLD, reference_predictions, rolling_folds, subset

NOTEBOOK = REPO_ROOT / "hw1_covid_regression" / "hw1_covid_regression.ipynb"
REFERENCES = ("ridge", "linreg", "persistence")


def write_holdout(folder: Path, out: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Write ``out`` (train and test file of ``folder``'s train rows, split at the latest fold)
    and return the held-out targets (in test-file order) and the references' predictions."""
    train_path, test_path = find_covid_files(folder)
    table, _ = load_covid(train_path, test_path)
    fold = rolling_folds(table, (LATEST_FOLD,))[0]
    # Lines, not a DataFrame: the 2022 header repeats its feature names once per day.
    header, *rows = train_path.read_text().splitlines()
    if len(rows) != len(table.frame):
        raise ValueError(f"{train_path}: {len(rows)} lines but {len(table.frame)} rows read")
    drop_target = lambda line: line.rsplit(",", 1)[0]  # noqa: E731  (the target is the last column)
    out.mkdir(parents=True, exist_ok=True)
    (out / train_path.name).write_text("\n".join([header] + [r for r, v in zip(rows, fold.valid) if not v]) + "\n")
    (out / test_path.name).write_text("\n".join([drop_target(header)] +
                                                [drop_target(r) for r, v in zip(rows, fold.valid) if v]) + "\n")
    held = table.frame[fold.valid]
    refs = reference_predictions(subset(table, fold.train), held)
    return held[table.target_column].to_numpy(dtype=np.float64), refs


def run_notebook(preset: str, data: Path, out_dir: Path) -> tuple[np.ndarray, float]:
    """The notebook's predictions (in test-file order) and its wall time."""
    import papermill as pm

    start = time.perf_counter()
    pm.execute_notebook(str(NOTEBOOK), str(out_dir.with_suffix(".ipynb")), kernel_name="python3",
                        cwd=str(REPO_ROOT), progress_bar=False, log_output=False,
                        parameters={"preset": preset, "data_source": str(data), "out_dir": str(out_dir)})
    seconds = time.perf_counter() - start
    return pd.read_csv(out_dir / "pred.csv")["tested_positive"].to_numpy(dtype=np.float64), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="folder holding hw1_covid_<year>/ (default: the data search "
                        "path, $ML2022_DATA_PATH)")
    parser.add_argument("--years", nargs="+", default=["2021", "2022", "2023"])
    parser.add_argument("--presets", nargs="+", default=["simple", "medium", "strong", "boss"])
    parser.add_argument("--out", default="benchmarks/RESULTS_hw1_holdout.md")
    args = parser.parse_args()
    roots = [Path(args.data)] if args.data else data_search_path()
    mse: dict[tuple[str, str], float] = {}
    seconds: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="hw1_holdout-") as tmp:
        for year in args.years:
            folder = next((r / f"hw1_covid_{year}" for r in roots if (r / f"hw1_covid_{year}").is_dir()), None)
            if folder is None:
                sys.exit(f"real HW1 {year} data not found in {[str(r) for r in roots]}: --data DIR "
                         "(a folder holding hw1_covid_<year>/) or $ML2022_DATA_PATH")
            data = Path(tmp) / f"hw1_covid_{year}"
            truth, refs = write_holdout(folder, data)
            for name in REFERENCES:
                mse[name, year] = float(np.mean((refs[name] - truth) ** 2))
            for preset in args.presets:
                pred, seconds[preset, year] = run_notebook(preset, data, Path(tmp) / f"out-{year}-{preset}")
                mse[preset, year] = float(np.mean((pred - truth) ** 2))
                print(f"{year} {preset}: MSE {mse[preset, year]:.4f} ({seconds[preset, year]:.0f} s)", flush=True)

    years = args.years
    lines = ["# HW1: the notebook, unchanged, on a time hold-out of each year's real train file", "",
             f"Command: `python -m benchmarks.hw1_holdout{''.join(' ' + a for a in sys.argv[1:])}`",
             "", f"Machine: {machine()}.", "",
             "Test file: every state's last quarter of days (the latest fold of `RESULTS_hw1_timecv.md`), "
             "target column removed, the real file's name, header and ids kept; train file: the earlier "
             "rows. Notebook: `preset` and `data_source` set, everything else the preset's (one run, the "
             "preset's own seeds). MSE of `pred.csv` against the held-out targets; lower is better.", "",
             "| model | " + " | ".join(years) + " | wall time (s) |",
             "|---|" + "---|" * len(years) + "---|"]
    for name in [*args.presets, *REFERENCES]:
        wall = " / ".join(f"{seconds[name, y]:.0f}" for y in years) if (name, years[0]) in seconds else "-"
        label = name if name in args.presets else f"reference: {name}"
        lines.append(f"| {label} | " + " | ".join(f"{mse[name, y]:.4f}" for y in years) + f" | {wall} |")
    for better, worse in (("boss", "ridge"), ("strong", "linreg")):
        if (better, years[0]) in mse:
            gains = ", ".join(f"{y} {100 * (1 - mse[better, y] / mse[worse, y]):+.1f} %" for y in years)
            lines += ["", f"{better} vs {worse} (MSE reduction): {gains}"]
    write_report(args.out, lines)


if __name__ == "__main__":
    main()
