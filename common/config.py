"""Presets as data, what a session runs on, and the run record (``metrics.json``) every
notebook writes."""

from __future__ import annotations

import dataclasses
import platform
import re
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from common.io import write_json

C = TypeVar("C")
PRESETS = ("simple", "medium", "strong", "boss")


def build_config(cls: type[C], presets: Mapping[str, Mapping[str, Any]], preset: str,
                 **overrides: Any) -> C:
    """``cls()`` with the preset's overrides, then the caller's non-None ``overrides`` on top.

    ``smoke`` overrides, if the preset table has a ``"smoke"`` entry, replace the preset's when
    ``overrides["smoke"]`` is true, so CI runs stay tiny whatever the preset; values the caller
    passes explicitly still win (``smoke=True, n_epochs=7`` runs 7 epochs).
    """
    if preset not in presets:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(p for p in presets if p != 'smoke')}")
    names = {f.name for f in dataclasses.fields(cls)}
    given = {k: v for k, v in overrides.items() if v is not None}
    values: dict[str, Any] = {"preset": preset, **presets[preset], **given}
    if values.get("smoke"):  # smoke sizes replace the preset's, the caller's values win over both
        values.update({**presets.get("smoke", {}), **given})
    unknown = sorted(set(values) - names)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {unknown}")
    return cls(**values)


def notebook_config(cls: type[C], presets: Mapping[str, Mapping[str, Any]],
                    namespace: Mapping[str, Any]) -> C:
    """:func:`build_config` from a notebook's parameters cell: ``notebook_config(Config, PRESETS,
    globals())`` takes ``preset`` and every name that is a field of ``cls`` (None = the preset's
    value), so each parameter is written once, in the parameters cell."""
    names = {f.name for f in dataclasses.fields(cls)} - {"preset"}
    return build_config(cls, presets, namespace["preset"],
                        **{k: namespace[k] for k in names if k in namespace})


def library_versions() -> dict[str, str]:
    """Versions of python, torch and numpy."""
    import numpy as np
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__}


def describe_runtime() -> str:
    """One line for the notebook's second cell: versions, device, and a GPU hint if none."""
    import torch

    versions = ", ".join(f"{k} {v}" for k, v in library_versions().items())
    if torch.cuda.is_available():
        device = f"CUDA: {torch.cuda.get_device_name(0)}"
    else:
        device = ("CPU only (on Colab: Runtime > Change runtime type > GPU makes the larger "
                  "presets several times faster)")
    return f"{versions}\ndevice: {device}"


def describe_checkout(root: Path, ref: str) -> str:
    """What the Colab bootstrap prints: the version of the repository at ``root``, and a warning
    when it is not ``ref`` (e.g. a clone left from another badge's notebook)."""
    version = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%h %cs (%D)"],
                             capture_output=True, text=True).stdout.strip()
    text = f"repository: {root} at {version or 'unknown version'}"
    if ref not in re.split(r"[\s(),:]+|->", version):
        text += (f"\n  this folder holds another version than {ref}: move it away "
                 f"(!mv {root} {root}-old) and run this cell again to get the notebook's own")
    return text


def save_metrics(out_dir: str | Path, *, metric: str, value: float, config: Any,
                 seeds: list[int], started: float, data: Any,
                 extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``<out_dir>/metrics.json``: metric, preset, seeds, wall time, versions, and the
    data used (``data``: the notebook's :class:`common.data.DataSource`)."""
    cfg = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    record = {
        "metric": metric,
        "value": float(value),
        "preset": cfg.get("preset"),
        "seeds": list(seeds),
        "wall_seconds": round(time.time() - started, 2),
        "data": data.label,
        "data_dir": str(data.folder),
        "data_note": data.note,
        "versions": library_versions(),
        "config": cfg,
        **(extra or {}),
    }
    return write_json(Path(out_dir) / "metrics.json", record)
