"""Rolling-origin time validation for HW1, and the linear references every model must beat.

Each row of a HW1 file is one (state, window of consecutive days); its target is the window's
last day. :func:`state_days` orders each state's rows in time by the overlap of consecutive
windows (:func:`window_chains`), and the runs between missing days by id (ids run
in time order within a state in all three real files: 2021 and 2023 are sorted by state then
day, 2022 by day then state). A fold cuts every state's days at a fraction of its length: training rows are those whose target day is before the cut,
validation rows the days from the cut to the fold's end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from common.datasets.covid import CovidTable


def window_chains(table: CovidTable) -> tuple[np.ndarray, np.ndarray]:
    """Recover time order: rows of a state are sliding windows over consecutive days, so row
    b follows row a when a's days 2..D equal b's days 1..D-1.

    Returns ``(chain, position)``, both [N]: rows with the same ``chain`` are consecutive
    days of one state, ``position`` counts from 0 at the earliest. A gap in the data
    starts a new chain.
    """
    block = np.round(table.day_block(), 6)
    if not table.has_target:  # the last day's target is unknown: match on the other features
        block = block[:, :, :-1]
    state = table.state_index
    by_head: dict[tuple[int, bytes], list[int]] = {}
    for i in range(len(block)):
        by_head.setdefault((state[i], block[i, :-1].tobytes()), []).append(i)
    successor = np.full(len(block), -1)
    has_pred = np.zeros(len(block), dtype=bool)
    for i in range(len(block)):
        candidates = by_head.get((state[i], block[i, 1:].tobytes()), [])
        nxt = [j for j in candidates if j != i and not has_pred[j]]
        if nxt:
            successor[i] = nxt[0]
            has_pred[nxt[0]] = True
    chain = np.full(len(block), -1)
    position = np.zeros(len(block), dtype=int)
    for c, head in enumerate(np.flatnonzero(~has_pred)):
        i, pos = head, 0
        while i >= 0 and chain[i] < 0:
            chain[i], position[i] = c, pos
            i, pos = successor[i], pos + 1
    return chain, position


def time_ordered_split(table: CovidTable, valid_ratio: float) -> np.ndarray:
    """[N] bool mask: the last ``valid_ratio`` of every state's chain of days is validation,
    the way the Kaggle test set is the period right after each state's training period."""
    if not 0 < valid_ratio < 1:
        raise ValueError(f"valid_ratio must be in (0, 1), got {valid_ratio}")
    chain, position = window_chains(table)
    length = np.bincount(chain)[chain]
    n_valid = np.maximum(1, np.round(length * valid_ratio)).astype(int)
    return position >= length - n_valid


# (start, end) of the validation block as fractions of each state's days. The first five are
# the *selection* folds on which every choice of strong/boss was made (the last two end where
# the test starts and, like it, hold out a longer block or the days just before it); the last
# one, each state's last quarter of days, is the test fold and was not used to choose anything.
SELECTION_FOLDS = ((0.45, 0.6), (0.525, 0.675), (0.6, 0.75), (0.5, 0.75), (0.65, 0.75))
LATEST_FOLD = (0.75, 1.0)
FOLDS = (*SELECTION_FOLDS, LATEST_FOLD)


def state_days(table: CovidTable) -> tuple[np.ndarray, np.ndarray]:
    """``(state, day)``, both [N]: the row's state index and its target day's rank among the
    rows of that state (0 = earliest).

    Time order comes from the overlap of consecutive windows (:func:`window_chains`); where a
    state's days break into several chains (a missing day), the chains are ordered by their
    ids, which run in time order in every year's real file. Raises ``ValueError`` when the id
    ranges of two chains of one state overlap (their order would be a guess).
    """
    state = table.state_index
    ids = table.frame["id"].to_numpy()
    chain, position = window_chains(table)
    day = np.empty(len(ids), dtype=int)
    for s in np.unique(state):
        chains = np.unique(chain[state == s])
        spans = sorted((ids[chain == c].min(), ids[chain == c].max(), c) for c in chains)
        offset = 0
        for k, (lo, hi, c) in enumerate(spans):
            if k and lo <= spans[k - 1][1]:
                raise ValueError(f"{table.path}: state {table.states[s]} has runs of consecutive "
                                 f"days with overlapping ids ({spans[k - 1][0]}..{spans[k - 1][1]} "
                                 f"and {lo}..{hi}); cannot order them in time")
            rows = chain == c
            day[rows] = offset + position[rows]
            offset += int(rows.sum())
    return state, day


@dataclass
class Fold:
    """One rolling-origin split: ``train`` rows end before the cut, ``valid`` rows follow it."""

    name: str
    train: np.ndarray  # [N] bool
    valid: np.ndarray  # [N] bool


