"""HW4 benchmark on the synthetic speaker set (CPU): per preset, training steps/s, validation
accuracy after the same number of steps (whole utterances vs 128-frame crops), batched masked
inference vs batch size 1 (speed-up and differing predictions; also without the mask), and
peak memory. Each preset runs in its own subprocess (clean peak-RSS, memory cap).

    python benchmarks/hw4_speaker_bench.py --steps 200 --out benchmarks/RESULTS_hw4.md
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.harness import machine, run_child, write_report  # noqa: E402


def run_one(variant: str, steps: int, segment_len: int, seed: int, threads: int) -> dict:
    """Train one preset (``name`` or ``name:field=value,...``) and measure it."""
    import torch

    from common.config import build_config
    from common.data import resolve_data_dir
    from common.datasets import voxceleb as vc
    from hw4_speaker import batches as batches_mod
    from hw4_speaker import models as M

    torch.set_num_threads(threads)
    from benchmarks.harness import parse_variant

    preset, overrides = parse_variant(variant)
    cfg = build_config(M.Config, M.PRESETS, preset, total_steps=steps, valid_steps=steps,
                       warmup_steps=max(1, steps // 10), segment_len=segment_len, seed=seed, **overrides)
    source = resolve_data_dir("hw4", "synthetic", seed=0)
    folder, synthetic = source.folder, source.synthetic
    data = vc.load_dataset(folder)
    store = vc.FeatureStore(data, preload=True)
    model, history = M.train_model(cfg, data, store, device="cpu", progress=False)
    _, valid_whole, valid_items = M.make_loaders(cfg, data, store)
    _, valid_crop, _ = M.make_loaders(cfg, data, store, valid_crop=128)
    labels = [y for *_, y in valid_items]
    t0 = time.perf_counter()
    acc_whole = M.accuracy(M.predict_logits(model, valid_whole, len(valid_items)), labels)
    t_valid = time.perf_counter() - t0  # fit validated once the same way: subtract it
    acc_crop = M.accuracy(M.predict_logits(model, valid_crop, len(valid_items)), labels)

    n = len(data.test)
    timings, preds = {}, {}
    for key, (bs, max_frames) in {"bs1": (1, None), "b32": (32, 32 * 1024), "b8": (8, 4096)}.items():
        batches = batches_mod.UtteranceBatches(store, data.test, batch_size=bs, max_frames=max_frames)
        t0 = time.perf_counter()
        preds[key] = M.predict_logits(model, batches, n)
        timings[key] = time.perf_counter() - t0
    p_single, p_batched = preds["bs1"], preds["b32"]
    p_nomask = M.predict_logits(model, batches_mod.UtteranceBatches(store, data.test, 32, 32 * 1024), n, use_mask=False)
    answers = vc.synthetic_test_labels(folder)
    names = [data.id2speaker[i] for i in p_batched.argmax(1).tolist()]
    return {
        "variant": variant, "params": sum(p.numel() for p in model.parameters()),
        "steps": steps, "train_steps_per_s": steps / (history.seconds - t_valid),
        "valid_whole": acc_whole, "valid_crop128": acc_crop,
        "test_synthetic": sum(a == answers[u] for (u, _), a in zip(data.test, names)) / n,
        "infer_bs1_s": timings["bs1"], "infer_b32_s": timings["b32"], "infer_b8_s": timings["b8"],
        "differ_b32": int((p_batched.argmax(1) != p_single.argmax(1)).sum()),
        "differ_b8": int((preds["b8"].argmax(1) != p_single.argmax(1)).sum()),
        "differ_unmasked": int((p_nomask.argmax(1) != p_single.argmax(1)).sum()),
        "max_prob_diff": max(float((preds[k] - p_single).abs().max()) for k in ("b32", "b8")),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "n_valid": len(valid_items), "n_test": n, "synthetic": synthetic,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--segment-len", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", nargs="+",
                        default=["simple", "medium", "strong", "boss", "boss:pooling=mean"])
    parser.add_argument("--mem-gb", type=float, default=6.0, help="address-space cap per run")
    parser.add_argument("--out", default=None, help="markdown file for the results")
    parser.add_argument("--append", action="store_true", help="append to --out (a second run)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # run_child has capped its address space at --mem-gb
        print(json.dumps(run_one(args.child, args.steps, args.segment_len, args.seed, args.threads)))
        return 0

    command = "python " + " ".join([str(Path(sys.argv[0]).as_posix())] + sys.argv[1:])
    load_before = os.getloadavg()
    rows = []
    for variant in args.variants:
        t0 = time.time()
        child = run_child(__file__, [variant, "--steps", args.steps, "--segment-len", args.segment_len,
                                     "--threads", args.threads, "--seed", args.seed],
                          mem_cap_gb=args.mem_gb)
        if not child.ok:
            print(child.stderr[-3000:], file=sys.stderr)
            return child.returncode or 1
        rows.append(child.record)
        print(f"{variant}: {time.time() - t0:.0f} s  {rows[-1]}", flush=True)
    load_after = os.getloadavg()

    r0 = rows[0]
    lines = [
        "## A second run: " + ", ".join(args.variants) if args.append else
        "# HW4 speaker classification: benchmarks (synthetic data, CPU)", "",
        f"Command: `{command}`", "",
        f"Machine: {machine()}. The machine was shared with other jobs during the run "
        f"(load average {load_before[0]:.1f} before, {load_after[0]:.1f} after); torch threads per run: "
        f"{args.threads}. Absolute times are noisy; the ratios within a row are measured side by side.", "",
        f"Data: the **synthetic** HW4 set (seed 0): {r0['n_valid']} validation and {r0['n_test']} test "
        "utterances, speaker-stratified split. These accuracies say nothing about the Kaggle score.", "",
        f"Every variant: the preset's architecture and optimiser, {args.steps} training steps "
        f"(batch size per preset, warm-up {max(1, args.steps // 10)} steps + cosine to 0 over the "
        f"{args.steps} steps), training crops of {args.segment_len} frames for all (the GPU presets "
        "use 256 for medium/strong/boss), training seed "
        f"{args.seed}. `boss:pooling=mean` is boss with mean instead of attention pooling.", "",
        "## Training speed, accuracy after the same number of steps, peak memory", "",
        "| variant | parameters | train steps/s | valid acc, whole utterances | valid acc, 128-frame centre crops | synthetic test acc | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['params']:,} | {r['train_steps_per_s']:.2f} | "
                     f"{r['valid_whole']:.4f} | {r['valid_crop128']:.4f} | {r['test_synthetic']:.4f} | "
                     f"{r['peak_rss_mb']:.0f} |")
    lines += [
        "", "## Batched masked inference vs batch size 1 (test set)", "",
        "Batched = length-bucketed padded batches with the padding mask: B32 = up to 32 utterances "
        "and 32,768 padded frames per batch, B8 = up to 8 utterances and 4,096 frames. Speed-up = "
        "time at batch size 1 / batched time. 'Differing' counts test utterances whose predicted "
        "speaker differs from batch size 1; 'without mask' is the B32 run with the mask dropped "
        "(padding read as frames, the trap).", "",
        "| variant | batch size 1 (s) | B32 (s) | B32 speed-up | B8 (s) | B8 speed-up | differing B32 / B8 (masked) | max abs prob. difference | differing without mask |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['infer_bs1_s']:.2f} | {r['infer_b32_s']:.2f} | "
                     f"{r['infer_bs1_s'] / r['infer_b32_s']:.2f}x | {r['infer_b8_s']:.2f} | "
                     f"{r['infer_bs1_s'] / r['infer_b8_s']:.2f}x | {r['differ_b32']} / {r['differ_b8']} of {r['n_test']} | "
                     f"{r['max_prob_diff']:.1e} | {r['differ_unmasked']} / {r['n_test']} |")
    lines += ["", "Raw records:", "", "```json", *(json.dumps(r) for r in rows), "```", ""]
    text = "\n".join(lines)
    path = (REPO / args.out if not Path(args.out).is_absolute() else Path(args.out)) if args.out else None
    # a second run's sections nest under the first run's headings
    write_report(path, text.replace("\n## ", "\n### ") if args.append else text, append=args.append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
