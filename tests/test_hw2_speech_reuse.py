"""benchmarks/hw2_speech.py --reuse: an earlier record stands for a run only when the data, seed,
epochs, utterances, parameter count and every config field agree."""

from __future__ import annotations

import pytest

from benchmarks.hw2_speech import checks_section, config_fields, reusable, variant_config
from common.datasets.libriphone import load_libriphone, write_synthetic
from hw2_phoneme.batches import split_by_utterance


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("libriphone-reuse")
    write_synthetic(out, seed=1, smoke=True)
    return out


def record_for(folder, variant, seed=0, epochs=4, max_utts=5):
    from hw2_phoneme.models import build_model

    cfg = variant_config(variant, epochs, seed)
    train = load_libriphone(folder, "train")
    tr, va = split_by_utterance(len(train), cfg.train_ratio, cfg.split_seed)
    tr = tr[:max_utts]
    return {"variant": variant, "seed": seed, "epochs": epochs, "train_utts": len(tr),
            "valid_utts": len(va), "train_frames": int(train.lengths[tr].sum()),
            "params": cfg.n_models * sum(p.numel() for p in build_model(cfg).parameters()),  # all models
            "command": f"python benchmarks/hw2_speech.py --data {folder} --num-epoch {epochs}",
            **config_fields(cfg)}


@pytest.mark.parametrize("variant", ["strong", "bilstm-2x256", "boss"])
def test_same_run_is_reused(folder, variant):
    assert reusable(record_for(folder, variant), variant, folder, 4, 0, 5) is None


def test_any_difference_blocks_reuse(folder, tmp_path):
    rec = record_for(folder, "boss")
    assert "seed" in reusable(rec, "boss", folder, 4, 1, 5)
    assert "epochs" in reusable(rec, "boss", folder, 5, 0, 5)
    assert "train_utts" in reusable(rec, "boss", folder, 4, 0, 6)
    assert "data" in reusable(rec, "boss", tmp_path, 4, 0, 5)
    assert "dropout" in reusable(rec, "boss:dropout=0.5", folder, 4, 0, 5)
    assert "time_masks" in reusable(rec, "boss:time_masks=2,time_mask_width=5", folder, 4, 0, 5)
    assert "input_noise" in reusable(rec, "boss:input_noise=0.5", folder, 4, 0, 5)
    assert "optimiser" in reusable(rec, "boss:learning_rate=0.01", folder, 4, 0, 5)
    # a record made before a field existed counts as that field's default
    old = {k: v for k, v in record_for(folder, "bilstm-2x256").items() if k != "rnn_norm"}
    assert reusable(old, "bilstm-2x256", folder, 4, 0, 5) is None
    assert "rnn_norm" in reusable(old, "bilstm-2x256:rnn_norm=true", folder, 4, 0, 5)


def test_checks_pair_each_variant_with_the_reference_by_seed(folder):
    """The checks section groups records by budget (whatever command ran them) and pairs each
    variant with the reference of the same seed, on validation and on the hidden test."""
    import json

    rows = []
    for seed, (ref, boss) in enumerate([(0.60, 0.65), (0.61, 0.63), (0.62, 0.70)]):
        for variant, acc in (("bilstm-2x256", ref), ("boss", boss)):
            r = record_for(folder, variant, seed=seed, epochs=8)
            r.update(valid_raw=acc, valid_smoothed=acc, min_run=1, test_smoothed=acc - 0.01,
                     s_per_epoch=2.0 if variant == "boss" else 1.0,
                     command=r["command"] + f" --seeds {seed}")
            rows.append(r)
    rows.reverse()  # the table lists seeds in order whatever the file's order
    path = folder / "checks.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = "\n".join(checks_section([str(path)]))
    assert text.count("**8 epochs") == 1  # one table for the budget, three commands in it
    line = next(x for x in text.splitlines() if x.startswith("- boss − bilstm-2x256"))
    assert "seed 0 +0.0500 / +0.0500, seed 1 +0.0200 / +0.0200, seed 2 +0.0800 / +0.0800" in line
    assert "mean +0.0500 / +0.0500" in line and "2.00x" in line


def test_checks_compare_each_variant_as_it_decodes(folder):
    """A record with Viterbi numbers is compared by the decoding its config chose
    (``valid_decoded`` / ``test_decoded``); an older record without them by its smoothing."""
    import json

    rows = []
    for variant, smoothed, chosen in (("bilstm-2x256", 0.60, None), ("boss:viterbi=true", 0.62, 0.65)):
        r = record_for(folder, variant, epochs=10)
        r.update(valid_raw=smoothed, valid_smoothed=smoothed, min_run=1, test_smoothed=smoothed,
                 s_per_epoch=1.0)
        if chosen is not None:
            r.update(valid_viterbi=chosen, viterbi_weight=0.5, test_viterbi=chosen - 0.01,
                     decoding="viterbi (weight 0.5)", valid_decoded=chosen,
                     test_decoded=chosen - 0.01)
        rows.append(r)
    assert rows[1]["viterbi"] is True and rows[0]["viterbi"] is False
    path = folder / "checks_decoded.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = "\n".join(checks_section([str(path)]))
    line = next(x for x in text.splitlines() if x.startswith("- boss:viterbi=true − bilstm-2x256"))
    assert "seed 0 +0.0500 / +0.0400" in line
    row = next(x for x in text.splitlines() if x.startswith("| boss:viterbi=true"))
    assert "Viterbi decoding" in row and "| 0.6500 (0.5) |" in row
    assert "| —" in next(x for x in text.splitlines() if x.startswith("| bilstm-2x256"))
