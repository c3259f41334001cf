"""HW2 on the espeak-ng speech-like libriphone set: every preset and a plain whole-utterance
2-layer BiLSTM-256 reference, trained for the same number of epochs, over several seeds.

    python benchmarks/hw2_speech.py --num-epoch 6 --seeds 0 1 2 --out benchmarks/RESULTS_hw2_speech.md

Each run trains the model exactly as the notebook does (the preset's ``Config`` from
``hw2_phoneme/models.py``, the official seed-1337 utterance split, AdamW, the preset's
scheduler, ``common.train.fit`` keeping the best epoch by validation accuracy), but with
``--num-epoch`` epochs for every variant. Accuracy is the validation split's: raw argmax, after
run-length smoothing (``min_run`` 1..6 when the preset tunes it), after Viterbi decoding with the
training labels' phone transitions (every run, weight chosen on validation), and as the variant
decodes (the notebook's choice on validation among the decodings its config allows); the hidden
test answers are scored at the end and reported, never used for any choice. One torch thread per run, runs one
after another. The data folder is written first when absent
(``python -m benchmarks.speech_data hw2 --out DIR --seed 0``).
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

REFERENCE = "bilstm-2x256"
# The optimiser settings the reference copies from boss, so that boss can only win by its design.
OPTIMISER_KEYS = ("learning_rate", "weight_decay", "batch_size", "num_epoch", "scheduler",
                  "grad_clip")


def reference_overrides() -> dict:
    """The plain reference: nn.LSTM(39, 256, num_layers=2, bidirectional=True) over whole
    utterances (run as BiRNN's padded forward/backward nn.LSTM modules, identical to a packed
    nn.LSTM), a linear layer per frame, no front end, no LayerNorm or residual layers, no
    dropout, no label smoothing, no run-length smoothing or Viterbi decoding; boss's optimiser
    settings (``OPTIMISER_KEYS``)."""
    from hw2_phoneme.models import PRESETS

    boss = PRESETS["boss"]
    return dict(model="birnn", concat_nframes=1, front_dim=0, hidden_layers=2, hidden_dim=256,
                dropout=0.0, rnn="lstm", label_smoothing=0.0, tune_min_run=False, min_run=1,
                rnn_norm=False, rnn_residual=False, head_dim=0, front_raw=False, viterbi=False,
                **{k: boss[k] for k in OPTIMISER_KEYS if k in boss})

# Config fields that later versions added; a record without one was run before it existed, i.e.
# with its default (checked when a record is reused).
ADDED_LATER = ("rnn_residual", "rnn_norm", "head_dim", "front_raw", "time_masks",
               "time_mask_width", "feat_masks", "feat_mask_width", "input_noise", "viterbi",
               "n_models")


def variant_config(variant: str, num_epoch: int, seed: int):
    """The ``Config`` a variant runs with: a preset (or the reference) plus its overrides."""
    from benchmarks.harness import parse_variant
    from common.config import build_config
    from hw2_phoneme.models import PRESETS, Config

    preset, overrides = parse_variant(variant)
    if preset == REFERENCE:
        return build_config(Config, {REFERENCE: reference_overrides()}, REFERENCE,
                            num_epoch=num_epoch, seed=seed, **overrides)
    return build_config(Config, PRESETS, preset, num_epoch=num_epoch, seed=seed, **overrides)


def config_fields(cfg) -> dict:
    """The configuration part of a run record."""
    return {"model": cfg.model, "rnn": cfg.rnn, "front_skip": cfg.front_skip,
            "concat": cfg.concat_nframes, "layers": cfg.hidden_layers,
            "hidden": cfg.hidden_dim, "front_dim": cfg.front_dim, "front_layers": cfg.front_layers,
            "dropout": cfg.dropout, "label_smoothing": cfg.label_smoothing,
            "rnn_residual": cfg.rnn_residual, "rnn_norm": cfg.rnn_norm, "head_dim": cfg.head_dim,
            "front_raw": cfg.front_raw, "time_masks": cfg.time_masks,
            "time_mask_width": cfg.time_mask_width, "feat_masks": cfg.feat_masks,
            "feat_mask_width": cfg.feat_mask_width, "input_noise": cfg.input_noise,
            "viterbi": cfg.viterbi, "n_models": cfg.n_models,
            "optimiser": {k: getattr(cfg, k) for k in OPTIMISER_KEYS if k != "num_epoch"}}


def record_data(record: dict) -> str | None:
    """The data folder a record was measured on (older records: from its command)."""
    command = record.get("command", "")
    return record.get("data") or (command.split("--data ", 1)[1].split()[0]
                                  if "--data " in command else None)


def reusable(record: dict, variant: str, data_dir: Path, num_epoch: int, seed: int,
             max_train_utts: int | None) -> str | None:
    """Why an earlier record cannot stand for this run, or None when it can: the same variant,
    seed, epochs, data folder, training/validation utterances and frames, parameter count and
    every recorded config field (fields added later must be at their defaults)."""
    import torch

    from common.datasets.libriphone import load_libriphone
    from hw2_phoneme.batches import split_by_utterance
    from hw2_phoneme.models import Config, build_model

    cfg = variant_config(variant, num_epoch, seed)
    want = config_fields(cfg)
    defaults = Config()
    for key, value in want.items():
        old = record.get(key, getattr(defaults, key) if key in ADDED_LATER else None)
        if old != value:
            return f"{key}: {old!r} recorded, {value!r} now"
    data = record_data(record)
    if data is None or Path(data).resolve() != data_dir.resolve():
        return f"data {data!r}, not {str(data_dir)!r}"
    train_all = load_libriphone(data_dir, "train")
    train_utts, valid_utts = split_by_utterance(len(train_all), cfg.train_ratio, cfg.split_seed)
    train_utts = train_utts[:max_train_utts] if max_train_utts else train_utts
    torch.manual_seed(0)
    now = {"variant": variant, "seed": seed, "epochs": num_epoch,
           "train_utts": len(train_utts), "valid_utts": len(valid_utts),
           "train_frames": int(train_all.lengths[train_utts].sum()),
           "params": cfg.n_models * sum(p.numel() for p in build_model(cfg).parameters())}
    for key, value in now.items():
        if record.get(key) != value:
            return f"{key}: {record.get(key)!r} recorded, {value!r} now"
    return None


def run_one(variant: str, data_dir: Path, num_epoch: int, seed: int,
            max_train_utts: int | None) -> dict:
    from dataclasses import replace

    import numpy as np
    import torch

    from benchmarks.speech_data import synthetic_test_labels_hw2
    from common.datasets.libriphone import load_libriphone
    from hw2_phoneme.batches import split_by_utterance
    from hw2_phoneme.models import (
        decoding_name,
        decodings,
        mean_log_posteriors,
        member_seeds,
        predict_logits,
        score_decodings,
        train_model,
        transition_log_probs,
        utterance_labels,
    )

    cfg = variant_config(variant, num_epoch, seed)
    train_all = load_libriphone(data_dir, "train")
    test = load_libriphone(data_dir, "test")
    train_utts, valid_utts = split_by_utterance(len(train_all), cfg.train_ratio, cfg.split_seed)
    if max_train_utts:
        train_utts = train_utts[:max_train_utts]
    # As the notebook: the ensemble's models one after another, their posteriors averaged.
    trained = [train_model(replace(cfg, seed=s), train_all, train_utts, valid_utts, progress=False)
               for s in member_seeds(cfg)]
    models = [m for m, _ in trained]
    history = trained[0][1]
    seconds = sum(h.seconds for _, h in trained)

    def predict(data, utts=None):
        return mean_log_posteriors([predict_logits(m, cfg, data, utts) for m in models])

    y_valid = torch.cat(utterance_labels(train_all, valid_utts)).numpy()
    valid_logits = predict(train_all, valid_utts)
    raw = valid_logits.argmax(1).numpy()
    if os.environ.get("HW2_SAVE_LOGITS"):  # analysis of decoders offline (not in the report)
        torch.save({"valid_logits": valid_logits, "y_valid": y_valid,
                    "valid_lengths": train_all.lengths[valid_utts],
                    "test_logits": predict(test),
                    "test_lengths": test.lengths, "y_train": utterance_labels(train_all, train_utts)},
                   Path(os.environ["HW2_SAVE_LOGITS"]) / f"{variant}_{seed}_{num_epoch}.pt")
    lengths = train_all.lengths[valid_utts].tolist()
    # Every decoding the notebook could choose from, whatever the config: run-length smoothing
    # (min_run 1..6 when the preset tunes it) and Viterbi with the training labels' transitions.
    transitions = transition_log_probs(utterance_labels(train_all, train_utts))
    scores = score_decodings(valid_logits, lengths, y_valid, decodings(replace(cfg, viterbi=True)),
                             transitions)
    smoothed = max((d for d in scores if d[0] == "min_run"), key=scores.get)
    viterbi_best = max((d for d in scores if d[0] == "viterbi"), key=scores.get)
    chosen = max(decodings(cfg), key=scores.get)  # what the notebook would use for the CSV
    # Training accuracy of the kept weights (raw, eval mode): the gap to validation shows overfitting.
    y_train = torch.cat(utterance_labels(train_all, train_utts)).numpy()
    train_raw = float((predict(train_all, train_utts).argmax(1).numpy() == y_train).mean())
    answers = synthetic_test_labels_hw2(data_dir)
    test_logits = predict(test)
    y_test = np.concatenate([answers[u] for u in test.utt_ids])
    test_acc = score_decodings(test_logits, test.lengths.tolist(), y_test,
                               {smoothed, viterbi_best, chosen}, transitions)
    return {"variant": variant, "seed": seed, "epochs": num_epoch,
            "params": sum(p.numel() for m in models for p in m.parameters()),
            "train_raw": train_raw, "valid_raw": float((raw == y_valid).mean()),
            "valid_smoothed": scores[smoothed], "min_run": smoothed[1],
            "test_smoothed": test_acc[smoothed],
            "valid_viterbi": scores[viterbi_best], "viterbi_weight": viterbi_best[1],
            "test_viterbi": test_acc[viterbi_best],
            "decoding": decoding_name(chosen), "valid_decoded": scores[chosen],
            "test_decoded": test_acc[chosen],
            # best epoch and curve of the first model (an ensemble's others are alike)
            "best_epoch": history.best_epoch + 1, "curve": [round(v, 4) for v in history.valid_metric],
            "seconds": seconds, "s_per_epoch": seconds / num_epoch,
            "train_utts": len(train_utts), "valid_utts": len(valid_utts),
            "train_frames": int(train_all.lengths[train_utts].sum()),
            "data": str(data_dir), **config_fields(cfg)}


def by_ref_optimiser(rows: list[dict]) -> list[tuple[str, object]]:
    """The reference's optimiser settings as run (from its first record, else boss's preset)."""
    ref = [r for r in rows if r["variant"].partition(":")[0] == REFERENCE]
    if ref:
        return list(ref[0]["optimiser"].items())
    return [(k, v) for k, v in reference_overrides().items() if k in OPTIMISER_KEYS]


def describe(m: dict) -> str:
    """A short model description from one run record."""
    if m["model"] != "birnn":
        return f"MLP {m['layers'] + 1}x{m['hidden']}, {m['concat']} frames"
    text = f"Bi{m.get('rnn', 'lstm').upper()} {m['layers']}x{m['hidden']}"
    if m.get("front_dim", m["concat"] > 1):
        text += (f", {m.get('front_layers', 1)}-layer front end over {m['concat']} frames"
                 + (" read beside the raw window" if m.get("front_raw") else "")
                 + (" + skip to the head" if m.get("front_skip") else ""))
    elif m["concat"] > 1:
        text += f" reading {m['concat']}-frame windows"
    if m.get("rnn_residual") or m.get("rnn_norm"):
        text += " with " + " + ".join(n for n, on in (("residual", m.get("rnn_residual")),
                                                      ("LayerNorm", m.get("rnn_norm"))) if on)
    if m.get("head_dim"):
        text += f", {m['head_dim']}-wide hidden layer in the head"
    masks = [f"{m['time_masks']} time masks <= {m['time_mask_width']} frames"
             if m.get("time_masks") and m.get("time_mask_width") else "",
             f"{m['feat_masks']} feature masks <= {m['feat_mask_width']} dims"
             if m.get("feat_masks") and m.get("feat_mask_width") else ""]
    if any(masks):
        text += ", SpecAugment " + " + ".join(x for x in masks if x)
    extras = [f"input noise {m['input_noise']}" if m.get("input_noise") else "",
              f"dropout {m['dropout']}" if m.get("dropout") else "",
              f"label smoothing {m['label_smoothing']}" if m.get("label_smoothing") else "",
              "Viterbi decoding" if m.get("viterbi") else ""]
    text = ", ".join([text] + [e for e in extras if e])
    return f"ensemble of {m['n_models']}: {text}" if m.get("n_models", 1) > 1 else text


def decoded(r: dict, split: str) -> float:
    """A run's accuracy on ``split`` ("valid" or "test") decoded as its config decodes (the
    notebook's choice on validation); records made before Viterbi existed: run-length smoothing."""
    return r.get(f"{split}_decoded", r[f"{split}_smoothed"])


