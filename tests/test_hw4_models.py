"""HW4 models: padding never changes the output (every preset), AM-softmax margin only on
the target and only in training, batched inference == batch size 1, rotary positions are
relative, the course's warm-up + cosine schedule."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from common.config import build_config
from common.datasets import voxceleb as vc
from hw4_speaker import batches as batches_mod
from hw4_speaker import models as M

ALL = ["simple", "medium", "strong", "boss"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one thread is faster, and far faster on a busy shared CI machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
LENGTHS = (37, 120, 5, 90, 64)


def small(preset: str, **kw) -> M.Config:
    """The preset's architecture, narrower so the test is fast (structure is what matters)."""
    overrides = dict(d_model=32, n_heads=4, ffn_dim=64) if preset != "simple" else {}
    return build_config(M.Config, M.PRESETS, preset, **{**overrides, **kw})


def padded_with_garbage(mels):
    x, mask = batches_mod.pad_batch(mels)
    noise = 50 * torch.randn_like(x)  # anything in the padding must not matter
    return torch.where(mask.unsqueeze(-1), x, noise), mask


@pytest.mark.parametrize("preset", ALL + ["boss:amsoftmax"])  # the AM-softmax head no preset uses now
@pytest.mark.parametrize("narrow", [True, False])
def test_padded_batch_equals_each_utterance_alone(preset, narrow):
    torch.manual_seed(0)
    preset, _, head = preset.partition(":")
    extra = dict(head=head) if head else {}
    cfg = small(preset, **extra) if narrow else build_config(M.Config, M.PRESETS, preset, **extra)
    model = M.build_model(cfg, n_speakers=11).eval()
    mels = [torch.randn(n, 40) for n in LENGTHS]
    x, mask = padded_with_garbage(mels)
    with torch.no_grad():
        batched = model(x, mask)
        alone = torch.cat([model(m[None]) for m in mels])
        unmasked = model(x)  # the trap: padding read as frames
    # AM-softmax logits are s * cos (s = 30): compare cosines for the same relative tolerance.
    scale = cfg.am_scale if cfg.head == "amsoftmax" else 1.0
    assert torch.allclose(batched / scale, alone / scale, atol=1e-5, rtol=0)
    assert (unmasked - alone).abs().max() > 1e-2  # so the comparison can fail


def test_conv_module_needs_the_mask():
    """Zeroing the padding before the depth-wise conv is what makes the conformer exact."""
    torch.manual_seed(0)
    conv = M.ConvModule(16, 7, 0.0).eval()
    x = torch.randn(1, 10, 16)
    padded = torch.cat([x, torch.zeros(1, 4, 16)], dim=1)  # zero input padding is not enough
    mask = torch.arange(14)[None] < 10
    with torch.no_grad():
        ref = conv(x, torch.ones(1, 10, dtype=torch.bool))
        assert torch.allclose(conv(padded, mask)[:, :10], ref, atol=1e-6)
        assert not torch.allclose(conv(padded, torch.ones_like(mask))[:, :10], ref, atol=1e-3)


def test_attention_pooling_matches_a_loop_reference():
    torch.manual_seed(0)
    pool = M.SelfAttentionPooling(8)
    x = torch.randn(3, 6, 8)
    mask = torch.tensor([[1] * 6, [1] * 2 + [0] * 4, [1] * 4 + [0] * 2], dtype=torch.bool)
    got = pool(x, mask)
    for b in range(3):
        h = x[b, mask[b]]
        w = torch.softmax(pool.score(h).squeeze(-1), 0)
        assert torch.allclose(got[b], (w[:, None] * h).sum(0), atol=1e-6)


def test_am_softmax_margin_on_target_only_and_only_in_training():
    torch.manual_seed(0)
    head = M.AMSoftmaxHead(8, 5, scale=30.0, margin=0.35)
    emb, labels = torch.randn(4, 8), torch.tensor([0, 3, 3, 1])
    cos = (emb / emb.norm(dim=1, keepdim=True)) @ (head.weight / head.weight.norm(dim=1, keepdim=True)).t()
    head.train()
    train_logits = head(emb, labels)
    expected = 30.0 * cos.clone()
    expected[torch.arange(4), labels] -= 30.0 * 0.35
    assert torch.allclose(train_logits, expected, atol=1e-5)
    diff = 30.0 * cos - train_logits
    target = F.one_hot(labels, 5).bool()
    assert torch.allclose(diff[target], torch.full((4,), 30.0 * 0.35), atol=1e-5)
    assert diff[~target].abs().max() < 1e-5
    assert torch.allclose(head(emb), 30.0 * cos, atol=1e-5)  # no labels: no margin
    head.eval()
    assert torch.allclose(head(emb, labels), 30.0 * cos, atol=1e-5)  # evaluation: no margin
    assert cos.abs().max() <= 1 + 1e-6


def test_forward_passes_labels_only_in_training():
    torch.manual_seed(0)
    cfg = small("boss", dropout=0.0, head="amsoftmax")
    model = M.build_model(cfg, 6)
    x, mask = batches_mod.pad_batch([torch.randn(n, 40) for n in (20, 9)])
    labels = torch.tensor([2, 5])
    model.train()
    out_train, _ = M.speaker_forward(model, (x, mask, labels))
    model.eval()
    out_eval, _ = M.speaker_forward(model, (x, mask, labels))
    delta = out_eval - out_train
    assert torch.allclose(delta[torch.arange(2), labels], torch.full((2,), cfg.am_scale * cfg.am_margin), atol=1e-4)
    delta[torch.arange(2), labels] = 0
    assert delta.abs().max() < 1e-4


@pytest.fixture(scope="module")
def smoke_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("hw4models") / "Dataset"
    vc.write_synthetic(root, seed=3, smoke=True)
    data = vc.load_dataset(root)
    return data, vc.FeatureStore(data, preload=True)


@pytest.mark.parametrize("preset", ALL)
def test_batched_inference_equals_batch_size_one(preset, smoke_set):
    data, store = smoke_set
    torch.manual_seed(0)
    model = M.build_model(small(preset), data.n_speakers)
    batched = M.predict_logits(model, batches_mod.UtteranceBatches(store, data.test, batch_size=7), len(data.test))
    single = M.predict_logits(model, batches_mod.UtteranceBatches(store, data.test, batch_size=1), len(data.test))
    assert torch.equal(batched.argmax(1), single.argmax(1))
    assert torch.allclose(batched, single, atol=1e-5)


def test_rotary_scores_depend_on_relative_position_only():
    torch.manual_seed(0)
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)
    seq_q, seq_k = q.expand(1, 1, 12, 8), k.expand(1, 1, 12, 8)
    scores = M.rotary(seq_q)[0, 0] @ M.rotary(seq_k)[0, 0].t()  # [12, 12]
    for offset in (-3, 0, 2):
        diag = torch.diagonal(scores, offset)
        assert torch.allclose(diag, diag[0].expand_as(diag), atol=1e-5)
    assert torch.allclose(M.rotary(seq_q)[..., 0, :], q[..., 0, :])  # position 0 unrotated


def test_warmup_cosine_matches_the_course_formula():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = M.warmup_cosine(opt, warmup_steps=10, total_steps=110)
    lrs = []
    for _ in range(111):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == 0 and lrs[5] == pytest.approx(0.5) and lrs[10] == pytest.approx(1.0)
    assert lrs[60] == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lrs[110] == pytest.approx(0.0, abs=1e-12)


def test_presets_keep_the_course_values():
    simple = build_config(M.Config, M.PRESETS, "simple")
    assert (simple.model, simple.d_model, simple.n_heads, simple.ffn_dim, simple.n_layers) == ("sample", 80, 2, 256, 1)
    assert (simple.total_steps, simple.warmup_steps, simple.batch_size, simple.segment_len,
            simple.learning_rate) == (70000, 1000, 32, 128, 1e-3)
    assert build_config(M.Config, M.PRESETS, "boss", total_steps=123).total_steps == 123
    assert build_config(M.Config, M.PRESETS, "boss", smoke=True).total_steps == 20 and build_config(M.Config, M.PRESETS, "boss", smoke=True).model == "conformer"


