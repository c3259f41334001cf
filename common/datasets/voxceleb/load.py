"""HW4 ``Dataset/`` (ML2022Spring, 600 VoxCeleb speakers, 40-dim log-mel ``uttr-*.pt``): a
loader that checks the three JSON files and every feature tensor it reads, and a one-line
summary."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from common.datasets import load_frames

N_MELS = 40


class VoxCelebFormatError(ValueError):
    """A file that does not have the HW4 layout; the message names the file and the entry."""


@dataclass
class VoxCelebData:
    """The parsed ``Dataset/`` folder (no features loaded yet).

    Attributes:
        train: ``(feature_path, mel_len, speaker_id)`` per labelled utterance, metadata order.
        test: ``(feature_path, mel_len)`` per test utterance, testdata.json order (= submission order).
    """

    root: Path
    n_mels: int
    speaker2id: dict[str, int]
    id2speaker: dict[int, str]
    train: list[tuple[str, int, int]]
    test: list[tuple[str, int]]

    @property
    def n_speakers(self) -> int:
        return len(self.id2speaker)


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found (expected the HW4 Dataset/ layout: "
                                "metadata.json, testdata.json, mapping.json, uttr-*.pt)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise VoxCelebFormatError(f"{path}: not valid JSON ({err})") from None


def _entry(item: Any, where: str, root: Path, n_mels: int, check_files: bool) -> tuple[str, int]:
    if not isinstance(item, dict) or "feature_path" not in item or "mel_len" not in item:
        raise VoxCelebFormatError(f"{where}: expected {{'feature_path': ..., 'mel_len': ...}}, got {item!r}")
    name, length = item["feature_path"], item["mel_len"]
    if not isinstance(name, str) or Path(name).name != name or not name.endswith(".pt"):
        raise VoxCelebFormatError(f"{where}: feature_path {name!r} is not a plain 'uttr-*.pt' file name")
    if not isinstance(length, int) or length <= 0:
        raise VoxCelebFormatError(f"{where} ({name}): mel_len {length!r} is not a positive integer")
    if check_files and not (root / name).is_file():
        raise FileNotFoundError(f"{root / name}: referenced by {where} but missing")
    return name, length


def load_dataset(root: str | os.PathLike, check_files: bool = True,
                 check_features: bool = False) -> VoxCelebData:
    """Parse and check ``metadata.json``, ``testdata.json`` and ``mapping.json`` in ``root``;
    errors name the file and the entry. ``check_files``: every ``uttr-*.pt`` named must exist
    (a ``stat`` each); ``check_features``: also load each one and check ``[mel_len, n_mels]``
    (slow on the real 6.9 GB set; features are checked whenever they are loaded anyway)."""
    root = Path(root)
    meta_path, test_path, map_path = root / "metadata.json", root / "testdata.json", root / "mapping.json"
    meta, testdata, mapping = _read_json(meta_path), _read_json(test_path), _read_json(map_path)
    for path, obj, key in ((meta_path, meta, "speakers"), (test_path, testdata, "utterances")):
        if not isinstance(obj, dict) or key not in obj or "n_mels" not in obj:
            raise VoxCelebFormatError(f"{path}: expected an object with keys 'n_mels' and {key!r}")
    n_mels = meta["n_mels"]
    if testdata["n_mels"] != n_mels:
        raise VoxCelebFormatError(f"{test_path}: n_mels {testdata['n_mels']} differs from "
                                  f"{meta_path}'s {n_mels}")
    if not isinstance(mapping, dict) or not {"speaker2id", "id2speaker"} <= set(mapping):
        raise VoxCelebFormatError(f"{map_path}: expected keys 'speaker2id' and 'id2speaker'")
    for path, obj, key, kind in ((meta_path, meta, "speakers", dict), (test_path, testdata, "utterances", list),
                                 (map_path, mapping, "speaker2id", dict), (map_path, mapping, "id2speaker", dict)):
        if not isinstance(obj[key], kind):
            raise VoxCelebFormatError(f"{path}: {key!r} should be a JSON {'object' if kind is dict else 'array'}")
    speaker2id = {str(k): int(v) for k, v in mapping["speaker2id"].items()}
    id2speaker = {int(k): str(v) for k, v in mapping["id2speaker"].items()}
    if sorted(id2speaker) != list(range(len(id2speaker))):
        raise VoxCelebFormatError(f"{map_path}: id2speaker keys must be '0'..'{len(id2speaker) - 1}'")
    for name, sid in speaker2id.items():
        if id2speaker.get(sid) != name:
            raise VoxCelebFormatError(f"{map_path}: speaker2id[{name!r}] = {sid} but "
                                      f"id2speaker[{str(sid)!r}] = {id2speaker.get(sid)!r}")
    train: list[tuple[str, int, int]] = []
    for speaker, items in meta["speakers"].items():
        if not isinstance(items, list):
            raise VoxCelebFormatError(f"{meta_path}: speakers[{speaker!r}] should be a list of utterances")
        if speaker not in speaker2id:
            raise VoxCelebFormatError(f"{meta_path}: speaker {speaker!r} is not in {map_path}")
        for k, item in enumerate(items):
            name, length = _entry(item, f"{meta_path} speakers[{speaker!r}][{k}]", root, n_mels, check_files)
            train.append((name, length, speaker2id[speaker]))
    test = [_entry(item, f"{test_path} utterances[{k}]", root, n_mels, check_files)
            for k, item in enumerate(testdata["utterances"])]
    if not train:
        raise VoxCelebFormatError(f"{meta_path}: 'speakers' holds no utterances (nothing to train on)")
    if not test:
        raise VoxCelebFormatError(f"{test_path}: 'utterances' is empty (nothing to predict)")
    data = VoxCelebData(root, n_mels, speaker2id, id2speaker, train, test)
    if check_features:
        for name, length, *_ in (*train, *test):
            load_features(root / name, n_mels, length)
    return data


def load_features(path: str | os.PathLike, n_mels: int = N_MELS, mel_len: int | None = None) -> torch.Tensor:
    """One utterance as a float32 tensor ``[T, n_mels]``.

    Uses ``torch.load(weights_only=True)``: plain tensors only, never arbitrary pickles;
    checks the shape, ``mel_len`` and that every value is finite.
    """
    mel = load_frames(path, n_mels, VoxCelebFormatError, "mel bin")
    if mel_len is not None and mel.shape[0] != mel_len:
        raise VoxCelebFormatError(f"{path}: {mel.shape[0]} frames but mel_len says {mel_len}")
    return mel


class FeatureStore:
    """Loads ``uttr-*.pt`` files on demand; ``preload=True`` keeps them all in RAM (the
    synthetic set, or the real one on a machine with > 8 GB free)."""

    def __init__(self, data: VoxCelebData, preload: bool = False) -> None:
        self.data = data
        self.lengths = {name: n for name, n, *_ in (*data.train, *data.test)}
        self.cache: dict[str, torch.Tensor] = {}
        if preload:
            self.cache = {name: self[name] for name in self.lengths}

    def __getitem__(self, name: str) -> torch.Tensor:
        # n_mels is always checked; mel_len only by load_dataset(check_features=True), since
        # metadata lengths only steer bucketing and crops use the tensor's own length.
        mel = self.cache.get(name)
        return mel if mel is not None else load_features(self.data.root / name, self.data.n_mels)


def summary(data: VoxCelebData) -> str:
    """One line: speakers, utterances, length range and median."""
    lengths = np.array([n for _, n, *_ in (*data.train, *data.test)])
    return (f"{data.n_speakers} speakers, {len(data.train)} labelled + {len(data.test)} test "
            f"utterances, {len(lengths) and lengths.min()}..{len(lengths) and lengths.max()} frames "
            f"(median {math.floor(np.median(lengths)) if len(lengths) else 0})")