def summary_row(name: str, rs: list[dict]) -> str:
    from benchmarks.harness import spread

    m = rs[0]
    vit = [r for r in rs if "valid_viterbi" in r]
    viterbi = (f"{statistics.mean(r['valid_viterbi'] for r in vit):.4f} "
               f"({', '.join(sorted({format(r['viterbi_weight'], 'g') for r in vit}))})"
               + (f" ({len(vit)} seeds)" if len(vit) < len(rs) else "")) if vit else "—"
    return (f"| {name} | {describe(m)} | {m['params']:,} | {len(rs)} | "
            f"{spread([r['valid_raw'] for r in rs])} | "
            f"{statistics.mean(r['valid_smoothed'] for r in rs):.4f} "
            f"({', '.join(sorted({str(r['min_run']) for r in rs}))}) | {viterbi} | "
            f"{spread([decoded(r, 'valid') for r in rs])} | "
            f"{statistics.mean(decoded(r, 'test') for r in rs):.4f} | "
            f"{', '.join(format(decoded(r, 'valid'), '.4f') for r in rs)} | "
            f"{statistics.mean(r['s_per_epoch'] for r in rs):.1f} |")


HEADER = ("| variant | model | params | seeds | valid acc raw, mean ± std [min, max] | valid smoothed "
          "(min_run) | valid Viterbi (weight) | valid as the variant decodes, mean ± std [min, max] "
          "| test acc as it decodes (hidden answers) | per seed (as it decodes) | s / epoch |")
