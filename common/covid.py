"""HW1 COVID-19 CSVs: a loader that infers the layout from the header, the time order of the
sliding-window rows, and a synthetic generator in the exact 2022 format.

Layout (all three years): ``id``, one-hot state columns (two capital letters), then
``days`` blocks of the same named features, the last of which is ``tested_positive``. The
train file ends with the target (the last day's ``tested_positive``); the test file lacks
that one column. Repeated names get a day suffix: ``cli_d1 .. cli_d5``.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from common.io import atomic_open

TARGET = "tested_positive"
_STATE = re.compile(r"^[A-Z]{2}$")


class CovidFormatError(ValueError):
    """A COVID CSV that does not have the course layout; the message names file, line, column."""


@dataclass
class CovidTable:
    """One parsed CSV.

    Attributes:
        frame: all columns with unique names (``id``, states, ``<feature>_d<day>``), float64
            except ``id`` (int64).
        states, features: the state codes and the per-day feature names, in file order.
        n_days: days per row.
        has_target: True for a train file (its last column is the target).
    """

    path: Path
    frame: pd.DataFrame
    states: list[str]
    features: list[str]
    n_days: int
    has_target: bool

    @property
    def target_column(self) -> str:
        return f"{TARGET}_d{self.n_days}"

    @property
    def input_columns(self) -> list[str]:
        """Every column a model may read (``id`` included, as the official sample did)."""
        return [c for c in self.frame.columns if c != self.target_column]

    @property
    def state_index(self) -> np.ndarray:
        """[N] index into ``states`` of each row's state."""
        return self.frame[self.states].to_numpy().argmax(axis=1)

    def day_block(self, include_target: bool = True) -> np.ndarray:
        """[N, n_days, n_features] feature values (the target slot is NaN when absent)."""
        cols = [f"{f}_d{d}" for d in range(1, self.n_days + 1) for f in self.features]
        block = self.frame.reindex(columns=cols).to_numpy(dtype=float)
        block = block.reshape(len(self.frame), self.n_days, len(self.features))
        if not include_target:
            block[:, -1, -1] = np.nan
        return block


def _layout(header: list[str], path: Path) -> tuple[list[str], list[str], int, bool]:
    """(states, features, n_days, has_target) inferred from a raw header."""
    if not header or header[0] != "id":
        raise CovidFormatError(f"{path} line 1, column 1: expected 'id', found {header[:1]!r}")
    n_states = 0
    while 1 + n_states < len(header) and _STATE.match(header[1 + n_states]):
        n_states += 1
    if n_states == 0:
        raise CovidFormatError(f"{path} line 1: no state one-hot columns after 'id'")
    states = header[1:1 + n_states]
    rest = header[1 + n_states:]
    if not rest:
        raise CovidFormatError(f"{path} line 1: no feature columns after the states")
    first = rest[0]
    try:
        n_features = rest.index(first, 1)
    except ValueError:
        raise CovidFormatError(f"{path} line 1: feature {first!r} appears once; expected one "
                               "block of features per day") from None
    features = rest[:n_features]
    if features[-1] != TARGET:
        raise CovidFormatError(f"{path} line 1: each day's block should end with {TARGET!r}, "
                               f"the first ends with {features[-1]!r}")
    n_days, leftover = divmod(len(rest), n_features)
    has_target = leftover == 0
    if not has_target:
        n_days += 1
        if leftover != n_features - 1:
            raise CovidFormatError(
                f"{path} line 1: {len(rest)} feature columns is neither a whole number of "
                f"{n_features}-feature days (train) nor one short of it (test)")
    for k, name in enumerate(rest):
        expected = features[k % n_features]
        if name != expected:
            raise CovidFormatError(f"{path} line 1, column {2 + n_states + k}: expected "
                                   f"{expected!r} (day {k // n_features + 1}), found {name!r}")
    return states, features, n_days, has_target


