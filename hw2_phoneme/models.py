"""HW2 phoneme classification: config and presets, the frame-window MLP (simple/medium/strong),
the utterance-level bidirectional RNN (boss), loaders, training one model of an ensemble,
prediction and decoding.

The notebook ``hw2_phoneme.ipynb`` is the narrative; this module is what tests and benchmarks
import.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from common.datasets.libriphone import FEAT_DIM, N_CLASSES, FlatFeatures
from common.seed import set_seed
from common.train import History, fit, pair_forward
from hw2_phoneme.batches import SequenceBatches, WindowBatches


@dataclass
class Config:
    """Every knob of a run; names follow the official sample where it has one."""

    preset: str = "simple"
    smoke: bool = False
    model: str = "mlp"  # "mlp" (frame windows) | "birnn" (whole utterances)
    seed: int = 0
    concat_nframes: int = 1  # odd; frames per window (MLP input, or the BiRNN's front end)
    train_ratio: float = 0.8
    split_seed: int = 1337  # the official train/valid shuffle seed (train_val_seed)
    batch_size: int = 512  # frames (mlp) or utterances (birnn) per batch
    num_epoch: int = 5
    learning_rate: float = 1e-4
    weight_decay: float = 0.01  # AdamW's default, as in the official sample
    hidden_layers: int = 1
    hidden_dim: int = 256
    batchnorm: bool = False
    dropout: float = 0.0
    rnn: str = "lstm"  # "lstm" | "gru"
    bidirectional: bool = True  # False: forward in time only (an ablation)
    front_dim: int = 0  # BiRNN front end width (0: none)
    front_layers: int = 1  # BiRNN front end depth: an MLP over each frame's concat_nframes window
    front_skip: bool = False  # BiRNN head also reads the front end's output (a path around the RNN)
    label_smoothing: float = 0.0  # cross-entropy label smoothing (0: plain cross-entropy)
    rnn_residual: bool = False  # BiRNN: add each layer's input to its output (layers 2..)
    rnn_norm: bool = False  # BiRNN: LayerNorm on each layer's output
    front_raw: bool = False  # BiRNN reads the raw window beside the front end's output
    head_dim: int = 0  # BiRNN head: a hidden layer of this width (Linear-ReLU) before the output (0: linear head)
    time_masks: int = 0  # BiRNN, training only: SpecAugment time masks per utterance
    time_mask_width: int = 0  # ... each up to this many frames wide (zeroed features)
    feat_masks: int = 0  # BiRNN, training only: feature masks per utterance
    feat_mask_width: int = 0  # ... each up to this many of the 39 dimensions wide
    input_noise: float = 0.0  # BiRNN, training only: std of Gaussian noise added to the features
    scheduler: str = "none"  # "none" | "cosine" (per step)
    early_stop: int | None = None
    grad_clip: float | None = None
    min_run: int = 1  # post-processing: merge label runs shorter than this (1 = off)
    tune_min_run: bool = False  # choose min_run in 1..6 on the validation split
    viterbi: bool = False  # also try Viterbi decoding (training-label transitions) on validation
    n_models: int = 1  # ensemble: models trained alike from seeds seed, seed + 1000, ...; posteriors averaged
    max_train_utts: int | None = None  # use only this many training utterances (quick runs)
    eval_batch_size: int = 4096


PRESETS: dict[str, dict[str, Any]] = {
    # The official sample code (public 0.45797 on real data).
    "simple": dict(model="mlp", concat_nframes=1, hidden_layers=1, hidden_dim=256,
                   learning_rate=1e-4, batch_size=512, num_epoch=5),
    # Wider context and more layers (medium baseline: "concat n frames, add layers").
    "medium": dict(model="mlp", concat_nframes=19, hidden_layers=3, hidden_dim=512,
                   learning_rate=1e-3, batch_size=512, num_epoch=10),
    # + batch norm + dropout (strong baseline).
    "strong": dict(model="mlp", concat_nframes=19, hidden_layers=4, hidden_dim=1024,
                   batchnorm=True, dropout=0.25, learning_rate=1e-3, batch_size=512,
                   num_epoch=20, scheduler="cosine"),
    # Sequence labelling (boss baseline): 3 models (seeds seed, seed + 1000, seed + 2000), each a
    # 2-layer BiLSTM over whole utterances reading each frame's 9-frame window, a LayerNorm on
    # each layer's output, dropout 0.3; posteriors averaged, then Viterbi decoding or run-length
    # smoothing, whichever is better on validation. Chosen on the speech-like set's validation
    # split (benchmarks/RESULTS_hw2_speech.md: every choice and what it beat is in the tuning and
    # checks sections). Why: batch 4 utterances gives 4x the optimiser steps of 16; the raw window
    # beat front-end MLPs and wider windows; the LayerNorm lets a short budget go further; the
    # model memorises 200 utterances, so dropout 0.3, width 320 and Viterbi help at 10 epochs; 3
    # models of 10 epochs beat one of 30 (the same compute). 200 utterances, 3 seeds: 0.687 at 10
    # epochs (plain BiLSTM 0.652, 3 plain BiLSTMs 0.668) at 4.6x the plain BiLSTM's time per epoch.
    "boss": dict(model="birnn", concat_nframes=9, front_dim=0, hidden_layers=2, hidden_dim=320,
                 rnn="lstm", rnn_norm=True, dropout=0.3, learning_rate=2e-3, batch_size=4,
                 num_epoch=10, scheduler="cosine", grad_clip=1.0, tune_min_run=True,
                 viterbi=True, n_models=3),
    # CI: whatever the preset, one tiny epoch.
    "smoke": dict(num_epoch=1, hidden_dim=32, hidden_layers=1),
}


# ------------------------------------------------------------------------------------------
# Models
# ------------------------------------------------------------------------------------------

class FrameMLP(nn.Module):
    """The official classifier: (Linear -> [BatchNorm] -> ReLU -> [Dropout]) x (hidden_layers + 1)
    -> Linear. Input [B, concat_nframes * 39] -> logits [B, 41]."""

    def __init__(self, input_dim: int, hidden_layers: int = 1, hidden_dim: int = 256,
                 batchnorm: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(hidden_layers + 1):
            layers.append(nn.Linear(input_dim if i == 0 else hidden_dim, hidden_dim))
            if batchnorm:
                layers.append(nn.BatchNorm1d(hidden_dim))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(hidden_dim, N_CLASSES))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def spec_augment(x: torch.Tensor, lengths: torch.Tensor, time_masks: int = 0,
                 time_width: int = 0, feat_masks: int = 0, feat_width: int = 0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """SpecAugment-style masking (Park et al., 2019) of padded features ``[B, T, D]``: in each
    utterance ``time_masks`` stretches of up to ``time_width`` frames (within its own length) and
    ``feat_masks`` bands of up to ``feat_width`` feature dimensions are set to 0 (the mean of the
    normalised features). Widths and positions are drawn uniformly from ``generator`` (default:
    torch's global RNG). Returns a new tensor; ``x`` is untouched."""
    b, t, d = x.shape
    keep = torch.ones(b, t, d, dtype=torch.bool, device=x.device)
    for n, width, size, dim in ((time_masks, time_width, lengths.to(x.device), 1),
                                (feat_masks, feat_width, torch.full((b,), d, device=x.device), 2)):
        if n <= 0 or width <= 0:
            continue
        w = torch.randint(0, width + 1, (b, n), generator=generator).to(x.device)
        room = (size[:, None] - w + 1).clamp(min=1)
        start = (torch.rand(b, n, generator=generator).to(x.device) * room).long()
        pos = torch.arange(x.shape[dim], device=x.device)
        hit = ((pos >= start[..., None]) & (pos < (start + w)[..., None])).any(1)  # [B, T or D]
        keep &= hit.logical_not().unsqueeze(3 - dim)
    return x * keep


def _edge_windows(x: torch.Tensor, lengths: torch.Tensor, concat_nframes: int) -> torch.Tensor:
    """[B, T, D] padded -> [B, T, concat_nframes * D], each frame's window with the edge frames of
    its own utterance replicated (the official concat_feat), never reading padding."""
    b, t, d = x.shape
    k = concat_nframes // 2
    shifts = torch.arange(-k, k + 1, device=x.device)
    pos = torch.arange(t, device=x.device)[:, None] + shifts[None, :]  # [T, n]
    last = (lengths.to(x.device) - 1).clamp(min=0)[:, None, None]  # [B, 1, 1]
    pos = torch.minimum(pos.clamp(min=0)[None], last)  # [B, T, n]
    rows = torch.arange(b, device=x.device)[:, None, None]
    return x[rows, pos].reshape(b, t, concat_nframes * d)


class BiRNN(nn.Module):
    """A multi-layer bidirectional LSTM/GRU on padded batches ``[B, T, D]`` + lengths ``[B]`` ->
    ``[B, T, 2 * hidden_dim]``, exact for every real frame without packing.

    Why not ``pack_padded_sequence``: on CPU the backward pass of a packed ``nn.LSTM`` is
    dramatically slower than this padded version (see benchmarks/RESULTS_hw2_throughput.md).
    Instead each layer runs a forward RNN on the padded batch (padding comes after the real
    frames, so it cannot reach them) and a backward RNN on each utterance reversed *within its
    own length* (padding again stays at the end), then un-reverses.
    Parameters and dropout placement are those of ``nn.LSTM(..., bidirectional=True)``.
    ``bidirectional=False`` keeps only the forward RNNs (output ``[B, T, hidden_dim]``), the
    ablation that shows what the right context is worth.
    """

    def __init__(self, input_dim: int, hidden_dim: int, num_layers: int = 3, rnn: str = "lstm",
                 dropout: float = 0.0, bidirectional: bool = True, residual: bool = False,
                 norm: bool = False) -> None:
        super().__init__()
        cell = {"lstm": nn.LSTM, "gru": nn.GRU}[rnn]
        self.out_dim = hidden_dim * (2 if bidirectional else 1)
        dims = [input_dim] + [self.out_dim] * (num_layers - 1)
        self.fwd = nn.ModuleList(cell(d, hidden_dim, batch_first=True) for d in dims)
        self.bwd = nn.ModuleList(cell(d, hidden_dim, batch_first=True) for d in dims
                                 ) if bidirectional else None
        self.dropout = nn.Dropout(dropout)
        self.residual = residual
        self.norms = nn.ModuleList(nn.LayerNorm(self.out_dim) for _ in dims) if norm else None

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        t = torch.arange(x.shape[1], device=x.device)[None, :]
        n = lengths.to(x.device)[:, None]
        rev = torch.where(t < n, n - 1 - t, t)[:, :, None]  # per-utterance time reversal [B, T, 1]
        h = x
        for i, fwd in enumerate(self.fwd):
            if i > 0:
                h = self.dropout(h)
            out, _ = fwd(h)
            if self.bwd is not None:
                out_b, _ = self.bwd[i](h.gather(1, rev.expand(-1, -1, h.shape[2])))
                out_b = out_b.gather(1, rev.expand(-1, -1, out_b.shape[2]))
                out = torch.cat([out, out_b], dim=2)
            if self.residual and i > 0:
                out = out + h
            if self.norms is not None:
                out = self.norms[i](out)
            h = out
        return h


class BiRNNTagger(nn.Module):
    """Labels every frame of whole utterances in one pass.

    ``[B, T, 39]`` padded features + lengths ``[B]`` -> logits ``[B, T, 41]`` (rows past an
    utterance's length are meaningless and must be masked out by the caller). Optional front
    end: an MLP of ``front_layers`` layers (Linear -> LayerNorm -> ReLU -> Dropout) over each
    frame's ``concat_nframes`` window (edge-replicated); with ``front_skip`` the head reads the
    front end's output beside the RNN's. Each utterance's result is independent of the others
    in its batch (see :class:`BiRNN`).
    """

    def __init__(self, input_dim: int = FEAT_DIM, concat_nframes: int = 1, front_dim: int = 256,
                 hidden_dim: int = 256, hidden_layers: int = 3, rnn: str = "lstm",
                 dropout: float = 0.3, bidirectional: bool = True, front_layers: int = 1,
                 front_skip: bool = False, rnn_residual: bool = False, rnn_norm: bool = False,
                 head_dim: int = 0, front_raw: bool = False,
                 masks: tuple[int, int, int, int] = (0, 0, 0, 0), input_noise: float = 0.0
                 ) -> None:
        super().__init__()
        self.concat_nframes = concat_nframes
        self.masks = masks  # (time_masks, time_mask_width, feat_masks, feat_mask_width)
        self.input_noise = input_noise
        in_dim = input_dim * concat_nframes
        self.front = nn.ModuleList()
        for _ in range(front_layers if front_dim > 0 else 0):
            self.front.append(nn.Sequential(nn.Linear(in_dim, front_dim), nn.LayerNorm(front_dim),
                                            nn.ReLU(), nn.Dropout(dropout)))
            in_dim = front_dim
        self.front_raw = front_raw and len(self.front) > 0
        if self.front_raw:
            in_dim += input_dim * concat_nframes
        self.rnn = BiRNN(in_dim, hidden_dim, hidden_layers, rnn,
                         dropout if hidden_layers > 1 else 0.0, bidirectional, rnn_residual,
                         rnn_norm)
        self.front_skip = front_skip
        head_in = self.rnn.out_dim + (in_dim if front_skip else 0)
        hidden = ([nn.Dropout(dropout), nn.Linear(head_in, head_dim), nn.ReLU()]
                  if head_dim > 0 else [])
        self.head = nn.Sequential(*hidden, nn.Dropout(dropout),
                                  nn.Linear(head_dim or head_in, N_CLASSES))

    def front_end(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``[B, T, 39]`` + lengths -> the RNN's input ``[B, T, in_dim]``."""
        if self.training and any(self.masks):  # SpecAugment: training only, never at evaluation
            x = spec_augment(x, lengths, *self.masks)
        if self.training and self.input_noise > 0:  # Gaussian noise: training only
            x = x + self.input_noise * torch.randn_like(x)
        if self.concat_nframes > 1:  # each frame's window, edges replicated within its utterance
            x = _edge_windows(x, lengths, self.concat_nframes)
        raw = x
        for layer in self.front:  # an MLP over each frame's window
            x = layer(x)
        return torch.cat([raw, x], dim=2) if self.front_raw else x

    def features(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``[B, T, 39]`` + lengths -> the head's input ``[B, T, head_in]``."""
        x = self.front_end(x, lengths)
        h = self.rnn(x, lengths)
        return torch.cat([h, x], dim=2) if self.front_skip else h

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x, lengths))


def sequence_forward(model: nn.Module, batch: dict[str, torch.Tensor]
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """``fit`` forward for padded utterance batches: the real frames' logits [N, 41] and labels [N]."""
    logits = model(batch["x"], batch["lengths"])
    mask = batch["mask"]
    return logits[mask], batch["y"][mask]


def build_model(cfg: Config) -> nn.Module:
    if cfg.model == "mlp":
        return FrameMLP(FEAT_DIM * cfg.concat_nframes, cfg.hidden_layers, cfg.hidden_dim,
                        cfg.batchnorm, cfg.dropout)
    if cfg.model == "birnn":
        return BiRNNTagger(FEAT_DIM, cfg.concat_nframes, cfg.front_dim, cfg.hidden_dim,
                           cfg.hidden_layers, cfg.rnn, cfg.dropout, cfg.bidirectional,
                           cfg.front_layers, cfg.front_skip, cfg.rnn_residual, cfg.rnn_norm,
                           cfg.head_dim, cfg.front_raw,
                           (cfg.time_masks, cfg.time_mask_width, cfg.feat_masks,
                            cfg.feat_mask_width), cfg.input_noise)
    raise ValueError(f"model must be 'mlp' or 'birnn', got {cfg.model!r}")


def forward_fn(cfg: Config):
    return sequence_forward if cfg.model == "birnn" else pair_forward


def make_loader(cfg: Config, data: FlatFeatures, utts: Sequence[int] | None, train: bool):
    """Training (shuffled) or evaluation (in order) batches for ``cfg.model``."""
    if cfg.model == "birnn":
        return SequenceBatches(data, utts, batch_size=cfg.batch_size, shuffle=train,
                               seed=cfg.seed)
    return WindowBatches(data, utts, concat_nframes=cfg.concat_nframes,
                         batch_size=cfg.batch_size if train else cfg.eval_batch_size,
                         shuffle=train, seed=cfg.seed)


def utterance_labels(data: FlatFeatures, utts: Sequence[int]) -> list[torch.Tensor]:
    """The frame labels [T_i] of each utterance ``i`` in ``utts`` (views of ``data.labels``)."""
    return [data.labels[data.offsets[u]:data.offsets[u + 1]] for u in utts]


def member_seeds(cfg: Config) -> list[int]:
    """The seeds of the ``cfg.n_models`` models of an ensemble: ``seed``, ``seed + 1000``, ...
    (the first model is the one a single-model run of ``cfg`` trains)."""
    if cfg.n_models < 1:
        raise ValueError(f"n_models must be >= 1, got {cfg.n_models}")
    return [cfg.seed + 1000 * k for k in range(cfg.n_models)]


def train_model(cfg: Config, data: FlatFeatures, train_utts: Sequence[int], valid_utts: Sequence[int],
                *, device: torch.device | str = "cpu", checkpoint_path: str | os.PathLike | None = None,
                resume: bool = False, config: dict | None = None, progress: bool = True
                ) -> tuple[nn.Module, History]:
    """One model of ``cfg``, initialised and shuffled by ``cfg.seed``: AdamW, the preset's
    schedule (cosine: per step), cross-entropy, ``fit`` keeping the best validation epoch and
    checkpointing every epoch to ``checkpoint_path`` (``resume`` continues from it)."""
    set_seed(cfg.seed)
    model = build_model(cfg)
    train_loader = make_loader(cfg, data, train_utts, train=True)
    valid_loader = make_loader(cfg, data, valid_utts, train=False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, cfg.num_epoch * len(train_loader))
                 if cfg.scheduler == "cosine" else None)
    history = fit(model, train_loader, valid_loader, optimizer=optimizer, n_epochs=cfg.num_epoch,
                  criterion=nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing),
                  forward=forward_fn(cfg), scheduler=scheduler, metric="accuracy",
                  early_stop=cfg.early_stop, checkpoint_path=checkpoint_path, resume=resume,
                  config=config, device=device, amp=True, grad_clip=cfg.grad_clip, progress=progress)
    return model, history