RULE = "|---|---|---|---|---|---|---|---|---|---|---|"


def tuning_section(paths: list[str]) -> list[str]:
    """The tuning runs (JSON records with their ``command``), one table per command."""
    records = read_records(*paths)
    lines = ["", "## Tuning runs (validation split; not the final comparison)", "",
             "Runs made while choosing the boss preset, before the final table above, each group "
             "with its command (`--jsonl` records collected in "
             + ", ".join(f"`{Path(p).name}`" for p in paths) + "). The hidden test answers "
             "played no part in any choice. s / epoch here moved with the load of other jobs on the "
             "shared machine; compare times within the final table.", ""]
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(r["command"], []).append(r)
    for command, rs in groups.items():
        lines += [f"`{command}` ({rs[0]['train_utts']} training utterances, {rs[0]['epochs']} epochs)",
                  "", HEADER, RULE]
        by: dict[str, list[dict]] = {}
        for r in rs:
            by.setdefault(r["variant"], []).append(r)
        lines += [summary_row(name, v) for name, v in by.items()] + [""]
        lines += [f"- {name}: {v[0]['note']}" for name, v in by.items() if v[0].get("note")]
        lines += [""] if any(v[0].get("note") for v in by.values()) else []
    return lines



def checks_section(paths: list[str]) -> list[str]:
    """Checks made after the choice, one table per budget (data folder, training utterances,
    epochs) whatever command ran them, with each variant's paired difference to the reference."""
    records = read_records(*paths)
    lines = ["", "## Checks at longer budgets, on more data and on other data", "",
             "Runs made after the boss preset was chosen, to see whether its lead over the plain "
             "BiLSTM holds at longer budgets, on more training data and on a second speech-like "
             "set (records in " + ", ".join(f"`{Path(p).name}`" for p in paths) + "). Two rounds "
             "decided something with them, on validation only: at 8 epochs that "
             "`boss:dropout=0.3` was not kept (see its notes), and at 10 epochs which of the "
             "`...,viterbi=true` candidates became the boss preset (see their notes). A variant "
             "name means the preset as it was when the run was made (the model column says what "
             "ran); a `boss:...` variant is that preset with those overrides. Paired differences "
             "are per seed, valid / hidden test, each decoded as the variant decodes; s / epoch "
             "within one table was measured on the same busy shared machine, in one session "
             "unless a note says otherwise.", ""]
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((record_data(r), r["train_utts"], r["epochs"]), []).append(r)
    for (data, utts, epochs), rs in groups.items():
        lines += [f"**{epochs} epochs, {utts} training utterances, `{Path(data).name}`**", "",
                  HEADER, RULE]
        by: dict[str, list[dict]] = {}
        for r in sorted(rs, key=lambda r: r["seed"]):
            by.setdefault(r["variant"], []).append(r)
        lines += [summary_row(name, v) for name, v in by.items()] + [""]
        ref = {r["seed"]: r for r in by.get(REFERENCE, [])}
        for name, v in by.items():
            pairs = [(r, ref[r["seed"]]) for r in v if r["seed"] in ref and name != REFERENCE]
            if not pairs:
                continue
            dv = [decoded(a, "valid") - decoded(b, "valid") for a, b in pairs]
            dt = [decoded(a, "test") - decoded(b, "test") for a, b in pairs]
            ratio = (statistics.mean(a["s_per_epoch"] for a, _ in pairs)
                     / statistics.mean(b["s_per_epoch"] for _, b in pairs))
            lines.append(f"- {name} − {REFERENCE}: "
                         + ", ".join(f"seed {a['seed']} {x:+.4f} / {y:+.4f}"
                                     for (a, _), x, y in zip(pairs, dv, dt))
                         + f"; mean {statistics.mean(dv):+.4f} / {statistics.mean(dt):+.4f}; "
                         f"s / epoch {ratio:.2f}x the reference's")
        commands: dict[str, list[str]] = {}
        for name, v in by.items():
            for r in v:
                commands.setdefault(r["command"], []).append(f"{name} seed {r['seed']}")
        lines += [f"- `{cmd}`: {', '.join(what)}" for cmd, what in commands.items()]
        lines += [f"- {name}: {v[0]['note']}" for name, v in by.items() if v[0].get("note")]
        lines += [""]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(REPO / "data" / "synthetic" / "libriphone-speech-seed0"))
    parser.add_argument("--variants", nargs="+",
                        default=["simple", "medium", "strong", "boss", REFERENCE])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--num-epoch", type=int, default=6)
    parser.add_argument("--max-train-utts", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="markdown file for the results")
    parser.add_argument("--jsonl", default=None, help="append one JSON record per run here")
    parser.add_argument("--reuse", nargs="*", default=[],
                        help="JSON-lines files of earlier runs of this script: a run whose record is "
                             "there with the same variant, seed, epochs, data and config is not "
                             "run again (its record is reported, marked as reused)")
    parser.add_argument("--checks", nargs="*", default=[],
                        help="JSON-lines files of checks made after the choice, reported per budget")
    parser.add_argument("--tuning", nargs="*", default=[],
                        help="JSON-lines files of earlier tuning runs, reported in their own section")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    data_dir = Path(args.data)
    if not (data_dir / "train_labels.txt").is_file():
        from benchmarks.speech_data import write_hw2

        print(f"writing the speech-like set into {data_dir} ...", flush=True)
        write_hw2(data_dir, seed=0, progress=True)
    command = "python " + " ".join(["benchmarks/hw2_speech.py"] + sys.argv[1:])
    load_before = os.getloadavg()
    t_all = time.time()
    earlier = read_records(*args.reuse)
    rows = []
    for variant in args.variants:
        for seed in args.seeds:
            same = [e for e in earlier if e["variant"] == variant and e["seed"] == seed]
            why = [reusable(e, variant, data_dir, args.num_epoch, seed, args.max_train_utts)
                   for e in same]
            if None in why:
                r = dict(same[why.index(None)])
                r["reused_from"] = r.pop("reused_from", None) or r["command"]
                print(f"reusing {variant} seed {seed} from: {r['reused_from']}", flush=True)
                rows.append(r)
                continue
            for reason in why:
                print(f"not reusing a record of {variant} seed {seed}: {reason}", flush=True)
            r = run_one(variant, data_dir, args.num_epoch, seed, args.max_train_utts)
            r["command"] = command
            rows.append(r)
            print(json.dumps(r), flush=True)
            append_record(args.jsonl, r)
    total = time.time() - t_all
    if not args.out:
        return 0
    from benchmarks.harness import shared_machine, write_report
    from benchmarks.speech_data import folder_summary
    from hw2_phoneme.models import PRESETS

    summary = folder_summary(data_dir)
    r0 = rows[0]
    lines = [
        "# HW2 on SYNTHETIC SPEECH (espeak-ng), presets vs a plain BiLSTM at equal epochs", "",
        f"Command: `{command}`", "",
        shared_machine(args.threads, load_before[0], total / 60), "",
        f"Data: `python -m benchmarks.speech_data hw2 --out {args.data} --seed 0` "
        f"plus the spec below (espeak-ng voices with pitch/speed/formant variation, channel colouring, 0-20 dB noise, "
        f"a competing talker in 40 % of the utterances, 39-dim MFCC+Δ+ΔΔ with CMVN, labels from "
        f"espeak-ng's phoneme events). written with {summary}. Training on "
        f"{r0['train_utts']} utterances ({r0['train_frames']:,} frames), validation on the "
        f"{r0['valid_utts']} utterances of the official seed-1337 split; hidden test answers "
        "scored once per run (never used to choose anything).", "",
        f"Budget: **{args.num_epoch} epochs for every variant** (the presets' own: "
        + ", ".join(f"{p} {PRESETS[p]['num_epoch']}" for p in ("simple", "medium", "strong", "boss"))
        + "), 1 CPU thread. Seeds change initialisation and batch order only.", "",
        f"`{REFERENCE}`: plain `nn.LSTM(39, 256, num_layers=2, bidirectional=True)` over whole "
        "utterances + a linear layer per frame; no front end, no dropout, no smoothing or "
        "Viterbi decoding; boss's "
        f"optimiser settings (AdamW, {', '.join(f'{k}={v}' for k, v in by_ref_optimiser(rows))}).",
        "",
        HEADER, RULE,
    ]
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["variant"], []).append(r)
    lines += [summary_row(name, rs) for name, rs in by.items()]

    def paired(a: str, b: str) -> str | None:
        if a not in by or b not in by:
            return None
        va = {r["seed"]: decoded(r, "valid") for r in by[a]}
        vb = {r["seed"]: decoded(r, "valid") for r in by[b]}
        d = [va[s] - vb[s] for s in va if s in vb]
        return (f"- {a} − {b} (valid, decoded as each variant decodes, same seed): "
                + ", ".join(f"{x:+.4f}" for x in d) + f"; mean {statistics.mean(d):+.4f}")

    names = list(by)
    comps = [paired("medium", "simple"), paired("strong", "medium"), paired("boss", "strong"),
             paired("boss", REFERENCE)]
    comps += [paired(n, "boss") for n in names if n.startswith("boss:")]
    lines += ["", "Paired differences:", ""] + [c for c in comps if c]
    reused: dict[str, list[str]] = {}
    for r in rows:
        if r.get("reused_from"):
            reused.setdefault(r["reused_from"], []).append(f"{r['variant']} seed {r['seed']}")
    if reused:
        lines += ["", "Reused records (`--reuse`): these runs were not repeated, because an earlier "
                  "run of this script had recorded them with the same data folder, seed, epochs, "
                  "training/validation utterances, parameter count and configuration (the code "
                  "paths they use did not change since); their times were measured then, under "
                  "that run's load, and the machine line above covers only the runs made now:", ""]
        lines += [f"- {', '.join(what)}: from `{cmd}`" for cmd, what in reused.items()]
    lines += ["", "Decodings: valid smoothed = the best run-length smoothing on validation (min_run "
              "1..6 for a preset that tunes it, else its own min_run; 1 = raw argmax); valid Viterbi "
              "= Viterbi decoding with the phone-transition log-probabilities counted on the run's "
              "training utterances (add-one), weight chosen on validation, computed for every run "
              "whether or not the variant uses it (— for records made before it existed); \"as the "
              "variant decodes\" = what the notebook writes: the best on validation among the "
              "decodings its config allows (the reference: raw argmax). Validation numbers after a "
              "choice on validation are slightly optimistic; the test column is not.", "",
              "s / epoch = training plus one validation pass, measured by `fit`.", "",
              "Raw records:", "", "```json", *(json.dumps(r) for r in rows), "```"]
    lines += checks_section(args.checks) if args.checks else []
    lines += tuning_section(args.tuning) if args.tuning else [""]
    write_report(REPO / args.out if not Path(args.out).is_absolute() else Path(args.out), lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
