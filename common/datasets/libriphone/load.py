"""HW2 "libriphone" (framewise phoneme classification): a checked loader that keeps every
feature frame once in memory.

Layout (ML2022Spring HW2, Kaggle ``ml2022spring-hw2``)::

    libriphone/train_split.txt      utterance ids, one per line (no trailing newline)
    libriphone/test_split.txt
    libriphone/train_labels.txt     "<utt_id> l1 l2 ... lT", one label (0..40) per frame
    libriphone/feat/train/<utt_id>.pt   float32 tensor [T, 39] (MFCC, per-utterance CMVN)
    libriphone/feat/test/<utt_id>.pt

Why flat memory: the official sample materialises every (2k+1)-frame window
(``torch.empty(3_000_000, 39 * concat_nframes)`` per split), so RAM grows linearly with the
context width (about 25 GB for train + valid at 61 frames). Here the features of all
utterances are one ``[N, 39]`` tensor plus offsets; ``hw2_phoneme/batches.py`` gathers a batch
of windows with index arithmetic, so memory does not depend on the width.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from common.datasets import load_frames

N_CLASSES = 41
FEAT_DIM = 39
SILENCE = 0
IGNORE_INDEX = -100  # label of padded frames (nn.CrossEntropyLoss's default ignore_index)


class LibriphoneFormatError(ValueError):
    """A libriphone file that does not have the course layout; the message names file/utterance."""


def read_split(path: str | os.PathLike) -> list[str]:
    """Utterance ids of a ``*_split.txt`` in file order (blank lines ignored)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: split list not found")
    ids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not ids:
        raise LibriphoneFormatError(f"{path}: no utterance ids (empty split list)")
    seen: set[str] = set()
    for i, u in enumerate(ids, start=1):
        if u in seen:
            raise LibriphoneFormatError(f"{path} line {i}: utterance {u!r} listed twice")
        seen.add(u)
    return ids


