"""Atomic file writes: a temporary file in the target folder, renamed over the target when
complete, so a crash or a validation error never leaves a half-written file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """``open()`` for writing that only replaces ``path`` if the block finishes without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(path: str | os.PathLike | None, report: str | Sequence[str],
                 append: bool = False) -> str:
    """Print a benchmark report (text, or lines to join) and write it to ``path`` atomically,
    after the file's current text if ``append``; ``path=None`` only prints. Returns the text."""
    text = (report if isinstance(report, str) else "\n".join(report)).rstrip("\n") + "\n"
    print("\n" + text)
    if path is not None:
        path = Path(path)
        body = path.read_text() + "\n" + text if append and path.exists() else text
        with atomic_open(path, "w") as f:
            f.write(body)
    return text


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    with atomic_open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=False, default=str)
        f.write("\n")
    return Path(path)
