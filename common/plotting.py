"""The plot every training notebook draws (learning curves), and how every figure is saved."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt


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
    return save_figure(fig, path)


def save_figure(fig: plt.Figure, path: str | os.PathLike | None) -> plt.Figure:
    """Lay ``fig`` out and, when ``path`` is given, save it there (110 dpi); returns ``fig``."""
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig
