"""HW2-2 (ML2021Spring, "Hessian matrix") checkpoint file ``data.pth``: the course's model, a
checked loader, the student-id -> entry rule, and a synthetic writer in the same format.

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

from common.io import atomic_open

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


def entry_index(student_id: str) -> int:
    """The course's rule: the last character of the student id if it is a digit, else ord(c) % 10."""
    if not student_id:
        raise ValueError("student_id is empty; the entry is chosen by its last character")
    c = student_id[-1]
    return int(c) if c.isdigit() else ord(c) % 10


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
    if not isinstance(state, dict) or tuple(state) != STATE_KEYS:
        keys = list(state) if isinstance(state, dict) else type(state).__name__
        raise CheckpointFormatError(f"{where}: 'model' should be a state_dict with keys {list(STATE_KEYS)}, got {keys}")
    h = state["regressor.0.weight"].shape[0]
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
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a corrupt zip, an HTML quota page, a pickle with foreign classes
        raise CheckpointFormatError(f"{path}: not a torch checkpoint loadable with "
                                    f"weights_only=True ({type(err).__name__}: {str(err)[:200]})") from err
    if not isinstance(raw, list) or not raw:
        raise CheckpointFormatError(f"{path}: expected a non-empty list of dicts, got {type(raw).__name__}")
    return [_check_entry(path, i, e) for i, e in enumerate(raw)]


# --- synthetic data -------------------------------------------------------------------------

def _mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((model(x) - y) ** 2).mean()


def train_sinc_checkpoint(x0: float, seed: int, adam_steps: int, gradnorm_steps: int = 0,
                          lr: float = 1e-3, num_hidden: int = 128) -> SincCheckpoint:
    """Fit ``MathRegressor`` to the 6 points x0, x0+0.01, ..., x0+0.05 of the sinc curve.

    Full-batch Adam on the MSE for ``adam_steps``; then, if ``gradnorm_steps`` > 0, the
    lecture's way to reach a critical point: minimise the squared gradient norm ||dL/dtheta||^2
    (double backward) instead of the loss, with L-BFGS in float64 for at most ``gradnorm_steps``
    iterations (Adam stalls at ||g|| ~ 1e-3 on this objective; L-BFGS reaches ~1e-7).
    Deterministic for a seed on CPU. Weights are stored in float32 like the real file's.
    """
    g = torch.Generator().manual_seed(seed)
    x = (x0 + 0.01 * torch.arange(6, dtype=torch.float64)).to(torch.float32).unsqueeze(1)
    y = sinc(x.double()).float()
    model = MathRegressor(num_hidden)
    with torch.no_grad():  # PyTorch's default init, drawn from our own generator
        for layer in (model.regressor[0], model.regressor[2]):
            bound = 1 / math.sqrt(layer.in_features)
            layer.weight.uniform_(-bound, bound, generator=g)
            layer.bias.uniform_(-bound, bound, generator=g)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(adam_steps):
        opt.zero_grad()
        _mse(model, x, y).backward()
        opt.step()
    if gradnorm_steps:
        model.double()
        params = list(model.parameters())
        lbfgs = torch.optim.LBFGS(params, lr=1, max_iter=gradnorm_steps, history_size=50,
                                  line_search_fn="strong_wolfe", tolerance_grad=1e-20,
                                  tolerance_change=1e-30)

        def closure() -> torch.Tensor:
            lbfgs.zero_grad()
            grads = torch.autograd.grad(_mse(model, x.double(), y.double()), params, create_graph=True)
            objective = sum(gr.pow(2).sum() for gr in grads)
            objective.backward()
            return objective

        lbfgs.step(closure)
        model.float()
    state = OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    return SincCheckpoint(state, x, y)


# (Adam steps, grad-norm steps) per entry. "short" stops early with a large gradient (none of
# the above); "mid" stops with a small gradient but a residual error, which gives the Hessian
# negative eigenvalues (the real file's entries look like this); "long" fits the 6 points almost
# exactly (tiny gradient, positive semi-definite Hessian); "gradnorm" minimises ||grad||^2 after
# 30 Adam steps, the lecture's method, down to a near-zero gradient.
_SHORT, _MID, _LONG, _GRADNORM = (150, 0), (300, 0), (3000, 0), (30, 500)
_SCHEDULE = (_MID, _SHORT, _GRADNORM, _LONG, _MID, _SHORT, _MID, _GRADNORM, _LONG, _MID)


def write_synthetic(out_dir: str | os.PathLike, seed: int = 0, smoke: bool = False) -> None:
    """Write a synthetic ``data.pth`` in the real file's exact format (10 entries on the real
    entries' x grids), trained here from scratch; deterministic for a seed."""
    scale = 0.1 if smoke else 1.0
    entries = []
    for i, (x0, (adam, gn)) in enumerate(zip(REAL_X0, _SCHEDULE)):
        ckpt = train_sinc_checkpoint(x0, seed=seed * 1000 + i, adam_steps=int(adam * scale),
                                     gradnorm_steps=int(gn * scale))
        entries.append({"model": ckpt.state_dict, "data": (ckpt.x, ckpt.y)})
    with atomic_open(Path(out_dir) / FILE_NAME, "wb") as f:
        torch.save(entries, f)
