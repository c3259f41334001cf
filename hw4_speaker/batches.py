"""HW4 batches: random-crop training batches and length-bucketed padded whole-utterance batches
with masks (boolean ``[B, T]``, True on real frames; padded frames are zero)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

from common.datasets.voxceleb import FeatureStore


def pad_batch(mels: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad ``[T_i, D]`` tensors with zeros: ``(x [B, T_max, D], mask [B, T_max])``."""
    x = pad_sequence(list(mels), batch_first=True)
    lengths = torch.tensor([m.shape[0] for m in mels])
    return x, torch.arange(x.shape[1]) < lengths[:, None]


class CropDataset(Dataset):
    """Training items: a random ``segment_len``-frame crop and the speaker id.

    Shorter utterances are kept whole (the batch pads them and the mask hides the padding;
    the course code padded with -20 instead, which the model then sees as frames).
    Crops use torch's global RNG (saved in ``fit`` checkpoints; seeded per DataLoader worker).
    """

    def __init__(self, store: FeatureStore, items: Sequence[tuple[str, int, int]], segment_len: int) -> None:
        self.store, self.items, self.segment_len = store, list(items), segment_len

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        name, _, label = self.items[i]
        mel = self.store[name]
        length = mel.shape[0]
        if length > self.segment_len:
            start = int(torch.randint(0, length - self.segment_len + 1, ()).item())
            mel = mel[start:start + self.segment_len]
        return mel, label


def collate_crops(batch: Sequence[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x [B, T, D], mask [B, T], labels [B])``."""
    x, mask = pad_batch([m for m, _ in batch])
    return x, mask, torch.tensor([y for _, y in batch], dtype=torch.long)


def crop_loader(dataset: CropDataset, batch_size: int, steps_per_pass: int, seed: int,
                num_workers: int = 0) -> torch.utils.data.DataLoader:
    """A DataLoader yielding exactly ``steps_per_pass`` random batches per iteration (one
    ``fit`` "epoch" = one validation interval). Sampling with replacement, seeded; its
    ``generator`` is saved and restored by ``fit`` checkpoints. Crops draw from torch's RNG,
    which the DataLoader seeds in each worker from ``generator``."""
    gen = torch.Generator().manual_seed(seed)
    sampler = torch.utils.data.RandomSampler(dataset, replacement=True,
                                             num_samples=steps_per_pass * batch_size, generator=gen)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=True,
                                       collate_fn=collate_crops, num_workers=num_workers,
                                       generator=gen, pin_memory=torch.cuda.is_available())


def bucket_batches(lengths: Sequence[int], batch_size: int, max_frames: int | None = None) -> list[list[int]]:
    """Group indices of similar length: sorted by length, cut into batches of at most
    ``batch_size`` items and ``max_frames`` padded frames (B * T_max), so padding and memory
    stay small even for the 7,193-frame outliers."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[i]  # sorted ascending: the newcomer is the longest
        if current and (len(current) >= batch_size or
                        (max_frames is not None and (len(current) + 1) * longest > max_frames)):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


class UtteranceBatches:
    """Whole utterances in length-bucketed padded batches (validation and test).

    Yields ``(x [B, T, D], mask [B, T], labels [B], index [B])``: ``index`` is the position in
    ``items`` (to restore the file order); labels are -1 for unlabelled (test) items.
    """

    def __init__(self, store: FeatureStore, items: Sequence[tuple], batch_size: int = 32,
                 max_frames: int | None = 32 * 1024, crop: int | None = None) -> None:
        self.store, self.items, self.crop = store, list(items), crop
        lengths = [min(it[1], crop) if crop else it[1] for it in self.items]
        self.batches = bucket_batches(lengths, batch_size, max_frames)

    def __len__(self) -> int:
        return len(self.batches)

    def _mel(self, item: tuple) -> torch.Tensor:
        mel = self.store[item[0]]
        if self.crop and mel.shape[0] > self.crop:  # centre crop, only to show the crop trap
            start = (mel.shape[0] - self.crop) // 2
            mel = mel[start:start + self.crop]
        return mel

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
        for idx in self.batches:
            x, mask = pad_batch([self._mel(self.items[i]) for i in idx])
            labels = torch.tensor([self.items[i][2] if len(self.items[i]) > 2 else -1 for i in idx])
            yield x, mask, labels, torch.tensor(idx)

