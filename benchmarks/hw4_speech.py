"""HW4 on the espeak-ng speech-like ``Dataset/``: every preset trained for the same number of
steps, over several seeds; whole-utterance validation accuracy, hidden-test accuracy, steps/s.

    python benchmarks/hw4_speech.py --steps 400 --seeds 0 1 2 --out benchmarks/RESULTS_hw4_speech.md

Each run is ``hw4_speaker.models.train_model`` (what the notebook calls) with the preset's
``Config`` and ``total_steps=--steps``, warm-up ``steps // 10``, validation every
``steps // 4`` (the best of those is kept, as in the notebook) on the seed's speaker-stratified
10 % split. The hidden test answers are scored once at the end, never used for any choice. One
torch thread, runs one after another. The data folder is written first when absent
(``python -m benchmarks.speech_data hw4 --out DIR --seed 0``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.harness import append_record, read_records  # noqa: E402  (after the path)


def run_one(variant: str, data_dir: Path, steps: int, seed: int, batch_size: int | None,
            segment_len: int | str | None = None) -> dict:
    """One training run; ``segment_len="cpu"``: the crop of the preset's CPU budget
    (``M.cpu_budget``), what the notebook trains without CUDA. A crop in the variant wins."""
    from benchmarks.harness import parse_variant
    from common.config import build_config
    from common.datasets import voxceleb as vc
    from hw4_speaker import batches as batches_mod
    from hw4_speaker import models as M

    preset, overrides = parse_variant(variant)
    if segment_len == "cpu":
        segment_len = M.cpu_budget(preset)["segment_len"]
    segment_len = overrides.pop("segment_len", segment_len)
    cfg = build_config(M.Config, M.PRESETS, preset, total_steps=steps,
                       valid_steps=max(1, steps // 4), warmup_steps=max(1, steps // 10),
                       seed=seed, batch_size=batch_size, segment_len=segment_len,
                       **overrides)
    data = vc.load_dataset(data_dir)
    store = vc.FeatureStore(data, preload=True)
    model, history = M.train_model(cfg, data, store, device="cpu", progress=False)
    _, valid, valid_items = M.make_loaders(cfg, data, store)
    labels = [y for *_, y in valid_items]
    t0 = time.perf_counter()
    acc_valid = M.accuracy(M.predict_logits(model, valid, len(valid_items)), labels)
    t_valid = time.perf_counter() - t0
    batches = batches_mod.UtteranceBatches(store, data.test, cfg.eval_batch_size, cfg.eval_max_frames)
    probs = M.predict_logits(model, batches, len(data.test))
    answers = vc.synthetic_test_labels(data_dir)
    names = [data.id2speaker[i] for i in probs.argmax(1).tolist()]
    n_valid_passes = len(history.valid_metric)
    train_s = history.seconds - n_valid_passes * t_valid
    return {"variant": variant, "seed": seed, "steps": steps, "batch_size": cfg.batch_size,
            "segment_len": cfg.segment_len, "params": sum(p.numel() for p in model.parameters()),
            "valid_whole": acc_valid, "best_pass": history.best_epoch + 1,
            "curve": [round(v, 4) for v in history.valid_metric],
            "test": sum(a == answers[u] for (u, _), a in zip(data.test, names)) / len(data.test),
            "seconds": history.seconds, "s_per_step": train_s / steps,
            "n_valid": len(valid_items), "n_test": len(data.test)}


def planned(variant: str, batch_size: int | None, segment_len: int | str | None) -> tuple[int, int]:
    """``(batch_size, segment_len)`` that :func:`run_one` would train ``variant`` with."""
    from benchmarks.harness import parse_variant
    from common.config import build_config
    from hw4_speaker import models as M

    preset, overrides = parse_variant(variant)
    if segment_len == "cpu":
        segment_len = M.cpu_budget(preset)["segment_len"]
    segment_len = overrides.pop("segment_len", segment_len)
    cfg = build_config(M.Config, M.PRESETS, preset, batch_size=batch_size, segment_len=segment_len,
                       **overrides)
    return cfg.batch_size, cfg.segment_len


def budget_minutes(r: dict) -> float:
    """Minutes of a CPU-budget run (``M.CPU_STEPS`` steps) at this record's s/step and
    validation cost (the budget validates as often: every ``steps // 4``)."""
    from hw4_speaker import models as M

    validation = r["seconds"] - r["s_per_step"] * r["steps"]
    return (r["s_per_step"] * M.CPU_STEPS + validation) / 60


def tuning_section(path: Path, title: str = "Tuning runs (before the final run; validation only)",
                   show_test: bool = False) -> list[str]:
    """The tuning runs, grouped by their command: validation accuracy per seed (test answers
    are not shown: they were never looked at for a choice; ``show_test`` for runs made after
    every choice, e.g. a check at a longer budget)."""
    records = read_records(path)
    lines = [f"## {title}", "",
             f"Records: `{path.relative_to(REPO) if path.is_relative_to(REPO) else path}`, "
             "one JSON line per run with its command. Same data, seeds and splits as the final run.", ""]
    commands: dict[str, list[dict]] = {}
    for r in records:
        commands.setdefault(r["command"], []).append(r)
    for command, rs in commands.items():
        lines += [f"`{command}`", "", "| variant | steps | crop | valid acc per seed | mean | "
                  + ("test acc (hidden answers), mean | " if show_test else "") + "s / step |",
                  "|---|---|---|---|---|---|" + ("---|" if show_test else "")]
        by: dict[str, list[dict]] = {}
        for r in rs:
            by.setdefault(r["variant"], []).append(r)
        for name, vs in by.items():
            vs = sorted(vs, key=lambda r: r["seed"])
            lines.append(f"| {name} | {vs[0]['steps']} | {vs[0]['segment_len']} | "
                         + ", ".join(f"{r['valid_whole']:.4f} (seed {r['seed']})" for r in vs)
                         + f" | {statistics.mean(r['valid_whole'] for r in vs):.4f} | "
                         + (f"{statistics.mean(r['test'] for r in vs):.4f} | " if show_test else "")
                         + f"{statistics.mean(r['s_per_step'] for r in vs):.2f} |")
        lines.append("")
    return lines



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(REPO / "data" / "synthetic" / "Dataset-speech-seed0"))
    parser.add_argument("--variants", nargs="+", default=["simple", "medium", "strong", "boss"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the preset's")
    parser.add_argument("--segment-len", type=lambda v: v if v == "cpu" else int(v), default=None,
                        help="default: the preset's; 'cpu': the crop of the preset's CPU budget "
                             "(M.cpu_budget, what the notebook trains without CUDA)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None)
    parser.add_argument("--jsonl", default=None, help="append one JSON record per run here")
    parser.add_argument("--reuse", default=None,
                        help="records (JSON lines) of an earlier run: a run with the same variant, "
                             "seed, steps, batch size and crop is taken from there, not trained again")
    parser.add_argument("--from-jsonl", default=None,
                        help="train nothing: write the report from these records (an interrupted run)")
    parser.add_argument("--tuning", default=None,
                        help="records (JSON lines with their 'command') of the tuning runs: listed "
                             "after the final table, per command, validation only")
    parser.add_argument("--checks", default=None,
                        help="records (JSON lines with their 'command') of runs made after the final "
                             "one (e.g. at the CPU budget's steps): listed last, with test accuracy")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    data_dir = Path(args.data)
    if not (data_dir / "metadata.json").is_file():
        from benchmarks.speech_data import write_hw4

        print(f"writing the speech-like set into {data_dir} ...", flush=True)
        write_hw4(data_dir, seed=0, progress=True)
    command = "python " + " ".join(["benchmarks/hw4_speech.py"] + sys.argv[1:])
    load_before = os.getloadavg()
    t_all = time.time()
    rows = []
    if args.from_jsonl:
        rows = read_records(args.from_jsonl)
        command += f"  (report from the {len(rows)} records of an interrupted run)"
    earlier = read_records(args.reuse) if args.reuse else []
    n_reused = 0
    for seed in args.seeds if not args.from_jsonl else []:  # seed by seed: an interrupted run still has every preset
        for variant in args.variants:
            same = [e for e in earlier if (e["variant"], e["seed"], e["steps"]) == (variant, seed, args.steps)
                    and planned(variant, args.batch_size, args.segment_len) == (e["batch_size"], e["segment_len"])]
            if same:
                r = {"reused_from": args.reuse} | {k: v for k, v in same[-1].items() if k != "command"}
                n_reused += 1
            else:
                r = run_one(variant, data_dir, args.steps, seed, args.batch_size, args.segment_len)
            rows.append(r)
            print(json.dumps(r), flush=True)
            append_record(args.jsonl, r | {"command": command})
    if n_reused:
        command += (f"  ({n_reused} of the {len(rows)} runs taken from {args.reuse}, an earlier run of the "
                    "same code for those presets on the same data, seeds, steps, batch and crop)")
    trained = [r for r in rows if "reused_from" not in r]
    total = time.time() - t_all if not args.from_jsonl else sum(r["seconds"] for r in rows)
    if not args.out:
        return 0
    from benchmarks.harness import shared_machine, spread, write_report
    from benchmarks.speech_data import folder_summary
    from hw4_speaker import models as M

    summary = folder_summary(data_dir)
    r0 = rows[0]
    lines = [
        "# HW4 on SYNTHETIC SPEECH (espeak-ng), presets at equal steps", "",
        f"Command: `{command}`", "",
        shared_machine(args.threads, load_before[0], total / 60)
        + (f" Of the {len(rows)} runs, {len(trained)} were trained by this command (the whole-benchmark "
           "minutes and load averages are this command's); the others are records of the earlier run "
           "named in the command, whose times were measured then, on that run's machine and load "
           "(the records' `reused_from` names where they were first written)." if len(trained) < len(rows) else ""), "",
        f"Data: `python -m benchmarks.speech_data hw4 --out {args.data} --seed 0` plus the spec below (speakers = "
        "espeak-ng voice families with their own pitch/range/speed/formant warp; each recording "
        "1-3 sentences with silence / noise bursts / tones between them, a competing talker in "
        "20 %, per-recording channel colouring and 0-25 dB noise; 40-dim log-mel as the course's "
        f"wav2mel). written with {summary}. Validation: the seed's speaker-stratified "
        f"10 % ({r0['n_valid']} utterances), whole utterances; test: {r0['n_test']} utterances "
        "with hidden answers, scored once per run.", "",
        f"Reduced budget: **{args.steps} steps for every preset** (the course's 70,000-100,000), "
        f"warm-up {max(1, args.steps // 10)} steps then cosine to 0, validation every "
        f"{max(1, args.steps // 4)} steps keeping the best; 1 CPU thread. Batch size and crop "
        "length are each preset's own unless the command overrides them (`--segment-len cpu`: the "
        "crop each preset trains with under the notebook's CPU budget, `M.cpu_budget(preset)`).", "",
        "| variant | params | batch | crop | seeds | valid acc, mean ± std [min, max] | test acc "
        f"(hidden answers) | per seed (valid) | s / step | CPU budget ({M.CPU_STEPS:,} steps), min |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["variant"], []).append(r)
    for name, rs in by.items():
        m = rs[0]
        lines.append(
            f"| {name} | {m['params']:,} | {m['batch_size']} | {m['segment_len']} | {len(rs)} | "
            f"{spread([r['valid_whole'] for r in rs])} | "
            f"{statistics.mean(r['test'] for r in rs):.4f} | "
            f"{', '.join(format(r['valid_whole'], '.4f') for r in rs)} | "
            f"{statistics.mean(r['s_per_step'] for r in rs):.2f} | "
            f"{statistics.mean(budget_minutes(r) for r in rs):.0f} |")

    def paired(a: str, b: str) -> str | None:
        if a not in by or b not in by:
            return None
        va = {r["seed"]: r["valid_whole"] for r in by[a]}
        vb = {r["seed"]: r["valid_whole"] for r in by[b]}
        d = [va[s] - vb[s] for s in va if s in vb]
        return (f"- {a} − {b} (valid, same seed and split): " + ", ".join(f"{x:+.4f}" for x in d)
                + f"; mean {statistics.mean(d):+.4f}")

    comps = [paired("medium", "simple"), paired("strong", "medium"), paired("boss", "strong"),
             paired("boss", "simple")]
    lines += ["", "Paired differences:", ""] + [c for c in comps if c]
    lines += ["", "Targets (issue 13; mean over seeds of the validation accuracy, same seeds and splits):", ""]
    for a, b, need in (("medium", "simple", 0.0), ("strong", "medium", 0.0), ("boss", "strong", 0.0),
                       ("boss", "simple", 0.10)):
        if a in by and b in by:
            va = {r["seed"]: r["valid_whole"] for r in by[a]}
            d = [va[r["seed"]] - r["valid_whole"] for r in by[b] if r["seed"] in va]
            verdict = "holds" if statistics.mean(d) > need else "FAILS"
            lines.append(f"- {a} > {b}{f' + {need:.2f}' if need else ''}: {verdict} (mean "
                         f"{statistics.mean(d):+.4f}; ahead in {sum(x > need for x in d)} of {len(d)} seeds)")
    lines += ["", "s / step = training time (fit's wall time minus its validation passes) / steps. "
              f"CPU budget = the notebook's default without CUDA (`M.CPU_BUDGET`: {M.CPU_BUDGET}; "
              f"per preset on top of it, `M.CPU_BUDGET_PER_PRESET`: {M.CPU_BUDGET_PER_PRESET}), "
              f"extrapolated from this run: s / step x {M.CPU_STEPS:,} + the same validation passes.",
              "", "Raw records:", "", "```json", *(json.dumps(r) for r in rows), "```", ""]
    if args.tuning:
        lines += tuning_section(Path(args.tuning))
    if args.checks:
        lines += tuning_section(Path(args.checks), "Checks after the final run (no choice was made on them)",
                                show_test=True)
    write_report(REPO / args.out if not Path(args.out).is_absolute() else Path(args.out), lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
