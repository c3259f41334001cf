"""Plots every notebook draws: learning curves, predicted vs true, confusion matrices."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np


def _finish(fig: plt.Figure, path: str | os.PathLike | None) -> plt.Figure:
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig


def plot_learning_curves(histories: Sequence, labels: Sequence[str] | None = None,
                         metric_name: str = "loss", log_scale: bool = False, title: str = "",
                         path: str | os.PathLike | None = None) -> plt.Figure:
    """Train loss and validation metric per epoch for one or several ``History`` objects;
    ``title`` (e.g. the preset and whether the data is synthetic) goes above both panels."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    labels = labels or [f"run {i}" for i in range(len(histories))]
    for h, label in zip(histories, labels):
        axes[0].plot(h.train_loss, label=label)
        if h.valid_metric:
            axes[1].plot(h.valid_metric, label=label)
            axes[1].scatter([h.best_epoch], [h.best_score], s=18)
    axes[0].set(title="training loss", xlabel="epoch")
    axes[1].set(title=f"validation {metric_name} (dot = best)", xlabel="epoch")
    for ax in axes:
        if log_scale:
            ax.set_yscale("log")
        if len(histories) > 1:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def plot_pred_vs_true(y_true: np.ndarray, y_pred: np.ndarray, title: str = "",
                      path: str | os.PathLike | None = None) -> plt.Figure:
    """Scatter of predictions against targets with the y = x line."""
    fig, ax = plt.subplots(figsize=(4.4, 4.2))
    ax.scatter(y_true, y_pred, s=6, alpha=0.6)
    lo, hi = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    ax.set(xlabel="true", ylabel="predicted", title=title)
    return _finish(fig, path)


def plot_confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int, title: str = "",
                   path: str | os.PathLike | None = None) -> plt.Figure:
    """Row-normalised confusion matrix (rows: true class; a class absent from ``y_true`` gets a
    row of zeros)."""
    from sklearn.metrics import confusion_matrix  # imported here: ~1 s, only HW2 draws one

    rates = confusion_matrix(y_true, y_pred, labels=np.arange(n_classes), normalize="true")
    fig, ax = plt.subplots(figsize=(6, 5.2))
    im = ax.imshow(rates, cmap="viridis", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return _finish(fig, path)
