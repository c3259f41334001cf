"""One plain training loop: ``fit()``, with a correct validation metric and resumable checkpoints.

A batch is whatever the loader yields; ``forward(model, batch)`` turns it into
``(output, target)`` with one row per scored item (a sample, a frame, an utterance), so the
same loop serves regression, framewise and sequence classification. The default forward
expects ``(x, y)`` pairs.
"""

from __future__ import annotations

import copy
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from common.io import atomic_open
from common.progress import progress_bar

Forward = Callable[[nn.Module, Any], "tuple[torch.Tensor, torch.Tensor]"]


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss: the run stops and publishes nothing."""


def default_device() -> torch.device:
    """CUDA when present, else Apple MPS, else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor in a (nested) tuple/list/dict to ``device``."""
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def pair_forward(model: nn.Module, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Default forward for ``(x, y)`` batches."""
    x, y = batch
    return model(x), y


@dataclass
class History:
    """Per-epoch curves; ``valid_metric`` is the loss or the accuracy, see ``fit(metric=...)``."""

    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    valid_metric: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    best_epoch: int = -1
    best_score: float = math.nan
    stopped_early: bool = False
    seconds: float = 0.0


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    criterion: nn.Module,
    *,
    forward: Forward = pair_forward,
    device: torch.device | None = None,
) -> dict[str, float]:
    """Mean loss and accuracy over every item in ``loader``, weighted by items per batch.

    ``criterion`` must average over the batch (the PyTorch default). Batch means are
    re-weighted by the number of items so a short last batch counts for what it holds;
    averaging batch means instead (the course sample code) is biased.
    """
    device = device or next(model.parameters()).device
    model.eval()
    total_loss, total_items, correct = 0.0, 0, 0
    for batch in loader:
        out, target = forward(model, to_device(batch, device))
        n = target.shape[0]
        total_loss += criterion(out, target).item() * n
        total_items += n
        if out.dim() == 2 and out.shape[1] > 1 and not target.is_floating_point():
            correct += (out.argmax(dim=1) == target).sum().item()
    if total_items == 0:
        raise ValueError("evaluate(): the validation loader yielded no items")
    return {"loss": total_loss / total_items, "accuracy": correct / total_items}


def _rng_state(loader: Iterable) -> dict[str, Any]:
    gen = getattr(loader, "generator", None)
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "numpy": np.random.get_state(),
        "python": random.getstate(),
        "loader": gen.get_state() if isinstance(gen, torch.Generator) else None,
    }


