"""Synthetic HW1 data in the exact 2022 layout: per-state epidemics whose survey signals lead
``tested_positive``, written as the course's CRLF CSVs."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from common.datasets.covid.load import TARGET
from common.io import atomic_open

STATES_2022 = ("AL AK AZ AR CA CO CT FL GA ID IL IN IA KS KY LA MD MA MI MN MS MO NE NV NJ NM "
               "NY NC OH OK OR RI SC TX UT VA WA").split()
FEATURES_2022 = ("cli ili hh_cmnty_cli nohh_cmnty_cli wearing_mask travel_outside_state "
                 "work_outside_home shop restaurant spent_time large_event public_transit anxious "
                 "depressed worried_finances tested_positive").split()
# (mean, state spread, daily noise) of the survey features that do not follow the epidemic.
_BEHAVIOUR = {
    "wearing_mask": (93, 3, 0.3), "travel_outside_state": (9, 3, 0.4),
    "work_outside_home": (32, 3, 0.4), "shop": (57, 3, 0.4), "restaurant": (22, 4, 0.4),
    "spent_time": (35, 4, 0.4), "large_event": (9, 2, 0.3), "public_transit": (2.5, 1.2, 0.1),
    "anxious": (15, 2, 0.3), "depressed": (13, 2, 0.3), "worried_finances": (38, 3, 0.3),
}


def synthetic_series(n_days: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Daily values of every 2022 feature for one state, with epidemic-like structure.

    A latent infection level follows a smooth random walk; cli/ili/community-cli track it
    with noise; ``tested_positive`` follows its own yesterday and today's cli, so the target
    is strongly autocorrelated and correlated with cli, ili and hh_cmnty_cli, as in the
    real data. Behaviour features drift slowly around a state mean.
    """
    drift = np.cumsum(rng.normal(0, 0.03, n_days))
    level = np.exp(rng.normal(0.0, 0.6) + drift - drift.mean())  # ~0.2 .. 4
    out = {
        "cli": 0.9 * level + rng.normal(0, 0.05, n_days),
        "ili": 0.95 * level + rng.normal(0, 0.05, n_days),
        "hh_cmnty_cli": 18 + 9 * level + rng.normal(0, 0.4, n_days),
        "nohh_cmnty_cli": 14 + 8 * level + rng.normal(0, 0.4, n_days),
    }
    for name, (mean, spread, noise) in _BEHAVIOUR.items():
        base = mean + rng.normal(0, spread)
        out[name] = base + np.cumsum(rng.normal(0, noise, n_days)) * 0.3
    base_tp = rng.uniform(1, 14)
    tp = np.empty(n_days)
    tp[0] = base_tp + 6 * level[0]
    for t in range(1, n_days):
        tp[t] = 0.8 * tp[t - 1] + 0.2 * (base_tp + 6 * level[t]) + 0.5 * (
            out["cli"][t] - out["cli"][t - 1]) + rng.normal(0, 0.4)
    out[TARGET] = np.clip(tp, 0.1, None)
    return out


def write_synthetic(out_dir: str | os.PathLike, seed: int = 0, smoke: bool = False,
                    train_windows: int = 73, test_windows: int = 29) -> None:
    """Write ``covid.train.csv`` / ``covid.test.csv`` in the exact 2022 layout (CRLF, shuffled
    rows, ids 0..N-1): each state's windows of 5 days, the test windows right after the
    train windows in time. Deterministic for a seed."""
    if smoke:
        train_windows, test_windows = 12, 4
    rng = np.random.default_rng(seed)
    n_days = 5
    header = ["id", *STATES_2022] + FEATURES_2022 * n_days
    train_rows, test_rows = [], []
    for s, _ in enumerate(STATES_2022):
        series = synthetic_series(train_windows + test_windows + n_days - 1, rng)
        daily = np.stack([series[f] for f in FEATURES_2022], axis=1)  # [days, 16]
        onehot = [0] * len(STATES_2022)
        onehot[s] = 1
        for w in range(train_windows + test_windows):
            values = daily[w:w + n_days].reshape(-1)
            (train_rows if w < train_windows else test_rows).append((onehot, values))
    for rows, name, drop_target in ((train_rows, "covid.train.csv", False),
                                    (test_rows, "covid.test.csv", True)):
        order = rng.permutation(len(rows))
        with atomic_open(Path(out_dir) / name, "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\r\n")
            writer.writerow(header[:-1] if drop_target else header)
            for new_id, k in enumerate(order):
                onehot, values = rows[k]
                values = values[:-1] if drop_target else values
                writer.writerow([new_id, *onehot, *(f"{v:.7g}" for v in values)])
