"""Seeding: one explicit call, plus helpers for DataLoader workers."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def set_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all CUDA devices too).

    With ``deterministic=True`` torch is also asked for deterministic kernels (slower on
    GPU; on CPU the result is already reproducible for a fixed thread count).
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device lazily
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` for DataLoader: derive NumPy/random seeds from torch's per-worker seed."""
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def make_generator(seed: int) -> torch.Generator:
    """A seeded ``torch.Generator`` for DataLoader shuffling and random splits."""
    return torch.Generator().manual_seed(seed)
