"""Seeding: one explicit call."""

from __future__ import annotations

import random

import numpy as np
import torch


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (all CUDA devices too). On CPU a run is then reproducible
    for a fixed thread count; CUDA kernels may still differ in the last bits between runs."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device lazily