# ------------------------------------------------------------------------------------------
# Prediction and post-processing
# ------------------------------------------------------------------------------------------

@torch.no_grad()
def predict_logits(model: nn.Module, cfg: Config, data: FlatFeatures,
                   utts: Sequence[int] | None = None, device: torch.device | str = "cpu"
                   ) -> torch.Tensor:
    """float32 [N, 41] logits for every frame of ``utts`` (default all), in utterance order then
    time order, i.e. exactly the order of the submission rows for the test split."""
    model.eval().to(device)
    utts = list(range(len(data))) if utts is None else list(utts)
    lengths = data.lengths[utts]
    out = torch.empty(int(lengths.sum()), N_CLASSES)
    if cfg.model == "birnn":
        # Where each selected utterance starts in the output.
        start = dict(zip(utts, (torch.cumsum(lengths, 0) - lengths).tolist()))
        loader = SequenceBatches(data, utts, batch_size=max(cfg.batch_size, 32))
        for batch in loader:
            logits = model(batch["x"].to(device), batch["lengths"]).cpu()
            for row, (u, n) in enumerate(zip(batch["utt"].tolist(), batch["lengths"].tolist())):
                out[start[u]:start[u] + n] = logits[row, :n]
    else:
        pos = 0
        for batch in make_loader(cfg, data, utts, train=False):
            logits = model(batch[0].to(device)).cpu()
            out[pos:pos + len(logits)] = logits
            pos += len(logits)
    return out


