"""HW1 COVID-19 CSVs: a loader that infers the layout from the header (and checks every value).

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
from itertools import zip_longest
from pathlib import Path

import numpy as np
import pandas as pd

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

    def day_block(self) -> np.ndarray:
        """[N, n_days, n_features] feature values (the target slot is NaN in a test file)."""
        cols = [f"{f}_d{d}" for d in range(1, self.n_days + 1) for f in self.features]
        block = self.frame.reindex(columns=cols).to_numpy(dtype=float)
        return block.reshape(len(self.frame), self.n_days, len(self.features))


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
    """Read and check one HW1 CSV (2021, 2022 or 2023 layout; CRLF or LF; with or without a BOM)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:  # utf-8-sig: a CSV saved by Excel starts with a byte-order mark
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [row for row in csv.reader(f) if row]
    except UnicodeDecodeError as err:
        raise CovidFormatError(f"{path}: not a UTF-8 text file ({err.reason} at byte {err.start})") from None
    if not rows:
        raise CovidFormatError(f"{path}: empty file")
    header, body = rows[0], rows[1:]
    if not body:
        raise CovidFormatError(f"{path}: only a header, no data rows")
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


FILE_PAIRS = (("covid.train.csv", "covid.test.csv"),  # 2021 and 2022
              ("covid_train.csv", "covid_test.csv"))  # 2023


def _header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return next(csv.reader(f), [])


def find_covid_files(folder: str | os.PathLike) -> tuple[Path, Path]:
    """The (train, test) CSV pair in ``folder``, for any year: a pair of :data:`FILE_PAIRS`
    names, else the one ``*.csv`` with the train header and the one with the test header
    (``FileNotFoundError`` naming the folder and what is there if that is not unique)."""
    folder = Path(folder)
    for pair in FILE_PAIRS:
        if all((folder / name).is_file() for name in pair):
            return folder / pair[0], folder / pair[1]
    expected = (f"expected {' or '.join(' + '.join(p) for p in FILE_PAIRS)} "
                "(or one train and one test CSV with the course header)")
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: {expected}; found no such folder")
    found: dict[bool, list[Path]] = {True: [], False: []}
    others: list[str] = []
    for path in sorted(folder.glob("*.csv")):
        try:
            found[_layout(_header(path), path)[3]].append(path)
        except (CovidFormatError, UnicodeDecodeError, OSError) as err:
            others.append(f"{path.name} ({str(err).split(': ', 1)[-1]})")
    if len(found[True]) == 1 and len(found[False]) == 1:
        return found[True][0], found[False][0]
    listing = [*(f"{p.name} (train layout)" for p in found[True]),
               *(f"{p.name} (test layout)" for p in found[False]), *others]
    raise FileNotFoundError(f"{folder}: {expected}; found {', '.join(listing) or 'no CSV files'}")


def load_covid(train_path: str | os.PathLike,
               test_path: str | os.PathLike) -> tuple[CovidTable, CovidTable]:
    """Load a train/test pair and check that the test file has the train inputs exactly."""
    train, test = load_covid_csv(train_path), load_covid_csv(test_path)
    if not train.has_target:
        raise CovidFormatError(f"{train.path}: no target column (is this the test file?)")
    if test.has_target:
        raise CovidFormatError(f"{test.path}: has a target column (is this a train file?)")
    for k, (got, want) in enumerate(zip_longest(test.frame.columns, train.input_columns)):
        if got != want:
            raise CovidFormatError(f"{test.path}: columns do not match {train.path.name}: column "
                                   f"{k + 1} is {got or 'missing'!r}, train has {want or 'none'!r}")
    return train, test
