"""HW2 references that are not part of the homework's code: the official sample's
preprocessing (``shift``, ``concat_feat``, ``preprocess_data``), re-implemented faithfully, and
the popular window-BiRNN recipe. Tests compare our windows and models against them;
``benchmarks/hw2_memory.py`` measures ``official_preprocess_data`` and
``benchmarks/hw2_throughput.py`` times :class:`WindowBiRNN`. Nothing here is used for training.
"""

from __future__ import annotations

import os
import random
from typing import Any

import torch
from torch import nn

from common.datasets.libriphone import FEAT_DIM
from hw2_phoneme.models import BiRNNTagger

# ------------------------------------------------------------------------------------------
# The official sample's preprocessing
# ------------------------------------------------------------------------------------------


def official_shift(x: torch.Tensor, n: int) -> torch.Tensor:
    """Official ``shift``: rows moved by ``n``, the edge row repeated."""
    if n < 0:
        left = x[0].repeat(-n, 1)
        right = x[:n]
    elif n > 0:
        right = x[-1].repeat(n, 1)
        left = x[n:]
    else:
        return x
    return torch.cat((left, right), dim=0)


def official_concat_feat(x: torch.Tensor, concat_n: int) -> torch.Tensor:
    """Official ``concat_feat``: [T, 39] -> [T, concat_n * 39]."""
    assert concat_n % 2 == 1  # n must be odd
    if concat_n < 2:
        return x
    seq_len, feature_dim = x.size(0), x.size(1)
    x = x.repeat(1, concat_n)
    x = x.view(seq_len, concat_n, feature_dim).permute(1, 0, 2)  # concat_n, seq_len, feature_dim
    mid = concat_n // 2
    for r_idx in range(1, mid + 1):
        x[mid + r_idx, :] = official_shift(x[mid + r_idx], r_idx)
        x[mid - r_idx, :] = official_shift(x[mid - r_idx], -r_idx)
    return x.permute(1, 0, 2).view(seq_len, concat_n * feature_dim)


def official_preprocess_data(split: str, feat_dir: str, phone_path: str, concat_nframes: int,
                             train_ratio: float = 0.8, train_val_seed: int = 1337):
    """Official ``preprocess_data`` (minus prints/tqdm): note the ``torch.empty(3_000_000,
    39 * concat_nframes)`` per split, the memory problem this homework's users hit. Returns
    ``(X, y)`` for train/val, ``X`` for test. Reseeds the global ``random`` like the original."""
    mode = "train" if (split == "train" or split == "val") else "test"
    label_dict = {}
    if mode != "test":
        with open(os.path.join(phone_path, f"{mode}_labels.txt")) as f:
            for line in f.readlines():
                line = line.strip("\n").split(" ")
                label_dict[line[0]] = [int(p) for p in line[1:]]
    if split == "train" or split == "val":
        with open(os.path.join(phone_path, "train_split.txt")) as f:
            usage_list = f.readlines()
        random.seed(train_val_seed)
        random.shuffle(usage_list)
        percent = int(len(usage_list) * train_ratio)
        usage_list = usage_list[:percent] if split == "train" else usage_list[percent:]
    elif split == "test":
        with open(os.path.join(phone_path, "test_split.txt")) as f:
            usage_list = f.readlines()
    else:
        raise ValueError("Invalid 'split' argument for dataset: PhoneDataset!")
    usage_list = [line.strip("\n") for line in usage_list]
    max_len = 3000000
    X = torch.empty(max_len, 39 * concat_nframes)
    if mode != "test":
        y = torch.empty(max_len, dtype=torch.long)
    idx = 0
    for fname in usage_list:
        feat = torch.load(os.path.join(feat_dir, mode, f"{fname}.pt"), weights_only=True)
        cur_len = len(feat)
        feat = official_concat_feat(feat, concat_nframes)
        if mode != "test":
            label = torch.LongTensor(label_dict[fname])
        X[idx: idx + cur_len, :] = feat
        if mode != "test":
            y[idx: idx + cur_len] = label
        idx += cur_len
    X = X[:idx, :]
    if mode != "test":
        y = y[:idx]
        return X, y
    return X


# ------------------------------------------------------------------------------------------
# The popular boss recipe: a BiRNN over each frame's own window
# ------------------------------------------------------------------------------------------


class WindowBiRNN(nn.Module):
    """The popular boss recipe, for ``benchmarks/hw2_throughput.py``: the same front end + BiRNN
    + head as :class:`hw2_phoneme.models.BiRNNTagger`, run over each frame's own
    ``concat_nframes``-frame window ``[B, n * 39]``, reading only the centre output: logits
    ``[B, 41]``."""

    def __init__(self, concat_nframes: int = 61, **kwargs: Any) -> None:
        super().__init__()
        self.concat_nframes = concat_nframes
        self.tagger = BiRNNTagger(concat_nframes=1, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        seq = x.view(b, self.concat_nframes, FEAT_DIM)
        lengths = torch.full((b,), self.concat_nframes, dtype=torch.long)
        out = self.tagger.features(seq, lengths)
        return self.tagger.head(out[:, self.concat_nframes // 2])
