"""The course's data formats, one package each: ``covid`` (HW1), ``libriphone`` (HW2),
``sinc`` (HW2-2 checkpoints) and ``voxceleb`` (HW4). Each package has a loader that validates
what it reads, a synthetic generator in its own file, and a :class:`DataFormat` named
``FORMAT`` that ties them to the real files (names, digests, how to fetch them).
``common.data`` finds, fetches and generates data through these objects.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.fetch import RemoteFile, Say

SYNTHETIC_MARKER = "SYNTHETIC"  # a file in every synthetic data folder, saying what made it


@dataclass(frozen=True)
class DataFormat:
    """Everything ``common.data`` needs to know about one course data format."""

    key: str  # the homework on the command line: hw1, hw2, hw2_2, hw4
    folder: str  # the data set's folder under a data root, as the course's archives unpack
    description: str
    files: tuple[RemoteFile, ...]  # what a real folder holds: sha256 and download mirrors
    write_synthetic: Callable[[Path, int, bool], None]  # (out_dir, seed, smoke)
    check: Callable[[Path], None] | None = None  # raises, naming file and place, on a bad layout
    # (format, folder, timeout, say) -> failed attempts, for archives of many files; None
    # downloads ``files`` one by one from their mirrors, then Kaggle
    fetch: Callable[[DataFormat, Path, float, Say], list[str]] | None = None
    # folder -> problem or None, instead of the sha256 of ``files`` (accepts other years' files)
    verify_real: Callable[[Path], str | None] | None = None
    kaggle: str | None = None
    manual_steps: str = ""


def load_pt(path: str | os.PathLike, error: type[Exception]) -> Any:
    """``torch.load(path, weights_only=True)`` with an error that names the file and says what
    is wrong with it (missing, empty, truncated, not a torch file), raised as ``error``."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise error(f"{path}: empty file (0 bytes); download or generate it again")
    if not zipfile.is_zipfile(path):  # what torch.save writes (the course files included)
        with open(path, "rb") as f:
            head = f.read(40)
        if head.startswith(b"PK"):
            raise error(f"{path}: not a torch.save file (truncated: the zip archive torch.save "
                        "writes is incomplete); download or generate it again")
        hint = " (an HTML page: a quota or login page?)" if head.lstrip()[:1] == b"<" else ""
        raise error(f"{path}: not a torch.save file (another kind of file{hint}); it starts with {head!r}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a damaged archive, a foreign pickle: many types
        first = next((ln for ln in str(err).splitlines() if ln.strip()), "")
        if "weights_only" in first or "Weights only load failed" in first:
            raise error(f"{path}: holds Python objects other than tensors and plain containers; "
                        "loading them could run code from the file, so it is refused") from None
        raise error(f"{path}: not a readable torch tensor file (corrupted): "
                    f"{type(err).__name__}: {first[:200]}") from None


def load_frames(path: str | os.PathLike, dim: int, error: type[Exception], unit: str) -> Any:
    """A ``[T, dim]`` float32 feature tensor (T >= 1) from a ``.pt`` file, every value finite;
    errors name the file and the first bad frame and ``unit`` (e.g. ``"mel bin"``)."""
    import torch

    feat = load_pt(path, error)
    if not torch.is_tensor(feat) or feat.dim() != 2 or feat.shape[1] != dim or len(feat) == 0:
        shape = tuple(feat.shape) if torch.is_tensor(feat) else type(feat).__name__
        raise error(f"{path}: expected a tensor [T, {dim}] with T >= 1, got {shape}")
    finite = torch.isfinite(feat)
    if not finite.all():
        t, d = (int(i) for i in (~finite).nonzero()[0])
        raise error(f"{path}: frame {t}, {unit} {d} is {feat[t, d].item()} (features must be finite numbers)")
    return feat.float()
