"""Outputs that are never half-written: atomic file writes (a temporary file in the target
folder, renamed over the target when complete) and :class:`RunFolder`, which publishes a whole
run's files together only after the run succeeded."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
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
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get ordinary permissions
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class RunFolder:
    """Where one notebook run writes its outputs: files go to ``<out_dir>/.incomplete/`` and
    :meth:`publish` moves them into ``out_dir`` once the run has succeeded (``metrics.json``
    last, so it always describes the files beside it). A failed, interrupted or non-finite run
    never replaces the previous good submission, checkpoint or plots. With ``resume=True`` an
    interrupted run's staged files (its training checkpoint) are kept for :func:`fit` to resume;
    otherwise a new run starts from an empty staging folder.

    ``run / "pred.csv"`` is the staged path to write to; ``os.fspath(run)`` is the staging folder.
    """

    STAGE = ".incomplete"

    def __init__(self, out_dir: str | os.PathLike, resume: bool = False) -> None:
        self.out_dir = Path(out_dir)
        self.stage = self.out_dir / self.STAGE
        if self.stage.exists() and not resume:
            shutil.rmtree(self.stage)
        self.stage.mkdir(parents=True, exist_ok=True)

    def __truediv__(self, name: str) -> Path:
        return self.stage / name

    def __fspath__(self) -> str:
        return str(self.stage)

    def publish(self) -> list[Path]:
        """Move every staged file into ``out_dir`` (each one atomically), ``metrics.json``
        last; returns the published paths."""
        staged = sorted((p for p in self.stage.rglob("*") if p.is_file()),
                        key=lambda p: (p.name == "metrics.json", str(p)))
        published = []
        for src in staged:
            dest = self.out_dir / src.relative_to(self.stage)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
            published.append(dest)
        shutil.rmtree(self.stage, ignore_errors=True)
        return published


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    with atomic_open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=False, default=str)
        f.write("\n")
    return Path(path)
