"""HW1: rolling-origin time validation of every preset and the linear references on the real
2021, 2022 and 2023 train files, several seeds; chooses the blend weights of strong and boss on
the selection folds only and reports the latest fold (each state's last quarter) as the test.

    python -m benchmarks.hw1_timecv [--years 2021 2022 2023] [--seeds 3]
        [--presets simple medium strong boss] [--out benchmarks/RESULTS_hw1_timecv.md]

Folds (fractions of each state's days; train = every day before the start):
selection 0.45-0.6, 0.525-0.675, 0.6-0.75, 0.5-0.75, 0.65-0.75; latest 0.75-1
(see hw1_covid_regression/timecv.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
import torch

from benchmarks.harness import machine, write_report
from common.config import build_config
from common.datasets.covid import find_covid_files, load_covid
from common.paths import data_search_path
from hw1_covid_regression.covid_model import PRESETS, Config, train_ensemble
from hw1_covid_regression.timecv import (
    LATEST_FOLD,
    SELECTION_FOLDS,
    reference_predictions,
    rolling_folds,
    subset,
)

REFERENCES = ("ridge", "linreg", "persistence")
TUNING = "### Tuning"  # a section of the report written by hand, kept when the report is rewritten
SEEDS = (5201314, 1, 2, 3, 4)


def nnls_weights(records: list[dict], components: tuple[str, ...]) -> np.ndarray:
    """Non-negative weights summing to 1 that minimise the sum over ``records`` of
    blend SSE / (ridge MSE * rows), i.e. the pooled least squares on out-of-fold predictions
    with every record weighted as in :func:`blend_score`. Returns [len(components)]."""
    from scipy.optimize import nnls

    a, b = [], []
    for r in records:
        scale = 1 / np.sqrt(np.mean((r["ridge_ref"] - r["y"]) ** 2) * len(r["y"]))
        a.append(np.column_stack([r[c] for c in components]) * scale)
        b.append(r["y"] * scale)
    # the sum-to-one constraint as a heavily weighted extra row
    big = 1e3 * max(1.0, float(np.abs(np.vstack(a)).max()))
    w, _ = nnls(np.vstack([*a, np.full(len(components), big)]), np.concatenate([*b, [big]]))
    return w / w.sum()


def blend_score(records: list[dict], weights: dict[str, float]) -> float:
    """Mean over ``records`` of blend MSE / ridge MSE."""
    return float(np.mean([np.mean((sum(w * r[c] for c, w in weights.items()) - r["y"]) ** 2)
                          / np.mean((r["ridge_ref"] - r["y"]) ** 2) for r in records]))


SHRINKS = (0.0, 0.25, 0.5, 0.75, 1.0)


def choose_weights_shrunk(records: list[dict], components: tuple[str, ...], shrinks=SHRINKS
                          ) -> tuple[dict[str, float], float, dict[float, float]]:
    """Blend weights ``(1 - s) * NNLS + s * equal``, with the shrinkage ``s`` chosen by
    leave-one-year-out: the weights fitted on the other years' records are scored on the held-out
    year's (:func:`blend_score`); the ``s`` with the best mean over held-out years wins (ties:
    the larger ``s``), and the weights are refitted on every record. Records carry ``year``.
    Returns (weights rounded to 3 decimals, the in-sample score, {s: leave-one-year-out score})."""
    years = sorted({r["year"] for r in records})
    equal = np.full(len(components), 1 / len(components))
    loyo = {}
    for s in shrinks:
        held = []
        for yr in years:
            fit_on = [r for r in records if r["year"] != yr]
            w = (1 - s) * nnls_weights(fit_on, components) + s * equal if fit_on else equal
            held.append(blend_score([r for r in records if r["year"] == yr], dict(zip(components, w))))
        loyo[s] = float(np.mean(held))
    best = min(loyo.items(), key=lambda kv: (round(kv[1], 10), -kv[0]))[0]
    w = (1 - best) * nnls_weights(records, components) + best * equal
    weights = {c: round(float(wi), 3) for c, wi in zip(components, w)}
    return weights, blend_score(records, weights), loyo


def tuning_section(path: str | Path) -> list[str]:
    """The lines of the report's hand-written tuning section (from ``TUNING`` to the end; the
    exploratory runs that chose the presets), so that rewriting the report keeps it."""
    text = Path(path).read_text() if Path(path).exists() else ""
    return text[text.index(TUNING):].rstrip("\n").split("\n") if TUNING in text else []


def mse(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((pred - y) ** 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="folder holding hw1_covid_<year>/ (default: the first such "
                        "folder on the data search path, $ML2022_DATA_PATH)")
    parser.add_argument("--years", nargs="+", default=["2021", "2022", "2023"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--presets", nargs="+", default=["simple", "medium", "strong", "boss"])
    parser.add_argument("--out", default="benchmarks/RESULTS_hw1_timecv.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    roots = [Path(args.data)] if args.data else data_search_path()
    folders = {}
    for year in args.years:
        folders[year] = next((r / f"hw1_covid_{year}" for r in roots if (r / f"hw1_covid_{year}").is_dir()), None)
        if folders[year] is None:
            raise SystemExit(f"real HW1 {year} data not found in {[str(r) for r in roots]}: "
                             "--data DIR (a folder holding hw1_covid_<year>/) or $ML2022_DATA_PATH")
    seeds = SEEDS[:args.seeds]
    latest_name = f"{LATEST_FOLD[0]:.3g}-{LATEST_FOLD[1]:.3g}"

    # runs[(model, year, fold, seed)] = MSE; comps[(preset, year, fold, seed)] = predictions
    runs: dict[tuple, float] = {}
    comps: dict[tuple, dict[str, np.ndarray]] = {}
    # MSE with every history component replaced by its no-history fallback: the blend on rows
    # that no earlier row chains to, as in the course's test files
    no_history: dict[tuple, float] = {}
    cpu: dict[str, list[float]] = {p: [] for p in args.presets}
    alphas: dict[str, list[float]] = {}
    for year in args.years:
        train, _ = load_covid(*find_covid_files(folders[year]))
        for fold in rolling_folds(train):
            part, frame = subset(train, fold.train), train.frame[fold.valid]
            y = frame[train.target_column].to_numpy(dtype=np.float64)
            refs = reference_predictions(part, frame)
            for name in REFERENCES:
                for seed in seeds:  # deterministic: the same value for every seed
                    runs[(name, year, fold.name, seed)] = mse(refs[name], y)
            for preset in args.presets:
                for seed in seeds:
                    extra = {"seed": seed}
                    if PRESETS[preset].get("seeds"):  # each repetition is a different ensemble
                        extra["seeds"] = tuple(seed + 1000 * k for k in range(len(PRESETS[preset]["seeds"])))
                    cfg = build_config(Config, PRESETS, preset, **extra)
                    t0 = time.process_time()
                    run = train_ensemble(cfg, part)
                    cpu[preset].append(time.process_time() - t0)
                    pred = run.component_predictions(frame)
                    runs[(preset, year, fold.name, seed)] = mse(run.predict(frame), y)
                    fallback = {n: c.fallback.predict(frame) for n, c in run.components.items()
                                if getattr(c, "history", False)}
                    if fallback:
                        no_history[(preset, year, fold.name, seed)] = mse(
                            sum((run.no_history_weights or run.weights).get(n, 0.0) * fallback.get(n, p)
                                for n, p in pred.items()), y)
                    comps[(preset, year, fold.name, seed)] = {**pred, "y": y, "ridge_ref": refs["ridge"],
                                                              "year": year}
                    if "ridge" in run.components:
                        alphas.setdefault(year, []).append(run.components["ridge"].alpha)
                    print(f"{year} {fold.name:11s} {preset:6s} seed {seed}: "
                          f"{runs[(preset, year, fold.name, seed)]:.4f} (ridge {runs[('ridge', year, fold.name, seed)]:.4f}) "
                          f"{cpu[preset][-1]:.1f} s CPU", flush=True)

    # Blend weights chosen on the selection folds only (all years, folds and seeds pooled).
    chosen = {}
    for preset in args.presets:
        weights = build_config(Config, PRESETS, preset).blend_weights
        if len(weights) < 2:
            continue
        records = [r for (p, _, f, _), r in comps.items() if p == preset and f != latest_name]
        w, score, loyo = choose_weights_shrunk(records, tuple(weights))
        blend = {}
        for year in args.years:
            lat = [r for (p, yr, f, _), r in comps.items() if p == preset and yr == year and f == latest_name]
            blend[year] = [mse(sum(w[c] * r[c] for c in w), r["y"]) for r in lat]
        comp_latest = {c: {year: np.mean([mse(r[c], r["y"]) for (p, yr, f, _), r in comps.items()
                                          if p == preset and yr == year and f == latest_name])
                           for year in args.years} for c in weights}
        # each component alone, scored as the blend is (mean MSE / ridge MSE, selection folds)
        comp_sel = {c: float(np.mean([mse(r[c], r["y"]) / mse(r["ridge_ref"], r["y"]) for r in records]))
                    for c in weights}
        chosen[preset] = (weights, w, score, blend, comp_latest, comp_sel, loyo)

    def cell(values: list[float]) -> str:
        return f"{np.mean(values):.4f} ± {np.std(values):.4f}"

    models = [*args.presets, *REFERENCES]
    names = {"ridge": "ridge (alpha by time CV)", "linreg": "LinearRegression",
             "persistence": "persistence (tomorrow = today)"}
    lines = [
        "## HW1 COVID-19: rolling-origin time validation (real 2021, 2022, 2023 train files)",
        "",
        f"Command: `python -m {' '.join(['benchmarks.hw1_timecv', *sys.argv[1:]])}`  ",
        f"Machine: {machine()}, numpy {np.__version__}, scikit-learn {sklearn.__version__}; "
        f"{torch.get_num_threads()} torch thread(s)  ",
        f"Seeds {list(seeds)} (an ensemble preset gets a different set of member seeds per repetition). "
        "Within each state, rows are ordered by id (= time, checked against the overlap of "
        "consecutive windows); a fold trains on every day before the cut and validates on the "
        "block after it. Selection folds (validation block as fractions of each state's days): "
        f"{', '.join(f'{a}-{b}' for a, b in SELECTION_FOLDS)}; latest fold (the test, each "
        f"state's last quarter): {latest_name}. References are deterministic (spread 0 over seeds). "
        "Ridge is standardised, on all non-id non-state columns, alpha by two inner time folds; "
        "LinearRegression on the same columns; persistence predicts yesterday's tested_positive.",
        "",
        "### Latest fold (test): MSE, mean ± std over seeds",
        "",
        "| model | " + " | ".join(args.years) + " | mean ratio to ridge |",
        "|---|" + "---|" * (len(args.years) + 1),
    ]
    for m in models:
        vals = {yr: [v for (mm, y2, f, _), v in runs.items() if mm == m and y2 == yr and f == latest_name]
                for yr in args.years}
        ratio = np.mean([np.mean(vals[yr]) / np.mean([v for (mm, y2, f, _), v in runs.items()
                                                      if mm == "ridge" and y2 == yr and f == latest_name])
                         for yr in args.years])
        lines.append(f"| {names.get(m, m)} | " + " | ".join(cell(vals[yr]) for yr in args.years)
                     + f" | {ratio:.3f} |")
    lines += ["", "### Issue 12 targets on the latest fold (mean over seeds)", ""]
    for preset, ref, need in (("boss", "ridge", 0.03), ("strong", "linreg", 0.0)):
        if preset not in args.presets:
            continue
        for yr in args.years:
            a = np.mean([v for (m, y2, f, _), v in runs.items() if m == preset and y2 == yr and f == latest_name])
            b = np.mean([v for (m, y2, f, _), v in runs.items() if m == ref and y2 == yr and f == latest_name])
            gain = 1 - a / b
            lines.append(f"- {yr}: {preset} {a:.4f} vs {names[ref]} {b:.4f}: {100 * gain:+.1f} % "
                         f"({'met' if gain >= need and gain > 0 else 'NOT met'}; target ≥ {100 * need:.0f} %"
                         f"{'' if need else ', i.e. better'})")
    for preset in args.presets:
        vals = {yr: [v for (p, y2, f, _), v in no_history.items() if p == preset and y2 == yr and f == latest_name]
                for yr in args.years}
        if any(vals.values()):
            ridge = {yr: np.mean([v for (m, y2, f, _), v in runs.items() if m == "ridge" and y2 == yr
                                  and f == latest_name]) for yr in args.years}
            lines.append(f"- {preset} without history (its no-history blend, with every history "
                         "component replaced by its no-history fallback, as on rows that no earlier row chains to, such as "
                         "every row of the course's test files but the first of a state in 2022): "
                         + ", ".join(f"{yr} {cell(vals[yr])} ({100 * (1 - np.mean(vals[yr]) / ridge[yr]):+.1f} % "
                                     "vs ridge)" for yr in args.years))
    lines += ["", "### Selection folds: MSE, mean ± std over seeds and folds", "",
              "| model | " + " | ".join(args.years) + " |", "|---|" + "---|" * len(args.years)]
    for m in models:
        lines.append(f"| {names.get(m, m)} | " + " | ".join(cell(
            [v for (mm, y2, f, _), v in runs.items() if mm == m and y2 == yr and f != latest_name])
            for yr in args.years) + " |")
    lines += ["", "### Blend weights, chosen on the selection folds only", "",
              "Non-negative least squares on the out-of-fold predictions of the selection folds "
              "(every fold, year and seed weighted by 1 / its ridge MSE, so the score is the mean "
              "of blend MSE / ridge MSE), shrunk towards equal weights: (1 - s) NNLS + s equal, "
              "with s chosen by leave-one-year-out (weights fitted on two years, scored on the "
              "third). The latest fold was not used. A component alone is scored the same way "
              "(ridge = 1).", "",
              "| preset | weights in PRESETS | weights chosen | leave-one-year-out score per shrinkage s "
              "| selection score | selection score per component "
              "| latest fold with the chosen weights | latest fold per component (mean over seeds) |",
              "|---|---|---|---|---|---|---|---|"]
    for preset, (used, w, score, blend, comp_latest, comp_sel, loyo) in chosen.items():
        same = all(abs(used.get(c, 0) - w[c]) < 1e-3 for c in w)  # w is rounded to 3 decimals
        lines.append(
            f"| {preset} | { {c: round(v, 3) for c, v in used.items()} } | {w}{'' if same else ' (differs: update PRESETS)'} | "
            + ", ".join(f"s={k:g}: {v:.4f}" for k, v in loyo.items()) + f" | {score:.4f} | "
            + ", ".join(f"{c} {v:.4f}" for c, v in comp_sel.items()) + " | "
            + ", ".join(f"{yr} {cell(blend[yr])}" for yr in args.years) + " | "
            + "; ".join(f"{c}: " + ", ".join(f"{comp_latest[c][yr]:.4f}" for yr in args.years)
                        for c in used) + " |")
    lines += ["", "### CPU time per training run (one fold's training part, s)", "",
              "| preset | mean | max |", "|---|---|---|"]
    for preset in args.presets:
        lines.append(f"| {preset} | {np.mean(cpu[preset]):.1f} | {np.max(cpu[preset]):.1f} |")
    if alphas:
        lines += ["", "Ridge alphas chosen by the inner time folds (boss's ridge component): "
                  + ", ".join(f"{yr}: {sorted(set(a))}" for yr, a in alphas.items())]
    write_report(args.out, [*lines, "", *tuning_section(args.out)])


if __name__ == "__main__":
    main()