def read_labels(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """``train_labels.txt`` -> {utt_id: int64 labels [T]}; checks every label is in 0..40."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: label file not found")
    labels: dict[str, np.ndarray] = {}
    with open(path) as f:
        for lineno, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            utt, values = fields[0], fields[1:]
            try:
                arr = np.array(values, dtype=np.int64)
            except ValueError:
                raise LibriphoneFormatError(
                    f"{path} line {lineno} (utterance {utt}): labels must be integers") from None
            if arr.size == 0 or arr.min() < 0 or arr.max() >= N_CLASSES:
                raise LibriphoneFormatError(
                    f"{path} line {lineno} (utterance {utt}): expected 1+ labels in "
                    f"0..{N_CLASSES - 1}, got {arr.size} labels"
                    + (f" in {arr.min()}..{arr.max()}" if arr.size else ""))
            if utt in labels:
                raise LibriphoneFormatError(f"{path} line {lineno}: utterance {utt} labelled twice")
            labels[utt] = arr
    return labels


def load_feature(path: str | os.PathLike) -> torch.Tensor:
    """One ``feat/<mode>/<utt>.pt`` -> float32 [T, 39], checked (shape, finite values)."""
    return load_frames(path, FEAT_DIM, LibriphoneFormatError, "coefficient")


@dataclass
class FlatFeatures:
    """All frames of a list of utterances, stored once.

    Attributes:
        feats: float32 [N, 39], utterance after utterance in ``utt_ids`` order.
        offsets: int64 [U + 1]; utterance ``i`` is ``feats[offsets[i]:offsets[i + 1]]``.
        utt_ids: U utterance ids.
        labels: int64 [N] frame labels, or None (test split).
    """

    feats: torch.Tensor
    offsets: torch.Tensor
    utt_ids: list[str]
    labels: torch.Tensor | None = None

    @property
    def lengths(self) -> torch.Tensor:
        """int64 [U] frames per utterance."""
        return self.offsets[1:] - self.offsets[:-1]

    @property
    def n_frames(self) -> int:
        return int(self.offsets[-1])

    def __len__(self) -> int:
        return len(self.utt_ids)

    def utterance(self, i: int) -> torch.Tensor:
        """[T_i, 39] features of utterance ``i`` (a view)."""
        return self.feats[self.offsets[i]:self.offsets[i + 1]]


def load_libriphone(data_dir: str | os.PathLike, split: str = "train",
                    utt_ids: Sequence[str] | None = None, with_labels: bool = True
                    ) -> FlatFeatures:
    """Read one split (``"train"``, labelled unless ``with_labels=False``, or ``"test"``) of a
    libriphone folder into flat memory: the utterances ``utt_ids``, by default the whole
    ``<split>_split.txt`` in file order. Errors name the missing file, or the utterance whose
    label count differs from its frame count."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(data_dir)
    ids = list(utt_ids) if utt_ids is not None else read_split(root / f"{split}_split.txt")
    label_dict = read_labels(root / "train_labels.txt") if split == "train" and with_labels \
        else None
    if label_dict is not None:
        missing = [u for u in ids if u not in label_dict]
        if missing:
            raise LibriphoneFormatError(f"{root / 'train_labels.txt'}: no labels for utterance "
                                        f"{missing[0]}" + (f" (and {len(missing) - 1} more)"
                                                           if len(missing) > 1 else ""))
        # Label counts give every length in advance: one exact allocation, no concat copy.
        lengths = [len(label_dict[u]) for u in ids]
        feats = torch.empty(sum(lengths), FEAT_DIM)
        labels = torch.empty(sum(lengths), dtype=torch.long)
        pos = 0
        for u, n in zip(ids, lengths):
            path = root / "feat" / split / f"{u}.pt"
            f = load_feature(path)
            if len(f) != n:
                raise LibriphoneFormatError(
                    f"utterance {u}: {n} labels in train_labels.txt but {len(f)} frames in {path}")
            feats[pos:pos + n] = f
            labels[pos:pos + n] = torch.from_numpy(label_dict.pop(u))
            pos += n
    else:
        parts = [load_feature(root / "feat" / split / f"{u}.pt") for u in ids]
        lengths = [len(p) for p in parts]
        feats = torch.cat(parts) if parts else torch.empty(0, FEAT_DIM)
        del parts
        labels = None
    offsets = torch.zeros(len(ids) + 1, dtype=torch.long)
    offsets[1:] = torch.cumsum(torch.tensor(lengths, dtype=torch.long), 0)
    return FlatFeatures(feats, offsets, ids, labels)


def verify_layout(folder: str | os.PathLike, check_frames: bool = True) -> dict[str, int]:
    """Check a libriphone folder: split lists, a label line per training utterance, a feature
    file per utterance, and (``check_frames``) label count == frame count for each one.

    Returns ``{"train": n_utts, "test": n_utts, "train_frames": n}``; raises
    FileNotFoundError / LibriphoneFormatError naming the first bad file or utterance.
    """
    folder = Path(folder)
    train, test = read_split(folder / "train_split.txt"), read_split(folder / "test_split.txt")
    labels = read_labels(folder / "train_labels.txt")
    for split, ids in (("train", train), ("test", test)):
        for u in ids:
            if not (folder / "feat" / split / f"{u}.pt").is_file():
                raise FileNotFoundError(f"{folder / 'feat' / split / (u + '.pt')}: feature file "
                                        f"of utterance {u} ({split}_split.txt) not found")
    missing = [u for u in train if u not in labels]
    if missing:
        raise LibriphoneFormatError(f"{folder / 'train_labels.txt'}: no labels for utterance "
                                    f"{missing[0]} ({len(missing)} missing)")
    frames = sum(len(labels[u]) for u in train)
    if check_frames:
        frames = load_libriphone(folder, "train").n_frames  # raises on any count mismatch
    return {"train": len(train), "test": len(test), "train_frames": frames}