def test_cpu_budget_replaces_only_what_the_user_did_not_set():
    boss = build_config(M.Config, M.PRESETS, "boss", learning_rate=5e-4)
    cpu = M.apply_cpu_budget(boss, explicit=["segment_len"])
    assert (cpu.batch_size, cpu.total_steps, cpu.warmup_steps, cpu.valid_steps) == (
        16, M.CPU_STEPS, M.CPU_STEPS // 10, M.CPU_STEPS // 4)
    assert cpu.segment_len == boss.segment_len == 512  # set explicitly: kept
    assert (cpu.model, cpu.n_layers, cpu.head, cpu.learning_rate) == ("conformer", 3, "linear", 5e-4)
    assert boss.total_steps == 100000  # the preset itself is untouched
    assert M.apply_cpu_budget(boss, explicit=M.CPU_BUDGET) == boss
    # boss keeps twice strong's crop under the budget too (its longer crops are what make it boss)
    assert M.apply_cpu_budget(boss).segment_len == 256
    strong = build_config(M.Config, M.PRESETS, "strong")
    assert M.apply_cpu_budget(strong).segment_len == 128 and strong.segment_len == 256
    assert M.cpu_budget("medium") == M.CPU_BUDGET and M.cpu_budget("boss")["segment_len"] == 256
    smoke = build_config(M.Config, M.PRESETS, "boss", smoke=True)
    assert M.apply_cpu_budget(smoke) == smoke  # CI sizes are smaller still


def test_interrupted_training_resumes_to_the_same_weights(smoke_set, tmp_path, monkeypatch):
    """Stop mid-run (after the first validation), resume from the checkpoint: the final
    weights equal an uninterrupted run's (same crops, dropout and schedule)."""
    data, store = smoke_set
    cfg = small("boss", total_steps=8, valid_steps=4, warmup_steps=2, batch_size=4, segment_len=32)
    full, _ = M.train_model(cfg, data, store, device="cpu", progress=False,
                            checkpoint_path=tmp_path / "full.pt")

    real = M.speaker_forward
    calls = []

    def crashing(model, batch):
        calls.append(model.training)
        if sum(calls) == 7:  # the 7th training step: mid second pass, after the step-4 checkpoint
            raise KeyboardInterrupt
        return real(model, batch)

    monkeypatch.setattr(M, "speaker_forward", crashing)
    with pytest.raises(KeyboardInterrupt):
        M.train_model(cfg, data, store, device="cpu", progress=False, checkpoint_path=tmp_path / "cut.pt")
    calls.clear()
    monkeypatch.setattr(M, "speaker_forward", lambda model, batch: calls.append(model.training) or real(model, batch))
    resumed, history = M.train_model(cfg, data, store, device="cpu", progress=False,
                                     checkpoint_path=tmp_path / "cut.pt", resume=True)
    assert sum(calls) == 4  # only the second pass was trained again
    assert len(history.valid_metric) == 2
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name


def test_time_first_input_is_refused():
    model = M.build_model(small("strong"), 5)
    x, mask = batches_mod.pad_batch([torch.randn(7, 40), torch.randn(4, 40)])
    with pytest.raises(ValueError, match="time-first"):
        model(x.transpose(0, 1), mask)
    with pytest.raises(ValueError, match="batch-first"):
        model(torch.randn(7, 40))


def test_speech_benchmark_crops_are_the_cpu_budgets():
    """``hw4_speech.py --segment-len cpu`` trains each preset with the crop the notebook's CPU
    budget gives it (and a crop in the variant still wins); --reuse matches records on these."""
    from benchmarks.hw4_speech import planned

    for preset in ALL:
        cpu = M.apply_cpu_budget(build_config(M.Config, M.PRESETS, preset))
        assert planned(preset, 16, "cpu") == (16, cpu.segment_len)
    assert planned("boss", 16, "cpu") == (16, 256) and planned("strong", 16, "cpu") == (16, 128)
    assert planned("boss:segment_len=64", 16, "cpu") == (16, 64)
    assert planned("boss", None, None) == (32, 512)
