"""HW2: validation accuracy and end-to-end time per preset on the default synthetic libriphone
set, over several seeds, by running the notebook itself (papermill) once per preset and seed.

    python benchmarks/hw2_presets.py --num-epoch 10 --seeds 0 1 2 --jobs 2 --forward-only
    python benchmarks/hw2_presets.py --num-epoch 10 --seeds 0 1 2 --jobs 2 --presets \
        --widths 1 5 11 19 31 --out benchmarks/RESULTS_hw2_widths.md

Every preset trains ``--num-epoch`` epochs (the same number of passes over the data for all, a
fraction of the presets' own 5-30) on ``--max-train-utts`` training utterances (default: all
320 of the seed-1337 80/20 split); the 80 validation utterances, the models and all other
hyper-parameters are the presets' own. ``--forward-only`` adds the boss model with its LSTM run
forward in time only (same size per direction): the ablation that isolates the right context.
``--widths`` adds the medium MLP at other window widths (``concat_nframes``), all else equal.
Synthetic numbers only: they show how the presets compare, not Kaggle scores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import machine, write_report  # noqa: E402
from common.config import PRESETS as PRESET_NAMES  # noqa: E402
from common.data import synthetic_data_dir  # noqa: E402
from common.paths import REPO_ROOT  # noqa: E402
from common.reproduce import run_notebook  # noqa: E402

FORWARD_ONLY = "boss, forward-only"


def describe_model(c: dict) -> str:
    if c["model"] == "birnn":
        kind = "BiLSTM" if c["bidirectional"] else "forward LSTM"
        return f"{kind} {c['hidden_layers']}x{c['hidden_dim']}"
    return (f"MLP {c['hidden_layers'] + 1}x{c['hidden_dim']}" + (" +BN" if c["batchnorm"] else "")
            + (f" +dropout {c['dropout']}" if c["dropout"] else ""))


def mean_std(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="*", default=list(PRESET_NAMES))
    parser.add_argument("--forward-only", action="store_true",
                        help="also run the boss model with a forward-only LSTM")
    parser.add_argument("--widths", nargs="*", type=int, default=[],
                        help="also run the medium MLP with these concat_nframes")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--num-epoch", type=int, default=10)
    parser.add_argument("--max-train-utts", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--jobs", type=int, default=1, help="notebook runs at the same time")
    parser.add_argument("--out", default=str(Path(__file__).with_name("RESULTS_hw2_presets.md")))
    parser.add_argument("--runs", default=str(REPO_ROOT / "outputs" / "bench_hw2"))
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # inherited by the notebook kernels

    variants = [(p, p, {}) for p in args.presets]
    if args.forward_only:
        variants.append((FORWARD_ONLY, "boss", {"bidirectional": False}))
    variants += [(f"medium, {w} frames", "medium", {"concat_nframes": w}) for w in args.widths]

    def run(job: tuple[str, str, dict, int]) -> tuple[str, int, dict, float]:
        name, preset, extra, seed = job
        t0 = time.perf_counter()
        folder = Path(args.runs) / f"{name.replace(', ', '-')}-seed{seed}"
        m = run_notebook("hw2", preset, folder, data="synthetic",
                         overrides={"num_epoch": args.num_epoch, "seed": seed,
                                    "max_train_utts": args.max_train_utts, **extra})
        wall = time.perf_counter() - t0
        print(f"{name} seed {seed}: valid acc {m['value']:.4f} (raw {m['valid_accuracy_raw']:.4f}), "
              f"{m['train_seconds']:.0f} s training, {wall:.0f} s end to end", flush=True)
        return name, seed, m, wall

    synthetic_data_dir("hw2")  # written once here, not by several runs at the same time
    jobs = [(name, preset, extra, seed) for name, preset, extra in variants for seed in args.seeds]
    with ThreadPoolExecutor(args.jobs) as pool:  # each run is its own kernel process
        results = list(pool.map(run, jobs))
    by_name: dict[str, list[tuple[int, dict, float]]] = {}
    for name, seed, m, wall in results:
        by_name.setdefault(name, []).append((seed, m, wall))

    first = results[0][2]
    command = (f"python benchmarks/hw2_presets.py --num-epoch {args.num_epoch} --seeds "
               f"{' '.join(map(str, args.seeds))} --jobs {args.jobs} --threads {args.threads}"
               + (f" --max-train-utts {args.max_train_utts}" if args.max_train_utts else "")
               + (" --forward-only" if args.forward_only else "")
               + (f" --presets {' '.join(args.presets)}" if args.presets != list(PRESET_NAMES) else "")
               + (f" --widths {' '.join(map(str, args.widths))}" if args.widths else ""))
    lines = [
        "# HW2: accuracy and time per preset (SYNTHETIC data, reduced budget, several seeds)",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {machine()}; {args.threads} torch thread(s) per run, {args.jobs} run(s) at a "
        f"time; shared with other jobs. Each run is one papermill execution of "
        f"`hw2_phoneme/hw2_phoneme.ipynb` with `data_source='synthetic'` (the default synthetic "
        f"set: 400 training + 100 test utterances), `num_epoch={args.num_epoch}` and "
        f"{first['train_utterances']} training utterances; the 80 validation utterances of the "
        f"seed-1337 utterance split are the same for every run, the seed changes initialisation "
        f"and batch order. Everything else is the preset's. **Not the presets' full runs and not "
        f"Kaggle scores.**",
        "",
        "| preset | model | concat | params | seeds | valid acc raw (mean ± std) | smoothed | "
        "per seed (raw) | training s/run | end to end s/run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    raw: dict[str, dict[int, float]] = {}
    for name, runs in by_name.items():
        c, m0 = runs[0][1]["config"], runs[0][1]
        raw[name] = {seed: m["valid_accuracy_raw"] for seed, m, _ in runs}
        smoothed = [m["value"] for _, m, _ in runs]
        min_runs = sorted({m["min_run"] for _, m, _ in runs})
        lines.append(
            f"| {name} | {describe_model(c)} | {c['concat_nframes']} | {m0['n_params']:,} | "
            f"{len(runs)} | {mean_std(list(raw[name].values()))} | {mean_std(smoothed)} "
            f"(min_run {', '.join(map(str, min_runs))}) | "
            f"{', '.join(f'{v:.4f}' for v in raw[name].values())} | "
            f"{statistics.mean(m['train_seconds'] for _, m, _ in runs):.0f} | "
            f"{statistics.mean(w for _, _, w in runs):.0f} |")

    def paired(a: str, b: str) -> str | None:
        if a not in raw or b not in raw:
            return None
        diffs = [raw[a][s] - raw[b][s] for s in args.seeds]
        return (f"- {a} − {b} (raw accuracy, same seed): "
                + ", ".join(f"{d:+.4f}" for d in diffs)
                + f"; ahead in {sum(d > 0 for d in diffs)} of {len(diffs)} seeds")

    widths = [f"medium, {w} frames" for w in args.widths]
    comparisons = [paired("medium", "simple"), paired("strong", "medium"),
                   paired("boss", "strong"), paired("boss", FORWARD_ONLY),
                   *(paired(b, a) for a, b in zip(widths, widths[1:]))]
    lines += ["", "Paired differences:", ""] + [c for c in comparisons if c]
    lines += ["", "Smoothed = predicted runs shorter than `min_run` frames merged into a neighbour; "
              "the boss preset picks `min_run` on the validation split itself (slightly "
              "optimistic), the others use 1 (off)."]
    write_report(args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
