"""HW2 models: masking (padded batch == each utterance alone), window front end vs the
official concat_feat, prediction order and submission size, label smoothing, Viterbi decoding
against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from common.datasets.libriphone import FlatFeatures, load_libriphone, write_synthetic
from common.submission import validate_submission, write_submission
from common.train import fit
from hw2_phoneme.batches import SequenceBatches, pad_utterances
from hw2_phoneme.models import (
    PRESETS,
    BiRNNTagger,
    Config,
    FrameMLP,
    _edge_windows,
    build_model,
    decode,
    decodings,
    make_loader,
    mean_log_posteriors,
    member_seeds,
    merge_short_runs,
    per_class_accuracy,
    plot_confusion,
    predict_logits,
    score_decodings,
    sequence_forward,
    smooth_predictions,
    spec_augment,
    train_model,
    transition_log_probs,
    utterance_labels,
    viterbi,
)
from tests.reference_hw2 import WindowBiRNN, official_concat_feat


@pytest.fixture(scope="module")
def smoke_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("libriphone-smoke")
    write_synthetic(out, seed=1, smoke=True)
    return out


@pytest.fixture(scope="module")
def data(smoke_dir):
    return load_libriphone(smoke_dir, "train")


@pytest.mark.parametrize("rnn,front_dim,front_layers,front_skip",
                         [("lstm", 16, 1, False), ("gru", 16, 1, False), ("lstm", 16, 2, True),
                          ("lstm", 0, 1, False)])  # the last: the RNN reads the raw window
def test_padded_batch_equals_each_utterance_alone(data, rnn, front_dim, front_layers, front_skip):
    torch.manual_seed(0)
    model = BiRNNTagger(concat_nframes=5, front_dim=front_dim, hidden_dim=12, hidden_layers=2,
                        rnn=rnn, dropout=0.3, front_layers=front_layers,
                        front_skip=front_skip).eval()
    utts = [3, 0, 17, 8]  # different lengths, not sorted
    batch = pad_utterances(data, utts)
    with torch.no_grad():
        padded = model(batch["x"], batch["lengths"])
        for row, u in enumerate(utts):
            alone = model(data.utterance(u)[None], data.lengths[u:u + 1])[0]
            n = len(alone)
            # float32, different batch shapes: agreement to 1e-5 (a leak from padding is O(0.1))
            torch.testing.assert_close(padded[row, :n], alone, rtol=1e-5, atol=1e-5)
    # sequence_forward scores exactly the real frames, with their labels
    out, target = sequence_forward(model, batch)
    assert out.shape == (int(batch["lengths"].sum()), 41)
    assert torch.equal(target, torch.cat([data.labels[data.offsets[u]:data.offsets[u + 1]] for u in utts]))


@pytest.mark.parametrize("kw", [dict(rnn_norm=True), dict(rnn_norm=True, rnn_residual=True),
                                dict(front_dim=16, front_raw=True, head_dim=8)])
def test_padded_batch_equals_each_utterance_alone_options(data, kw):
    """The same for boss's per-layer LayerNorm, residual layers, raw window beside the front
    end and a hidden layer in the head (all per frame, so padding must still not leak)."""
    torch.manual_seed(0)
    model = BiRNNTagger(concat_nframes=5, hidden_dim=12, hidden_layers=3, dropout=0.3,
                        **{"front_dim": 0, **kw}).eval()
    utts = [3, 0, 17, 8]
    batch = pad_utterances(data, utts)
    with torch.no_grad():
        padded = model(batch["x"], batch["lengths"])
        for row, u in enumerate(utts):
            alone = model(data.utterance(u)[None], data.lengths[u:u + 1])[0]
            torch.testing.assert_close(padded[row, :len(alone)], alone, rtol=1e-5, atol=1e-5)


def test_rnn_norm_residual_by_hand(data):
    """Layer i's output = LayerNorm_i(BiLSTM_i(h) [+ h for i > 0]), the backward direction run
    on the reversed utterance, checked on one unpadded utterance; with a raw window beside a
    1-layer front end the RNN reads [window, ReLU(LayerNorm(Linear(window)))]."""
    torch.manual_seed(0)
    model = BiRNNTagger(concat_nframes=3, front_dim=6, hidden_dim=5, hidden_layers=2,
                        dropout=0.0, rnn_norm=True, rnn_residual=True, front_raw=True).eval()
    x = data.utterance(4)
    n = len(x)
    rnn = model.rnn
    with torch.no_grad():
        win = torch.stack([torch.cat([x[min(max(t + s, 0), n - 1)] for s in (-1, 0, 1)])
                           for t in range(n)])
        lin, norm = model.front[0][0], model.front[0][1]
        h = torch.cat([win, torch.relu(norm(lin(win)))], dim=1)

        def bi(i, h):
            f = rnn.fwd[i](h[None])[0][0]
            b = rnn.bwd[i](h.flip(0)[None])[0][0].flip(0)
            return torch.cat([f, b], dim=1)

        h1 = rnn.norms[0](bi(0, h))
        h2 = rnn.norms[1](bi(1, h1) + h1)
        expected = model.head[1](h2)
        got = model(x[None], torch.tensor([n]))[0]
    assert rnn.fwd[0].input_size == 3 * 39 + 6
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_padding_content_does_not_matter(data):
    torch.manual_seed(0)
    model = BiRNNTagger(concat_nframes=3, front_dim=8, hidden_dim=8, hidden_layers=1).eval()
    batch = pad_utterances(data, [1, 2])
    x = batch["x"].clone()
    x[~batch["mask"]] = 1e3  # garbage in the padding
    with torch.no_grad():
        a = model(batch["x"], batch["lengths"])[batch["mask"]]
        b = model(x, batch["lengths"])[batch["mask"]]
    torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("concat_n", [1, 5, 61])
def test_edge_windows_equal_official(data, concat_n):
    utts = [5, 2, 11]
    batch = pad_utterances(data, utts)
    win = _edge_windows(batch["x"], batch["lengths"], concat_n)
    for row, u in enumerate(utts):
        n = int(data.lengths[u])
        assert torch.equal(win[row, :n], official_concat_feat(data.utterance(u).clone(), concat_n))


def test_front_end_layers_and_skip_by_hand(data):
    """Two front layers = an MLP (Linear -> LayerNorm -> ReLU, twice) over each frame's
    edge-replicated 3-frame window, computed here frame by frame on one unpadded utterance; the
    skip head reads [RNN output, front output]."""
    torch.manual_seed(0)
    model = BiRNNTagger(concat_nframes=3, front_dim=6, hidden_dim=5, hidden_layers=1,
                        dropout=0.0, front_layers=2, front_skip=True).eval()
    x = data.utterance(4)
    n = len(x)
    with torch.no_grad():
        h = torch.stack([torch.cat([x[min(max(t + s, 0), n - 1)] for s in (-1, 0, 1)])
                         for t in range(n)])
        for layer in model.front:
            lin, norm = layer[0], layer[1]
            h = torch.relu(norm(lin(h)))
        rnn_out = model.rnn(h[None], torch.tensor([n]))[0]
        expected = model.head[1](torch.cat([rnn_out, h], dim=1))
        got = model(x[None], torch.tensor([n]))[0]
    assert model.head[1].in_features == 2 * 5 + 6
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_window_birnn_shares_the_tagger_size():
    kw = dict(front_dim=32, hidden_dim=16, hidden_layers=2)
    window, tagger = WindowBiRNN(concat_nframes=61, **kw), BiRNNTagger(concat_nframes=1, **kw)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(window) == count(tagger)
    assert window(torch.randn(4, 61 * 39)).shape == (4, 41)


def test_presets_build():
    for name in ("simple", "medium", "strong", "boss"):
        cfg = Config(**{"preset": name, **PRESETS[name]})
        model = build_model(cfg)
        assert isinstance(model, BiRNNTagger if name == "boss" else FrameMLP)
    simple = Config(**{"preset": "simple", **PRESETS["simple"]})
    # the official sample: concat 1, two 256-unit ReLU layers, AdamW 1e-4, batch 512, 5 epochs
    assert (simple.concat_nframes, simple.hidden_dim, simple.learning_rate, simple.batch_size,
            simple.num_epoch, simple.train_ratio, simple.seed) == (1, 256, 1e-4, 512, 5, 0.8, 0)
    assert sum(isinstance(m, nn.Linear) for m in build_model(simple).modules()) == 3


@pytest.mark.parametrize("preset", ["simple", "boss"])
def test_predictions_in_submission_order(smoke_dir, data, preset, tmp_path):
    cfg = Config(**{"preset": preset, **PRESETS[preset], **PRESETS["smoke"]})
    torch.manual_seed(0)
    model = build_model(cfg)
    test = load_libriphone(smoke_dir, "test")
    logits = predict_logits(model, cfg, test)
    assert logits.shape == (test.n_frames, 41)
    with torch.no_grad():  # utterance 3 alone, in time order, lands at its offset
        a, b = int(test.offsets[3]), int(test.offsets[4])
        u = test.utterance(3)
        if preset == "boss":
            alone = model(u[None], test.lengths[3:4])[0]
        else:
            alone = model(official_concat_feat(u.clone(), cfg.concat_nframes))
        torch.testing.assert_close(logits[a:b], alone, rtol=1e-5, atol=1e-5)
    path = write_submission(tmp_path / "prediction.csv", "hw2", range(test.n_frames),
                            logits.argmax(1).tolist())
    assert validate_submission(path, "hw2", n_rows=test.n_frames) == test.n_frames


def test_birnn_learns_on_synthetic(data):
    """A few epochs of the boss model must beat the majority class clearly (learning works)."""
    cfg = Config(**{"preset": "boss", **PRESETS["boss"], "hidden_dim": 16, "front_dim": 16,
                    "hidden_layers": 1, "concat_nframes": 1, "dropout": 0.0})
    torch.manual_seed(0)
    model = build_model(cfg)
    loader = SequenceBatches(data, list(range(24)), batch_size=4, shuffle=True)
    valid = SequenceBatches(data, list(range(32, 40)), batch_size=8)
    hist = fit(model, loader, valid, optimizer=torch.optim.AdamW(model.parameters(), lr=2e-2),
               n_epochs=10, criterion=nn.CrossEntropyLoss(), forward=sequence_forward,
               metric="accuracy", progress=False, device="cpu")
    majority = float((data.labels == 0).float().mean())
    assert hist.best_score > majority + 0.1, (hist.best_score, majority)


def test_mean_log_posteriors_is_the_log_of_the_mean_softmax():
    rng = np.random.default_rng(0)
    logits = [torch.tensor(rng.normal(scale=3, size=(7, 41)), dtype=torch.float32) for _ in range(3)]
    softmax = [np.exp(x.double().numpy()) / np.exp(x.double().numpy()).sum(1, keepdims=True) for x in logits]
    np.testing.assert_allclose(mean_log_posteriors(logits).numpy(), np.log(np.mean(softmax, axis=0)),
                               rtol=1e-10, atol=1e-12)
    one = mean_log_posteriors(logits[:1])  # a single model: its own log-softmax, same argmax
    np.testing.assert_allclose(one.numpy(), torch.log_softmax(logits[0].double(), 1).numpy())
    assert torch.equal(one.argmax(1), logits[0].argmax(1))


def test_ensemble_models_are_seeded_apart_and_the_first_is_the_single_model(data):
    from dataclasses import replace

    cfg = Config(**{"preset": "boss", **PRESETS["boss"], "hidden_dim": 8, "hidden_layers": 1,
                    "num_epoch": 1, "seed": 5, "n_models": 3})
    assert member_seeds(cfg) == [5, 1005, 2005] and member_seeds(replace(cfg, n_models=1)) == [5]
    with pytest.raises(ValueError, match="n_models"):
        member_seeds(replace(cfg, n_models=0))
    train, valid = list(range(8)), list(range(8, 12))
    single, _ = train_model(replace(cfg, n_models=1), data, train, valid, progress=False)
    first, _ = train_model(replace(cfg, seed=member_seeds(cfg)[0]), data, train, valid, progress=False)
    second, _ = train_model(replace(cfg, seed=member_seeds(cfg)[1]), data, train, valid, progress=False)
    for a, b in zip(single.parameters(), first.parameters()):
        assert torch.equal(a, b)  # deterministic: the ensemble's first model is the single model
    assert any(not torch.equal(a, c) for a, c in zip(first.parameters(), second.parameters()))


def test_make_loader_kinds(data):
    cfg = Config(**{"preset": "medium", **PRESETS["medium"]})
    x, y = next(iter(make_loader(cfg, data, range(10), train=True)))
    assert x.shape == (512, 19 * 39) and y.shape == (512,)


def test_merge_short_runs():
    seq = np.array([0, 0, 0, 0, 5, 0, 0, 0, 3, 3, 3, 3, 7, 3, 3, 2, 2, 2, 2])
    out = merge_short_runs(seq, 2)
    assert out.tolist() == [0] * 8 + [3] * 7 + [2] * 4  # single-frame blips removed, rejoined
    assert merge_short_runs(seq, 1).tolist() == seq.tolist()
    # a short run between two different long runs goes to the longer neighbour
    assert merge_short_runs(np.array([1, 1, 1, 4, 2, 2, 2, 2]), 2).tolist() == [1] * 3 + [2] * 5
    assert merge_short_runs(np.array([4, 1, 1, 1]), 3).tolist() == [1] * 4  # edge run
    assert merge_short_runs(np.array([4, 5]), 3).tolist() in ([4, 4], [5, 5])
    # applied per utterance: never merges across an utterance boundary
    flat = np.array([1, 1, 1, 2, 9, 9, 9])
    assert smooth_predictions(flat, [4, 3], 2).tolist() == [1, 1, 1, 1, 9, 9, 9]
    assert smooth_predictions(flat, [3, 4], 2).tolist() == [1, 1, 1, 9, 9, 9, 9]


def brute_force_path(log_probs, log_trans, log_init, weight):
    """The best path by scoring every one of C ** T label sequences."""
    t_len, n = log_probs.shape

    def score(path):
        s = log_probs[np.arange(t_len), list(path)].sum() + weight * log_init[path[0]]
        return s + weight * sum(log_trans[a, b] for a, b in zip(path[:-1], path[1:]))

    return max(itertools.product(range(n), repeat=t_len), key=score)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_viterbi_matches_brute_force(n_classes):
    rng = np.random.default_rng(n_classes)
    for _ in range(60):
        t_len = int(rng.integers(1, 6))
        log_probs = rng.normal(size=(t_len, n_classes))
        log_trans = 2 * rng.normal(size=(n_classes, n_classes))
        log_init = rng.normal(size=n_classes)
        weight = float(rng.choice([0.5, 1.0, 2.5]))
        expected = brute_force_path(log_probs, log_trans, log_init, weight)
        assert tuple(viterbi(log_probs, log_trans, log_init, weight).tolist()) == expected
    assert viterbi(np.zeros((0, 3)), np.zeros((3, 3))).shape == (0,)


def test_viterbi_without_transition_information_is_the_argmax():
    rng = np.random.default_rng(0)
    log_probs = np.log(rng.dirichlet(np.ones(41), size=50))
    flat = np.full((41, 41), -np.log(41))  # every transition equally likely
    assert viterbi(log_probs, flat, np.full(41, -np.log(41))).tolist() == log_probs.argmax(1).tolist()
    assert viterbi(log_probs, 5 * rng.normal(size=(41, 41)), weight=0.0).tolist() == \
        log_probs.argmax(1).tolist()


def test_viterbi_follows_the_transitions():
    """A blip the transitions make unlikely is overruled; a sure one is not."""
    log_init, log_trans = transition_log_probs([np.array([0] * 20 + [1] * 20)] * 5, n_classes=3)
    assert np.allclose(np.exp(log_trans).sum(1), 1) and np.isclose(np.exp(log_init).sum(), 1)
    # add-one counts: 0->0 95 + 1, 0->1 5 + 1, 0->2 0 + 1; utterances start with 0 five times
    assert np.allclose(np.exp(log_trans[0]), np.array([96, 6, 1]) / 103)
    assert np.allclose(np.exp(log_init), np.array([6, 1, 1]) / 8)
    probs = np.full((7, 3), 0.05)
    probs[:, 0] = 0.9
    probs[3] = [0.4, 0.55, 0.05]  # a weak blip to class 1
    assert viterbi(np.log(probs), log_trans, log_init).tolist() == [0] * 7
    probs[3] = [1e-6, 1 - 2e-6, 1e-6]  # a sure one stays (log-odds 13.8 > 7.3 of the transitions)
    assert viterbi(np.log(probs), log_trans, log_init).tolist() == [0, 0, 0, 1, 0, 0, 0]


def test_decode_runs_per_utterance():
    """Both decodings work utterance by utterance on flat logits; Viterbi never carries a label
    across an utterance boundary (the second utterance starts from the initial log-probs)."""
    log_init, log_trans = transition_log_probs([np.array([0] * 30), np.array([2] * 30)], 3)
    logits = torch.tensor([[5.0, 0, 0]] * 4 + [[0, 0, 0.5]] + [[0, 0, 5.0]] * 3)
    assert decode(logits, [4, 4], ("viterbi", 1.0), (log_init, log_trans)).tolist() == \
        [0] * 4 + [2] * 4
    assert decode(logits, [5, 3], ("viterbi", 1.0), (log_init, log_trans)).tolist() == \
        [0] * 5 + [2] * 3
    assert decode(logits, [4, 4], ("min_run", 1)).tolist() == logits.argmax(1).tolist()
    assert decode(logits, [4, 4], ("min_run", 2)).tolist() == [0] * 4 + [2] * 4
    with pytest.raises(ValueError, match="transitions"):
        decode(logits, [4, 4], ("viterbi", 1.0))
    with pytest.raises(ValueError, match="lengths sum to 7"):
        decode(logits, [4, 3], ("min_run", 2))
    cfg = Config(tune_min_run=True, viterbi=True)
    assert ("min_run", 6) in decodings(cfg) and ("viterbi", 1.0) in decodings(cfg)
    assert decodings(Config()) == [("min_run", 1)]



def test_utterance_labels_and_decoding_scores():
    """utterance_labels slices the flat labels by the offsets; score_decodings is each
    decoding's frame accuracy, as counted by hand."""
    data = FlatFeatures(torch.zeros(8, 39), torch.tensor([0, 4, 8]), ["a", "b"],
                        torch.tensor([0, 0, 1, 1, 2, 2, 2, 0]))
    assert [x.tolist() for x in utterance_labels(data, [1, 0])] == [[2, 2, 2, 0], [0, 0, 1, 1]]
    logits = torch.tensor([[5.0, 0, 0]] * 3 + [[0, 5.0, 0]] + [[0, 0, 5.0]] * 4)
    y = np.array([0, 0, 0, 0, 2, 2, 2, 2])
    scores = score_decodings(logits, [4, 4], y, [("min_run", 1), ("min_run", 2)])
    assert scores == {("min_run", 1): 7 / 8, ("min_run", 2): 1.0}