def _set_rng_state(state: dict[str, Any], loader: Iterable) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    gen = getattr(loader, "generator", None)
    if state.get("loader") is not None and isinstance(gen, torch.Generator):
        gen.set_state(state["loader"])


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` that never leaves a truncated checkpoint behind."""
    with atomic_open(path, "wb") as f:
        torch.save(obj, f)


def fit(
    model: nn.Module,
    train_loader: Iterable,
    valid_loader: Iterable | None,
    *,
    optimizer: torch.optim.Optimizer,
    n_epochs: int,
    criterion: nn.Module | None = None,
    forward: Forward = pair_forward,
    scheduler: Any = None,
    scheduler_interval: str = "step",
    metric: str = "loss",
    early_stop: int | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    resume: bool = False,
    config: dict[str, Any] | None = None,
    device: torch.device | str | None = None,
    amp: bool = False,
    grad_clip: float | None = None,
    progress: bool = True,
) -> History:
    """Train ``model`` for up to ``n_epochs``; on return it holds the best weights.

    Args:
        train_loader: yields batches (re-iterated every epoch).
        valid_loader: not shuffled; scored with :func:`evaluate` after each epoch. ``None``
            trains without validation and keeps the last weights.
        criterion: batch-mean loss (default ``nn.MSELoss()``).
        forward: ``(model, batch) -> (output [N, ...], target [N, ...])``.
        scheduler: stepped after every optimizer step (``scheduler_interval="step"``) or
            every epoch (``"epoch"``).
        metric: ``"loss"`` (lower is better) or ``"accuracy"`` (higher is better) on validation.
        early_stop: stop after this many epochs without improvement.
        checkpoint_path: written atomically after every epoch with model, optimizer,
            scheduler, epoch, best weights/score, history, RNG states and ``config``.
        resume: continue from ``checkpoint_path`` if it exists; the result equals an
            uninterrupted run (same RNG streams).
        amp: autocast + gradient scaling, used only on CUDA.
    """
    if metric not in ("loss", "accuracy"):
        raise ValueError(f"metric must be 'loss' or 'accuracy', got {metric!r}")
    if scheduler_interval not in ("step", "epoch"):
        raise ValueError(f"scheduler_interval must be 'step' or 'epoch', got {scheduler_interval!r}")
    criterion = criterion if criterion is not None else nn.MSELoss()
    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    use_amp = amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    better = (lambda a, b: a < b) if metric == "loss" else (lambda a, b: a > b)

    history = History()
    best_state = copy.deepcopy(model.state_dict())
    start_epoch, bad_epochs = 0, 0
    if resume and checkpoint_path is not None and Path(checkpoint_path).exists():
        ckpt = torch.load(checkpoint_path, map_location=device, weights_only=False)
        if config is not None and ckpt.get("config") is not None and ckpt["config"] != config:
            raise ValueError(f"{checkpoint_path}: written by a run with another config; "
                             "delete it or pass resume=False to start over")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None and ckpt.get("scheduler") is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
        if ckpt.get("scaler") is not None:
            scaler.load_state_dict(ckpt["scaler"])
        best_state, history = ckpt["best_model"], ckpt["history"]
        start_epoch, bad_epochs = ckpt["epoch"] + 1, ckpt["bad_epochs"]
        _set_rng_state(ckpt["rng"], train_loader)
        if history.stopped_early:  # that run had finished: train no further epoch
            start_epoch = n_epochs

    bar = range(start_epoch, n_epochs)
    if progress:  # redrawn at most every 3 s: no flood of lines over 3000 epochs
        bar = progress_bar(bar, desc="epochs", mininterval=3.0, initial=start_epoch, total=n_epochs)
    t0 = time.perf_counter()
    for epoch in bar:
        model.train()
        total_loss, total_items = 0.0, 0
        for step, batch in enumerate(train_loader, start=1):
            with torch.autocast(device.type, enabled=use_amp):
                out_target = forward(model, to_device(batch, device))
                loss = criterion(*out_target)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(
                    f"loss is {loss.item()} at epoch {epoch + 1}, batch {step}: check the inputs "
                    "for NaN/inf or lower the learning rate; nothing was published")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if grad_clip is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None and scheduler_interval == "step":
                scheduler.step()
            n = out_target[1].shape[0]
            total_loss += loss.item() * n
            total_items += n
        if scheduler is not None and scheduler_interval == "epoch":
            scheduler.step()
        if epoch == start_epoch:
            long_run_warning(time.perf_counter() - t0, n_epochs - epoch - 1, device)
        history.train_loss.append(total_loss / max(total_items, 1))
        history.lr.append(optimizer.param_groups[0]["lr"])

        if valid_loader is not None:
            scores = evaluate(model, valid_loader, criterion, forward=forward, device=device)
            history.valid_loss.append(scores["loss"])
            history.valid_metric.append(scores[metric])
            if history.best_epoch < 0 or better(scores[metric], history.best_score):
                history.best_score, history.best_epoch, bad_epochs = scores[metric], epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                bad_epochs += 1
        else:
            best_state, history.best_epoch = copy.deepcopy(model.state_dict()), epoch
        if progress:
            bar.set_postfix(train=f"{history.train_loss[-1]:.4g}",
                            valid=f"{history.valid_metric[-1]:.4g}" if history.valid_metric else "-",
                            best=f"{history.best_score:.4g}", refresh=False)
        history.stopped_early = early_stop is not None and bad_epochs >= early_stop
        if checkpoint_path is not None:
            atomic_torch_save({
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "scaler": scaler.state_dict() if use_amp else None,
                "epoch": epoch, "bad_epochs": bad_epochs, "best_model": best_state,
                "history": history, "rng": _rng_state(train_loader), "config": config,
            }, checkpoint_path)
        if history.stopped_early:
            break
    history.seconds += time.perf_counter() - t0
    model.load_state_dict(best_state)
    return history


def long_run_warning(first_epoch_seconds: float, epochs_left: int, device: torch.device,
                     hours: float = 1.0) -> str | None:
    """Print (and return) an estimate when the remaining epochs will take over ``hours``."""
    eta = first_epoch_seconds * epochs_left
    if eta < hours * 3600:
        return None
    message = (f"[fit] at this speed the remaining {epochs_left} epochs take about {eta / 3600:.1f} h "
               f"on {device.type}" + (" (a GPU runtime is much faster)" if device.type == "cpu" else ""))
    print(message, file=sys.stderr, flush=True)
    return message


class TensorBatches:
    """In-memory minibatches of equally long tensors, much cheaper than a DataLoader for tiny
    tabular data. Shuffles with its own seeded ``generator`` (saved by ``fit`` checkpoints)."""

    def __init__(self, *tensors: torch.Tensor, batch_size: int, shuffle: bool = False,
                 seed: int = 0) -> None:
        if len({len(t) for t in tensors}) != 1:
            raise ValueError("TensorBatches: all tensors need the same first dimension")
        self.tensors, self.batch_size, self.shuffle = tensors, batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.tensors[0]) / self.batch_size)

    def __iter__(self):
        n = len(self.tensors[0])
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            yield tuple(t[idx] for t in self.tensors)
