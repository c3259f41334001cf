"""Batches for HW2 models: the official train/validation split by utterance, frame windows
gathered on the fly from flat memory (the MLP presets) and padded whole utterances (the
sequence presets)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence

import torch

from common.datasets.libriphone import IGNORE_INDEX, FlatFeatures


def split_by_utterance(n_utterances: int, train_ratio: float = 0.8,
                       seed: int = 1337) -> tuple[list[int], list[int]]:
    """Indices of the training and validation utterances (never a frame-level split).

    Reproduces the official sample exactly: ``random.seed(seed); random.shuffle(lines)``,
    the first ``int(n * train_ratio)`` are training. A private ``random.Random`` is used so
    the global RNG is untouched.
    """
    order = list(range(n_utterances))
    random.Random(seed).shuffle(order)
    cut = int(n_utterances * train_ratio)
    return order[:cut], order[cut:]


def gather_windows(feats: torch.Tensor, frames: torch.Tensor, first: torch.Tensor,
                   last: torch.Tensor, concat_nframes: int) -> torch.Tensor:
    """Context windows of ``concat_nframes`` (odd) frames centred on ``frames``.

    Args:
        feats: [N, D] flat features.
        frames, first, last: int64 [B]: the centre frame and its utterance's first and last
            frame (inclusive), as flat indices.

    Returns:
        [B, concat_nframes * D]: frames ``t-k .. t+k`` side by side, positions outside the
        utterance clamped to its edge frame (identical to the official ``concat_feat``).
    """
    if concat_nframes < 1 or concat_nframes % 2 == 0:
        raise ValueError(f"concat_nframes must be odd and >= 1, got {concat_nframes}")
    k = concat_nframes // 2
    shifts = torch.arange(-k, k + 1, device=frames.device)
    pos = frames[:, None] + shifts[None, :]
    pos = torch.maximum(torch.minimum(pos, last[:, None]), first[:, None])
    return feats[pos].reshape(len(frames), concat_nframes * feats.shape[1])


class WindowBatches:
    """``(x [B, concat_nframes * 39], y [B])`` minibatches over the frames of some utterances,
    each window gathered when its batch is drawn (memory independent of the width).

    Args:
        data: the flat features (shared, never copied).
        utterances: indices into ``data`` of the utterances to use (default all).
        shuffle: reshuffle frames every pass with the seeded ``generator`` (saved by ``fit``).
        max_batches: stop a pass after this many batches (step-based epochs).
    Test data (no labels) yields ``x`` only.
    """

    def __init__(self, data: FlatFeatures, utterances: Sequence[int] | None = None, *,
                 concat_nframes: int = 1, batch_size: int = 512, shuffle: bool = False,
                 seed: int = 0, max_batches: int | None = None) -> None:
        if concat_nframes < 1 or concat_nframes % 2 == 0:
            raise ValueError(f"concat_nframes must be odd and >= 1, got {concat_nframes}")
        self.data, self.concat_nframes, self.batch_size = data, concat_nframes, batch_size
        self.shuffle, self.max_batches = shuffle, max_batches
        utts = torch.arange(len(data)) if utterances is None else torch.as_tensor(
            list(utterances), dtype=torch.long)
        lengths = data.lengths[utts]
        # Per selected frame: its flat index and its utterance (int32 keeps this ~12 B/frame).
        self.utt_of = torch.repeat_interleave(utts, lengths).to(torch.int32)
        starts = data.offsets[utts]
        base = torch.repeat_interleave(starts - torch.cumsum(lengths, 0) + lengths, lengths)
        self.frames = (torch.arange(int(lengths.sum())) + base).to(torch.int64)
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    def __len__(self) -> int:
        n = math.ceil(self.n_frames / self.batch_size)
        return n if self.max_batches is None else min(n, self.max_batches)

    def batch(self, sel: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The batch for positions ``sel`` (int64 [B]) of this dataset's frame list."""
        frames = self.frames[sel]
        utt = self.utt_of[sel].long()
        first = self.data.offsets[utt]
        last = self.data.offsets[utt + 1] - 1
        x = gather_windows(self.data.feats, frames, first, last, self.concat_nframes)
        if self.data.labels is None:
            return (x,)
        return x, self.data.labels[frames]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        n = self.n_frames
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for b, start in enumerate(range(0, n, self.batch_size)):
            if self.max_batches is not None and b >= self.max_batches:
                return
            yield self.batch(order[start:start + self.batch_size])


def pad_utterances(data: FlatFeatures, utts: Sequence[int]) -> dict[str, torch.Tensor]:
    """Whole utterances padded to the longest one.

    Returns a dict: ``x`` float32 [B, T, 39] (zeros after the end), ``lengths`` int64 [B],
    ``mask`` bool [B, T], ``y`` int64 [B, T] (``IGNORE_INDEX`` on padding; absent for test),
    ``utt`` int64 [B] (indices into ``data``).
    """
    utts_t = torch.as_tensor(list(utts), dtype=torch.long)
    lengths = data.lengths[utts_t]
    t_max = int(lengths.max())
    mask = torch.arange(t_max)[None, :] < lengths[:, None]
    # Flat index of every real frame, row by row; padded slots are filled by masking.
    idx = (data.offsets[utts_t][:, None] + torch.arange(t_max)[None, :])[mask]
    x = torch.zeros(len(utts_t), t_max, data.feats.shape[1])
    x[mask] = data.feats[idx]
    batch = {"x": x, "lengths": lengths, "mask": mask, "utt": utts_t}
    if data.labels is not None:
        y = torch.full((len(utts_t), t_max), IGNORE_INDEX, dtype=torch.long)
        y[mask] = data.labels[idx]
        batch["y"] = y
    return batch


class SequenceBatches:
    """Length-bucketed batches of whole utterances (see :func:`pad_utterances` for the dict).

    Utterances are sorted by length and cut into batches of ``batch_size`` so little is
    padded; with ``shuffle`` the sort is done within random pools of ``bucket_factor``
    batches and the batch order is shuffled, with the seeded ``generator``.
    """

    def __init__(self, data: FlatFeatures, utterances: Sequence[int] | None = None, *,
                 batch_size: int = 16, shuffle: bool = False, seed: int = 0,
                 bucket_factor: int = 50) -> None:
        self.data, self.batch_size, self.shuffle = data, batch_size, shuffle
        self.bucket_factor = bucket_factor
        self.utts = torch.arange(len(data)) if utterances is None else torch.as_tensor(
            list(utterances), dtype=torch.long)
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def n_frames(self) -> int:
        return int(self.data.lengths[self.utts].sum())

    def __len__(self) -> int:
        return math.ceil(len(self.utts) / self.batch_size)

    def _batches(self) -> list[torch.Tensor]:
        utts = self.utts
        if self.shuffle:
            utts = utts[torch.randperm(len(utts), generator=self.generator)]
        pool = self.batch_size * self.bucket_factor if self.shuffle else len(utts)
        batches = []
        for start in range(0, len(utts), max(pool, 1)):
            chunk = utts[start:start + pool]
            chunk = chunk[torch.argsort(self.data.lengths[chunk], descending=True, stable=True)]
            batches += list(chunk.split(self.batch_size))
        if self.shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=self.generator)]
        return batches

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        for utts in self._batches():
            yield pad_utterances(self.data, utts.tolist())