def rolling_folds(table: CovidTable, folds=FOLDS) -> list[Fold]:
    """One :class:`Fold` per ``(start, end)``: for a state with ``L`` days, validation days are
    ``round(start*L) <= day < round(end*L)`` and training days ``day < round(start*L)``."""
    state, day = state_days(table)
    length = np.bincount(state)[state]
    out = []
    for start, end in folds:
        if not 0 < start < end <= 1:
            raise ValueError(f"fold ({start}, {end}): need 0 < start < end <= 1")
        cut, stop = np.round(start * length), np.round(end * length)
        out.append(Fold(f"{start:.3g}-{end:.3g}", day < cut, (day >= cut) & (day < stop)))
    return out


def subset(table: CovidTable, rows: np.ndarray) -> CovidTable:
    """The table restricted to ``rows`` (bool mask or indices), same layout."""
    frame = table.frame.iloc[np.flatnonzero(rows) if rows.dtype == bool else rows].reset_index(drop=True)
    return CovidTable(table.path, frame, table.states, table.features, table.n_days, table.has_target)


def inner_time_folds(table: CovidTable) -> list[Fold]:
    """Two time folds inside a training table (for choosing alpha without looking ahead).

    When the runs of consecutive days of a state cannot be put in order (a random split of
    the synthetic files, whose ids are shuffled), the last 20 % of every run is held out."""
    try:
        return rolling_folds(table, ((0.6, 0.8), (0.8, 1.0)))
    except ValueError:
        valid = time_ordered_split(table, 0.2)
        return [Fold("last 20 % of every run", ~valid, valid)]


def days_before_end(table: CovidTable) -> np.ndarray:
    """[N] how many days before its state's last day each row's target day is (0 = the last).

    Falls back to the end of each run of consecutive days when runs cannot be put in order
    (the synthetic files' shuffled ids), as :func:`inner_time_folds` does."""
    try:
        group, day = state_days(table)
    except ValueError:
        group, day = window_chains(table)
    last = np.zeros(group.max() + 1, dtype=int)
    np.maximum.at(last, group, day)
    return last[group] - day


def recent_rows(table: CovidTable, fraction: float) -> np.ndarray:
    """[N] bool: the rows among the latest ``round(fraction * L)`` days of their state (``L``
    its number of days; at least one), by :func:`days_before_end` (so by run of consecutive
    days when runs cannot be put in order)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    try:
        group, _ = state_days(table)
    except ValueError:
        group, _ = window_chains(table)
    length = np.bincount(group)[group]
    return days_before_end(table) < np.maximum(1, np.round(fraction * length))


# --- references -----------------------------------------------------------------------------

def non_id_columns(table: CovidTable, states: bool = True) -> list[str]:
    cols = [c for c in table.input_columns if c != "id"]
    return cols if states else [c for c in cols if c not in table.states]


def persistence(frame: pd.DataFrame, table: CovidTable) -> np.ndarray:
    """[N] tomorrow = today: the last input day's ``tested_positive``."""
    return frame[f"tested_positive_d{table.n_days - 1}"].to_numpy(dtype=np.float64)


ALPHAS = tuple(float(a) for a in np.logspace(-3, 3, 13))


class RidgeTimeCV:
    """Standardised ridge regression on given columns; alpha chosen by :func:`inner_time_folds`
    on the training table (never a shuffled CV), then refitted on all its rows."""

    def __init__(self, columns: list[str], alphas: tuple[float, ...] = ALPHAS):
        self.columns, self.alphas = columns, alphas

    def _fit(self, x: np.ndarray, y: np.ndarray, alpha: float):
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(x, y)

    def fit(self, table: CovidTable) -> RidgeTimeCV:
        x = table.frame[self.columns].to_numpy(dtype=np.float64)
        y = table.frame[table.target_column].to_numpy(dtype=np.float64)
        folds = inner_time_folds(table)
        errors = [np.mean([np.mean((self._fit(x[f.train], y[f.train], a).predict(x[f.valid])
                                    - y[f.valid]) ** 2) for f in folds]) for a in self.alphas]
        self.alpha = float(self.alphas[int(np.argmin(errors))])
        self.model = self._fit(x, y, self.alpha)
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model.predict(frame[self.columns].to_numpy(dtype=np.float64))


def reference_predictions(train: CovidTable, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Predictions for ``frame`` of the three references, fitted on ``train``:
    ridge (standardised, alpha by time-ordered CV) and LinearRegression, both on all non-id
    non-state columns (the state one-hots made ridge worse in every year), and persistence."""
    from sklearn.linear_model import LinearRegression

    cols = non_id_columns(train, states=False)
    y = train.frame[train.target_column].to_numpy(dtype=np.float64)
    linreg = LinearRegression().fit(train.frame[cols].to_numpy(dtype=np.float64), y)
    return {
        "ridge": RidgeTimeCV(cols).fit(train).predict(frame),
        "linreg": linreg.predict(frame[cols].to_numpy(dtype=np.float64)),
        "persistence": persistence(frame, train),
    }