def test_per_class_accuracy():
    y = np.array([0, 0, 1, 1, 1, 5])
    p = np.array([0, 1, 1, 1, 0, 5])
    acc = per_class_accuracy(y, p)
    assert acc[0] == 0.5 and acc[1] == pytest.approx(2 / 3) and acc[5] == 1.0
    assert np.isnan(acc[2])


def test_confusion_is_row_normalised_with_absent_classes_zero(tmp_path):
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    y_true = np.array([0, 0, 0, 0, 2, 2, 1])
    y_pred = np.array([0, 0, 1, 2, 2, 2, 0])
    fig = plot_confusion(y_true, y_pred, path=tmp_path / "cm.png")
    rates = np.asarray(fig.axes[0].images[0].get_array())
    expected = np.zeros((41, 41))
    expected[0, :3] = [0.5, 0.25, 0.25]  # true 0: 2 right, one each as 1 and 2
    expected[1, 0] = 1                   # true 1: predicted 0
    expected[2, 2] = 1                   # true 2: both right; classes never seen: zeros, not NaN
    np.testing.assert_array_equal(rates, expected)
    assert (tmp_path / "cm.png").stat().st_size > 0
    plt.close(fig)


@pytest.mark.parametrize("rnn,bidirectional", [("lstm", True), ("gru", True), ("lstm", False)])
def test_birnn_equals_packed_torch_rnn(rnn, bidirectional):
    """BiRNN (padded, per-utterance reversal) == nn.LSTM/GRU on packed sequences with the same
    weights, on every real frame (float32, 1e-6); also the forward-only ablation."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from hw2_phoneme.models import BiRNN

    torch.manual_seed(0)
    ours = BiRNN(8, 6, num_layers=2, rnn=rnn, bidirectional=bidirectional).eval()
    ref = {"lstm": nn.LSTM, "gru": nn.GRU}[rnn](8, 6, num_layers=2, batch_first=True,
                                                bidirectional=bidirectional).eval()
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())
    directions = (("", ours.fwd), ("_reverse", ours.bwd)) if bidirectional else (("", ours.fwd),)
    with torch.no_grad():
        for layer in range(2):
            for suffix, mods in directions:
                mod = mods[layer]
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(ref, f"{name}_l{layer}{suffix}").copy_(getattr(mod, f"{name}_l0"))
        x, lengths = torch.randn(3, 10, 8), torch.tensor([10, 4, 7])
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        expected, _ = pad_packed_sequence(ref(packed)[0], batch_first=True, total_length=10)
        got = ours(x, lengths)
    mask = torch.arange(10)[None] < lengths[:, None]
    torch.testing.assert_close(got[mask], expected[mask], rtol=1e-6, atol=1e-6)


def test_spec_augment_masks_by_hand():
    """Every zeroed entry lies in a time stretch (inside its utterance, <= the width) or a feature
    band (<= the width, the same dimensions in every frame); the rest is untouched; the same
    generator seed gives the same masks."""
    x = torch.randn(3, 50, 39) + 5.0  # no natural zeros
    before = x.clone()
    lengths = torch.tensor([50, 20, 7])
    gen = torch.Generator().manual_seed(3)
    y = spec_augment(x, lengths, 2, 6, 2, 5, generator=gen)
    again = spec_augment(x, lengths, 2, 6, 2, 5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(y, again)
    assert torch.equal(x, before)  # the input is untouched (a new tensor is returned)
    zero = y == 0
    assert torch.equal(y[~zero], x[~zero])
    for b in range(3):
        rows = zero[b].all(1)  # frames masked in every dimension: time masks
        cols = zero[b, :int(lengths[b])].all(0)  # dimensions masked in every real frame
        assert not rows[int(lengths[b]):].any()  # never past the utterance (padding)
        assert int(rows.sum()) <= 2 * 6 and int(cols.sum()) <= 2 * 5
        # nothing else is zeroed: each zero is in a masked frame or a masked dimension
        assert torch.equal(zero[b], rows[:, None] | cols[None, :])
    with_masks = [spec_augment(x, lengths, 2, 6, 2, 5) for _ in range(20)]
    assert any((m == 0).any() for m in with_masks)
    assert torch.equal(spec_augment(x, lengths, 0, 6, 2, 0), x)  # no masks: unchanged


@pytest.mark.parametrize("aug", [dict(masks=(2, 10, 2, 6)), dict(input_noise=0.3)])
def test_augmentation_only_in_training(data, aug):
    """A tagger with masks or input noise: at evaluation identical to the same weights without
    them; in training mode (dropout 0) its output changes, reproducibly from torch's seed."""
    torch.manual_seed(0)
    kw = dict(concat_nframes=3, front_dim=0, hidden_dim=8, hidden_layers=2, dropout=0.0)
    masked = BiRNNTagger(**kw, **aug)
    plain = BiRNNTagger(**kw)
    plain.load_state_dict(masked.state_dict())
    batch = pad_utterances(data, [1, 2, 5])
    x, n = batch["x"], batch["lengths"]
    with torch.no_grad():
        torch.testing.assert_close(masked.eval()(x, n), plain.eval()(x, n), rtol=0, atol=0)
        masked.train(), plain.train()
        torch.manual_seed(1)
        a = masked(x, n)
        torch.manual_seed(1)
        b = masked(x, n)
        assert torch.equal(a, b)
        assert not torch.allclose(a, plain(x, n))
    cfg = Config(model="birnn", concat_nframes=3, time_masks=2, time_mask_width=10, feat_masks=1,
                 feat_mask_width=4, input_noise=0.1)
    built = build_model(cfg)
    assert built.masks == (2, 10, 1, 4) and built.input_noise == 0.1
