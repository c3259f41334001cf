"""HW2: validation accuracy and end-to-end time per preset, on the default synthetic libriphone
set, by running the notebook itself (papermill) once per preset with the same reduced budget.

    python benchmarks/hw2_presets.py --num-epoch 3 --max-train-utts 80

Reduced on purpose (CPU, shared machine): every preset trains ``--num-epoch`` epochs on the first
``--max-train-utts`` training utterances of the official-seed split; the validation utterances,
the models and all other hyper-parameters are the presets' own. Synthetic numbers only: they
show the ordering of the presets, not Kaggle scores.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.config import PRESETS as PRESET_NAMES  # noqa: E402
from common.config import cpu_model  # noqa: E402
from common.io import write_report  # noqa: E402
from common.paths import REPO_ROOT  # noqa: E402
from common.reproduce import run_notebook  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESET_NAMES))
    parser.add_argument("--num-epoch", type=int, default=3)
    parser.add_argument("--max-train-utts", type=int, default=80)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(Path(__file__).with_name("RESULTS_hw2_presets.md")))
    parser.add_argument("--runs", default=str(REPO_ROOT / "outputs" / "bench_hw2"))
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # inherited by the notebook kernel
    rows = []
    for preset in args.presets:
        t0 = time.perf_counter()
        m = run_notebook("hw2", preset, Path(args.runs) / preset, data="synthetic",
                         overrides={"num_epoch": args.num_epoch,
                                    "max_train_utts": args.max_train_utts})
        wall = time.perf_counter() - t0
        c = m["config"]
        print(f"{preset}: valid acc {m['value']:.4f} (raw {m['valid_accuracy_raw']:.4f}), "
              f"{m['train_seconds']:.0f} s training, {wall:.0f} s end to end", flush=True)
        rows.append((preset, c, m, wall))
    cpu = cpu_model()
    mem = next((int(ln.split()[1]) / 2**20 for ln in open("/proc/meminfo") if ln.startswith("MemTotal")), 0)
    lines = [
        "# HW2: accuracy and time per preset (SYNTHETIC data, reduced budget)",
        "",
        f"Command: `python benchmarks/hw2_presets.py --num-epoch {args.num_epoch} "
        f"--max-train-utts {args.max_train_utts} --threads {args.threads}`",
        "",
        f"Machine: {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, no GPU, {args.threads} "
        f"torch thread(s), python {platform.python_version()}; shared with other jobs during the "
        f"run. Each row is one papermill run of `hw2_phoneme/hw2_phoneme.ipynb` with "
        f"`data_source='synthetic'` (default synthetic set: 400 training + 100 test utterances), "
        f"`num_epoch={args.num_epoch}`, `max_train_utts={args.max_train_utts}` (the first "
        f"{args.max_train_utts} training utterances of the seed-1337 80/20 utterance split; the "
        f"80 validation utterances are the same for every preset). Everything else is the "
        f"preset's. **These are not the presets' full runs and not Kaggle scores.**",
        "",
        "| preset | model | concat | epochs run | train utts | params | valid acc (raw) | valid acc (smoothed, min_run) | training (s) | end to end (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for preset, c, m, wall in rows:
        model = (f"BiLSTM {c['hidden_layers']}x{c['hidden_dim']}" if c["model"] == "birnn"
                 else f"MLP {c['hidden_layers'] + 1}x{c['hidden_dim']}"
                 + (" +BN" if c["batchnorm"] else "") + (f" +dropout {c['dropout']}" if c["dropout"] else ""))
        lines.append(f"| {preset} | {model} | {c['concat_nframes']} | {c['num_epoch']} | "
                     f"{m['train_utterances']} | {m['n_params']:,} | {m['valid_accuracy_raw']:.4f} | "
                     f"{m['value']:.4f} ({m['min_run']}) | {m['train_seconds']:.0f} | {wall:.0f} |")
    lines += ["", "Smoothed = predicted runs shorter than `min_run` frames merged into a neighbour; "
              "the boss preset picks `min_run` on the validation split itself (slightly optimistic), "
              "the others use 1 (off)."]
    text = "\n".join(lines) + "\n"
    write_report(args.out, text)
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
