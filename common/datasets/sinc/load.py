"""HW2-2 (ML2021Spring, "Hessian matrix") checkpoint file ``data.pth``: the course's model and
a checked loader.

Format (the real file, 34461 bytes): a Python list of 10 dicts, each
``{'model': state_dict, 'data': (x, y)}`` with x, y float32 tensors [6, 1] and
y = sin(5 pi x) / (5 pi x); the state_dict belongs to ``MathRegressor``
(``Linear(1, 128) -> ReLU -> Linear(128, 1)`` under the attribute name ``regressor``).
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from common.datasets import load_pt

FILE_NAME = "data.pth"
N_ENTRIES = 10
STATE_KEYS = ("regressor.0.weight", "regressor.0.bias", "regressor.2.weight", "regressor.2.bias")
# Left ends of the 6-point grids (step 0.01) of the real file's entries 0..9.
REAL_X0 = (0.96, 0.96, 0.96, 0.96, 0.24, 0.30, 0.36, 0.96, 0.24, 0.36)


class MathRegressor(nn.Module):
    """The course's model: ``Linear(1, h) -> ReLU -> Linear(h, 1)``, parameter names as in data.pth."""

    def __init__(self, num_hidden: int = 128):
        super().__init__()
        self.regressor = nn.Sequential(nn.Linear(1, num_hidden), nn.ReLU(), nn.Linear(num_hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [N, 1] -> [N, 1]."""
        return self.regressor(x)


def sinc(x: torch.Tensor) -> torch.Tensor:
    """The course's target sin(5 pi x) / (5 pi x) (x != 0)."""
    return torch.sin(5 * math.pi * x) / (5 * math.pi * x)


@dataclass
class SincCheckpoint:
    """One entry of data.pth: a state_dict and its 6 training points x, y [6, 1]."""

    state_dict: OrderedDict
    x: torch.Tensor
    y: torch.Tensor

    @property
    def num_hidden(self) -> int:
        return int(self.state_dict["regressor.0.weight"].shape[0])

    def model(self, dtype: torch.dtype = torch.float32) -> MathRegressor:
        """A fresh ``MathRegressor`` holding this entry's weights (in ``dtype``)."""
        m = MathRegressor(self.num_hidden)
        m.load_state_dict(self.state_dict)
        return m.to(dtype)


class CheckpointFormatError(ValueError):
    """data.pth does not have the course layout; the message names the file and the entry."""


def _check_entry(path: Path, i: int, entry: object) -> SincCheckpoint:
    where = f"{path} entry {i}"
    if not isinstance(entry, dict) or set(entry) != {"model", "data"}:
        keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise CheckpointFormatError(f"{where}: expected a dict with keys 'data' and 'model', got {keys}")
    data, state = entry["data"], entry["model"]
    if not (isinstance(data, (tuple, list)) and len(data) == 2 and all(torch.is_tensor(t) for t in data)):
        raise CheckpointFormatError(f"{where}: 'data' should be a pair (x, y) of tensors")
    x, y = data
    if x.dim() != 2 or x.shape[1] != 1 or x.shape != y.shape or not x.is_floating_point():
        raise CheckpointFormatError(f"{where}: x, y should be float tensors [N, 1], got "
                                    f"{tuple(x.shape)} {x.dtype} and {tuple(y.shape)} {y.dtype}")
    for name, t in (("x", x), ("y", y)):
        if not torch.isfinite(t).all():
            raise CheckpointFormatError(f"{where}: 'data' {name} holds non-finite values")
    if not isinstance(state, dict) or tuple(state) != STATE_KEYS:
        keys = list(state) if isinstance(state, dict) else type(state).__name__
        raise CheckpointFormatError(f"{where}: 'model' should be a state_dict with keys {list(STATE_KEYS)}, got {keys}")
    # The hidden width as most of the four tensors say it, so a wrong one is the one blamed.
    for k, t in state.items():
        if not torch.is_tensor(t) or t.dim() == 0:
            raise CheckpointFormatError(f"{where}: {k} should be a tensor with 1 or 2 dimensions")
    votes = [state["regressor.0.weight"].shape[0], state["regressor.0.bias"].shape[-1],
             state["regressor.2.weight"].shape[-1]]
    h = max(votes, key=votes.count)
    expected = {"regressor.0.weight": (h, 1), "regressor.0.bias": (h,),
                "regressor.2.weight": (1, h), "regressor.2.bias": (1,)}
    for k, shape in expected.items():
        if tuple(state[k].shape) != shape:
            raise CheckpointFormatError(f"{where}: {k} has shape {tuple(state[k].shape)}, expected {shape}")
        if not torch.isfinite(state[k]).all():
            raise CheckpointFormatError(f"{where}: {k} holds non-finite values")
    return SincCheckpoint(OrderedDict(state), x, y)


def load_checkpoints(path: str | os.PathLike) -> list[SincCheckpoint]:
    """Read and check data.pth (or a folder holding it).

    ``weights_only=True`` suffices: the pickle holds only lists, dicts, tuples, OrderedDicts
    and tensors, all on torch's allow-list, so no arbitrary code can run while loading.
    """
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    raw = load_pt(path, CheckpointFormatError)
    if not isinstance(raw, list) or not raw:
        raise CheckpointFormatError(f"{path}: expected a non-empty list of dicts, got {type(raw).__name__}")
    return [_check_entry(path, i, e) for i, e in enumerate(raw)]


