"""Synthetic HW2-2 ``data.pth``: the course's network trained here on the real entries' sinc
grids, stopped at different points (large gradient, near-critical, near-minimum)."""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from common.datasets.sinc.load import FILE_NAME, REAL_X0, MathRegressor, SincCheckpoint, sinc
from common.io import atomic_open


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