def mean_log_posteriors(logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """float64 [N, 41]: the log of the models' mean posterior (softmax), from each model's
    logits [N, 41] for the same frames; one model gives its own log-softmax."""
    log_probs = torch.stack([torch.log_softmax(x.double(), dim=1) for x in logits])
    return torch.logsumexp(log_probs, dim=0) - math.log(len(logits))


def merge_short_runs(labels: np.ndarray, min_run: int) -> np.ndarray:
    """Smooth one utterance's frame labels [T]: every run shorter than ``min_run`` frames is
    relabelled as its longer neighbouring run (left on ties), shortest runs first, until none is
    left (or one run remains). ``min_run <= 1`` returns a copy."""
    labels = np.asarray(labels)
    if min_run <= 1 or labels.size == 0:
        return labels.copy()
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.r_[0, change]
    values = labels[starts].tolist()
    runs = np.diff(np.r_[starts, labels.size]).tolist()
    while len(runs) > 1:
        i = int(np.argmin(runs))
        if runs[i] >= min_run:
            break
        left = runs[i - 1] if i > 0 else -1
        right = runs[i + 1] if i + 1 < len(runs) else -1
        j = i - 1 if left >= right else i + 1
        runs[j] += runs[i]
        del runs[i], values[i]
        # Merging may make two neighbours equal: join them.
        k = i - 1  # the merged run and its other neighbour now sit at k and k + 1
        if 0 <= k < len(runs) - 1 and values[k] == values[k + 1]:
            runs[k] += runs[k + 1]
            del runs[k + 1], values[k + 1]
    return np.repeat(values, runs).astype(labels.dtype)


def per_utterance(values: np.ndarray, lengths: Sequence[int], fn) -> np.ndarray:
    """``fn`` applied to each utterance's slice of the flat ``values`` [N, ...] (utterance
    order, ``sum(lengths) == N``), the results concatenated back into one flat array [N]."""
    bounds = np.r_[0, np.cumsum(lengths)].astype(int)
    if bounds[-1] != len(values):
        raise ValueError(f"lengths sum to {bounds[-1]} frames, but there are {len(values)}")
    return np.concatenate([np.asarray(fn(values[a:b]), dtype=np.int64)
                           for a, b in zip(bounds[:-1], bounds[1:])] or [np.zeros(0, np.int64)])


def smooth_predictions(pred: np.ndarray, lengths: Sequence[int], min_run: int) -> np.ndarray:
    """:func:`merge_short_runs` applied to each utterance of a flat prediction [N]."""
    if min_run <= 1:
        return np.asarray(pred).copy()
    return per_utterance(np.asarray(pred), lengths, lambda p: merge_short_runs(p, min_run))


def transition_log_probs(label_seqs: Sequence[np.ndarray | torch.Tensor],
                         n_classes: int = N_CLASSES, alpha: float = 1.0
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Initial ``[C]`` and transition ``[C, C]`` (row: from, column: to) log-probabilities of
    frame labels, counted over the given utterances' label sequences [T_i] with add-``alpha``
    smoothing, so that no transition is impossible."""
    init = np.full(n_classes, float(alpha))
    trans = np.full((n_classes, n_classes), float(alpha))
    for seq in label_seqs:
        seq = np.asarray(seq, dtype=np.int64)
        if seq.size:
            init[seq[0]] += 1
            np.add.at(trans, (seq[:-1], seq[1:]), 1)
    return (np.log(init / init.sum()), np.log(trans / trans.sum(1, keepdims=True)))


def viterbi(log_probs: np.ndarray, log_trans: np.ndarray, log_init: np.ndarray | None = None,
            weight: float = 1.0) -> np.ndarray:
    """The label path [T] maximising ``sum_t log_probs[t, y_t] + weight * (log_init[y_0] +
    sum_t log_trans[y_{t-1}, y_t])`` for one utterance's per-frame log-posteriors [T, C] (the
    classifier's outputs used as emission scores). Vectorised over classes; loops over time.
    Ties go to the lowest class index."""
    log_probs = np.asarray(log_probs, dtype=np.float64)
    t_len, n = log_probs.shape
    if t_len == 0:
        return np.zeros(0, dtype=np.int64)
    trans = weight * np.asarray(log_trans, dtype=np.float64)
    score = log_probs[0] + (weight * np.asarray(log_init) if log_init is not None else 0.0)
    back = np.zeros((t_len, n), dtype=np.int64)
    cols = np.arange(n)
    for t in range(1, t_len):
        cand = score[:, None] + trans  # [from, to]
        back[t] = cand.argmax(0)
        score = cand[back[t], cols] + log_probs[t]
    path = np.empty(t_len, dtype=np.int64)
    path[-1] = int(score.argmax())
    for t in range(t_len - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


# Weights on the transition term that the validation step tries when ``Config.viterbi`` is on.
VITERBI_WEIGHTS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def decodings(cfg: Config) -> list[tuple[str, float]]:
    """The decodings the validation step compares for ``cfg``: ``("min_run", k)`` run-length
    smoothing (k = 1: the raw argmax) and, with ``cfg.viterbi``, ``("viterbi", weight)``."""
    runs = range(1, 7) if cfg.tune_min_run else [cfg.min_run]
    return ([("min_run", k) for k in runs]
            + ([("viterbi", w) for w in VITERBI_WEIGHTS] if cfg.viterbi else []))


def decode(logits: torch.Tensor | np.ndarray, lengths: Sequence[int],
           decoding: tuple[str, float],
           transitions: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Flat frame labels [N] from flat logits [N, 41] of utterances of ``lengths`` (or
    log-posteriors, e.g. an ensemble's :func:`mean_log_posteriors`), by one of
    :func:`decodings`; Viterbi needs ``transitions = (log_init, log_trans)`` from
    :func:`transition_log_probs` of the training labels."""
    kind, value = decoding
    logits = torch.as_tensor(logits)
    if kind == "min_run":
        return smooth_predictions(logits.argmax(1).numpy(), lengths, int(value))
    if kind == "viterbi":
        if transitions is None:
            raise ValueError("Viterbi decoding needs transitions=(log_init, log_trans)")
        log_init, log_trans = transitions
        log_probs = torch.log_softmax(logits.double(), dim=1).numpy()
        return per_utterance(log_probs, lengths,
                             lambda lp: viterbi(lp, log_trans, log_init, weight=value))
    raise ValueError(f"decoding must be ('min_run', k) or ('viterbi', weight), got {decoding!r}")


def score_decodings(logits: torch.Tensor | np.ndarray, lengths: Sequence[int], y_true: np.ndarray,
                     options: Sequence[tuple[str, float]],
                     transitions: tuple[np.ndarray, np.ndarray] | None = None
                     ) -> dict[tuple[str, float], float]:
    """Frame accuracy against ``y_true`` [N] of each decoding in ``options`` (:func:`decode`)."""
    return {d: float((decode(logits, lengths, d, transitions) == y_true).mean()) for d in options}


def decoding_name(decoding: tuple[str, float]) -> str:
    """``("viterbi", 1.5)`` -> ``"viterbi (weight 1.5)"``, ``("min_run", 2)`` -> ``"min_run 2"``."""
    kind, value = decoding
    return f"viterbi (weight {value:g})" if kind == "viterbi" else f"min_run {int(value)}"


def per_class_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """[41] accuracy (recall) per true class; NaN for classes absent from ``y_true``."""
    total = np.bincount(y_true, minlength=N_CLASSES).astype(float)
    correct = np.bincount(y_true[y_true == y_pred], minlength=N_CLASSES)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, correct / total, np.nan)


def plot_confusion(y_true: np.ndarray, y_pred: np.ndarray, title: str = "", path=None):
    """Row-normalised confusion matrix over the 41 classes (rows: true class; a class absent
    from ``y_true`` gets a row of zeros)."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix  # imported here: ~1 s

    from common.plotting import save_figure

    rates = confusion_matrix(y_true, y_pred, labels=np.arange(N_CLASSES), normalize="true")
    fig, ax = plt.subplots(figsize=(6, 5.2))
    im = ax.imshow(rates, cmap="viridis", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return save_figure(fig, path)
