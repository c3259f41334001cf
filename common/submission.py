"""Kaggle submission CSVs for the three competitions: one writer, one validator.

| key | competition        | header              | Id                          | value                  |
|-----|--------------------|---------------------|-----------------------------|------------------------|
| hw1 | ml2022spring-hw1   | ``id,tested_positive`` | test row 0..N-1          | finite float           |
| hw2 | ml2022spring-hw2   | ``Id,Class``        | test frame 0..N-1           | phoneme class 0..40    |
| hw4 | ml2022spring-hw4   | ``Id,Category``     | ``feature_path`` of the utterance | speaker name     |

Files are validated before they are written and written atomically (temp file + rename),
so a failed run never leaves a half-written or malformed submission behind.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.io import atomic_open


class SubmissionError(ValueError):
    """A submission that Kaggle would reject or mis-score."""


@dataclass(frozen=True)
class Competition:
    slug: str
    id_col: str
    value_col: str
    kind: str  # "float" | "class" | "label"
    n_classes: int = 0


COMPETITIONS = {
    "hw1": Competition("ml2022spring-hw1", "id", "tested_positive", "float"),
    "hw2": Competition("ml2022spring-hw2", "Id", "Class", "class", n_classes=41),
    "hw4": Competition("ml2022spring-hw4", "Id", "Category", "label"),
}


def _check_value(comp: Competition, value: Any, where: str) -> str:
    if comp.kind == "label":
        text = str(value)
        if not text.strip() or text != text.strip() or "," in text or "\n" in text:
            raise SubmissionError(f"{where}: {comp.value_col}={value!r} is not a clean label")
        return text
    try:
        number = float(value)
    except (TypeError, ValueError):
        kind = "a number" if comp.kind == "float" else "an integer"
        raise SubmissionError(f"{where}: {comp.value_col}={value!r} is not {kind}") from None
    if comp.kind == "float":
        if not math.isfinite(number):
            raise SubmissionError(f"{where}: {comp.value_col}={value!r} is not finite")
        return repr(number)
    if not number.is_integer() or not 0 <= number < comp.n_classes:
        raise SubmissionError(
            f"{where}: {comp.value_col}={value!r} is not a class in 0..{comp.n_classes - 1}")
    return str(int(number))


def _check_rows(comp: Competition, ids: Sequence[Any], values: Sequence[Any],
                expected_ids: Sequence[Any] | None, source: str) -> list[tuple[str, str]]:
    if len(ids) != len(values):
        raise SubmissionError(f"{source}: {len(ids)} ids but {len(values)} values")
    if expected_ids is None:
        expected_ids = list(range(len(ids)))
    expected = [str(i) for i in expected_ids]
    got = [str(i) for i in ids]
    if len(got) != len(expected):
        raise SubmissionError(f"{source}: {len(got)} rows, expected {len(expected)} "
                              f"(one per test {'row' if comp.kind != 'label' else 'utterance'})")
    seen: set[str] = set()
    for row, i in enumerate(got, start=2):
        if i in seen:
            raise SubmissionError(f"{source} line {row}: duplicate {comp.id_col} {i!r}")
        seen.add(i)
    missing = [i for i in expected if i not in seen]
    if missing:
        raise SubmissionError(f"{source}: missing {comp.id_col} {missing[:5]!r}"
                              f"{' ...' if len(missing) > 5 else ''} and unexpected "
                              f"{sorted(seen - set(expected))[:5]!r}")
    return [(i, _check_value(comp, v, f"{source} line {row} ({comp.id_col}={i})"))
            for row, (i, v) in enumerate(zip(got, values), start=2)]


def write_submission(path: str | os.PathLike, competition: str, ids: Sequence[Any],
                     values: Sequence[Any], expected_ids: Sequence[Any] | None = None) -> Path:
    """Validate and atomically write a submission.

    Args:
        competition: ``"hw1"``, ``"hw2"`` or ``"hw4"``.
        ids: one Id per row, in the order to write.
        values: predictions aligned with ``ids``.
        expected_ids: the complete set of test Ids (default ``0..len(ids)-1``).
    """
    comp = COMPETITIONS[competition]
    path = Path(path)
    rows = _check_rows(comp, list(ids), list(values), expected_ids, str(path))
    with atomic_open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([comp.id_col, comp.value_col])
        writer.writerows(rows)
    return path


def validate_submission(path: str | os.PathLike, competition: str,
                        expected_ids: Sequence[Any] | None = None,
                        n_rows: int | None = None) -> int:
    """Check a submission file on disk; returns its row count or raises SubmissionError.

    Give ``expected_ids`` (or just ``n_rows`` for the integer-Id competitions).
    """
    comp = COMPETITIONS[competition]
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path}: file not found")
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != [comp.id_col, comp.value_col]:
            raise SubmissionError(f"{path} line 1: header {header!r}, expected "
                                  f"{[comp.id_col, comp.value_col]!r}")
        ids, values = [], []
        for row, fields in enumerate(reader, start=2):
            if len(fields) != 2:
                raise SubmissionError(f"{path} line {row}: {len(fields)} fields, expected 2")
            ids.append(fields[0])
            values.append(fields[1])
    if expected_ids is None:
        if n_rows is None:
            raise ValueError("validate_submission needs expected_ids or n_rows")
        expected_ids = range(n_rows)
    _check_rows(comp, ids, values, expected_ids, str(path))
    return len(ids)