def load_covid_csv(path: str | os.PathLike) -> CovidTable:
    """Read and check one HW1 CSV (2021, 2022 or 2023 layout; CRLF or LF)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise CovidFormatError(f"{path}: empty file")
    header, body = rows[0], rows[1:]
    states, features, n_days, has_target = _layout(header, path)
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise CovidFormatError(f"{path} line {line}: {len(row)} fields, header has {len(header)}")
    names = ["id", *states] + [f"{f}_d{d}" for d in range(1, n_days + 1) for f in features]
    names = names[:len(header)]
    raw = pd.DataFrame(body, columns=names, dtype=str)
    frame = raw.apply(pd.to_numeric, errors="coerce")
    bad = frame.isna().to_numpy() | ~np.isfinite(frame.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        r, c = map(int, np.argwhere(bad)[0])
        raise CovidFormatError(f"{path} line {r + 2}, column {names[c]!r}: {raw.iat[r, c]!r} "
                               "is not a finite number")
    onehot = frame[states].to_numpy()
    wrong = ~np.isin(onehot, (0, 1)) | (onehot.sum(axis=1, keepdims=True) != 1)
    if wrong.any():
        r = int(np.argwhere(wrong)[0][0])
        raise CovidFormatError(f"{path} line {r + 2}: state columns must be one-hot (0/1, "
                               "exactly one 1)")
    if frame["id"].duplicated().any():
        r = int(np.argmax(frame["id"].duplicated().to_numpy()))
        raise CovidFormatError(f"{path} line {r + 2}: duplicate id {int(frame['id'].iat[r])}")
    frame["id"] = frame["id"].astype(np.int64)
    return CovidTable(path, frame, states, features, n_days, has_target)


def load_covid(train_path: str | os.PathLike,
               test_path: str | os.PathLike) -> tuple[CovidTable, CovidTable]:
    """Load a train/test pair and check that the test file has the train inputs exactly."""
    train, test = load_covid_csv(train_path), load_covid_csv(test_path)
    if not train.has_target:
        raise CovidFormatError(f"{train.path}: no target column (is this the test file?)")
    if test.has_target:
        raise CovidFormatError(f"{test.path}: has a target column (is this a train file?)")
    if list(test.frame.columns) != train.input_columns:
        diff = next(i for i, (a, b) in enumerate(zip(test.frame.columns, train.input_columns))
                    if a != b) if len(test.frame.columns) == len(train.input_columns) else None
        detail = (f"column {diff + 1} is {test.frame.columns[diff]!r} but train has "
                  f"{train.input_columns[diff]!r}" if diff is not None else
                  f"{len(test.frame.columns)} columns, train inputs are {len(train.input_columns)}")
        raise CovidFormatError(f"{test.path}: columns do not match {train.path.name}: {detail}")
    return train, test


KNOWN_FILE_NAMES = (("covid.train.csv", "covid.test.csv"),  # 2021, 2022
                    ("covid_train.csv", "covid_test.csv"))  # 2023


def _header(path: Path) -> list[str]:
    with open(path, newline="") as f:
        return next(csv.reader(f), [])


def find_covid_files(folder: str | os.PathLike) -> tuple[Path, Path]:
    """``(train_path, test_path)`` of the HW1 files in ``folder``, for any year.

    The known names come first (``covid.train.csv``/``covid.test.csv`` in 2021 and 2022,
    ``covid_train.csv``/``covid_test.csv`` in 2023); otherwise every ``*.csv`` whose header has
    the course layout is classified as train (ends with the target) or test (one column
    short). Raises ``FileNotFoundError`` naming the folder and the files found there when there
    is not exactly one train and one test file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: data folder not found")
    for train_name, test_name in KNOWN_FILE_NAMES:
        if (folder / train_name).is_file() and (folder / test_name).is_file():
            return folder / train_name, folder / test_name
    found: dict[str, list[Path]] = {"train": [], "test": []}
    others: list[str] = []
    csvs = sorted(folder.glob("*.csv"))
    for path in csvs:
        try:
            has_target = _layout(_header(path), path)[3]
        except (CovidFormatError, UnicodeDecodeError, OSError) as err:
            others.append(f"{path.name} ({str(err).split(': ', 1)[-1]})")
            continue
        found["train" if has_target else "test"].append(path)
    if len(found["train"]) == 1 and len(found["test"]) == 1:
        return found["train"][0], found["test"][0]
    listing = ", ".join([*(f"{p.name} (train layout)" for p in found["train"]),
                         *(f"{p.name} (test layout)" for p in found["test"]), *others]) or "no .csv files"
    raise FileNotFoundError(
        f"{folder}: expected one HW1 train and one test CSV (covid.train.csv/covid.test.csv or "
        f"covid_train.csv/covid_test.csv, or any names with the course header); found {listing}")


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


# --- synthetic data -------------------------------------------------------------------------

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
