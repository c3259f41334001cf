"""HW4 speaker data (ML2022Spring, 600 VoxCeleb speakers, 40-dim log-mel ``uttr-*.pt`` files):
loader, speaker-stratified split, random-crop training batches, length-bucketed padded
whole-utterance batches with masks, the real-data fetch, and a synthetic generator in the
exact on-disk layout.

Layout of ``Dataset/``::

    metadata.json  {"n_mels": 40, "speakers": {name: [{"feature_path": "uttr-<hex>.pt", "mel_len": T}, ...]}}
    testdata.json  {"n_mels": 40, "utterances": [{"feature_path": ..., "mel_len": T}, ...]}
    mapping.json   {"speaker2id": {name: id}, "id2speaker": {"0": name, ...}}   (string keys)
    uttr-*.pt      one float tensor [T, 40] per utterance

Masks are boolean ``[B, T]`` with True on real frames; padded frames are zero.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from common.io import atomic_open, write_json

N_MELS = 40
PART_URLS = tuple(
    "https://github.com/MachineLearningHW/ML_HW4_Dataset/releases/latest/download/"
    f"Dataset.tar.gz.part{suffix}" for suffix in ("aa", "ab", "ac", "ad"))
DOWNLOAD_GB = 6.9  # the four parts together; the extracted Dataset/ is 6.85 GB
MANIFEST_NAME = "ml2022_Dataset_lfs_manifest.tsv"  # in ../shared/data/hw4_speaker/


class VoxCelebFormatError(ValueError):
    """A file that does not have the HW4 layout; the message names the file and the entry."""


# --------------------------------------------------------------------------- loading
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
    """Parse ``metadata.json``, ``testdata.json`` and ``mapping.json`` in ``root``.

    Args:
        check_files: every referenced ``uttr-*.pt`` must exist (a cheap ``stat`` per file).
        check_features: also load every file and check ``[mel_len, n_mels]`` (slow on the real
            6.9 GB set; features are always checked when they are loaded anyway).
    Raises:
        FileNotFoundError / VoxCelebFormatError naming the file and the offending entry.
    """
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
        if speaker not in speaker2id:
            raise VoxCelebFormatError(f"{meta_path}: speaker {speaker!r} is not in {map_path}")
        for k, item in enumerate(items):
            name, length = _entry(item, f"{meta_path} speakers[{speaker!r}][{k}]", root, n_mels, check_files)
            train.append((name, length, speaker2id[speaker]))
    test = [_entry(item, f"{test_path} utterances[{k}]", root, n_mels, check_files)
            for k, item in enumerate(testdata["utterances"])]
    data = VoxCelebData(root, n_mels, speaker2id, id2speaker, train, test)
    if check_features:
        for name, length, *_ in (*train, *test):
            load_features(root / name, n_mels, length)
    return data


def load_features(path: str | os.PathLike, n_mels: int = N_MELS, mel_len: int | None = None) -> torch.Tensor:
    """One utterance as a float32 tensor ``[T, n_mels]``.

    Uses ``torch.load(weights_only=True)``: plain tensors only, never arbitrary pickles.
    """
    path = Path(path)
    try:
        mel = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: feature file missing") from None
    except Exception as err:  # unpickling errors come in many types
        raise VoxCelebFormatError(f"{path}: not a loadable tensor file ({type(err).__name__}: "
                                  f"{str(err).splitlines()[0] if str(err) else ''})") from None
    if not torch.is_tensor(mel) or mel.dim() != 2 or mel.shape[1] != n_mels:
        shape = tuple(mel.shape) if torch.is_tensor(mel) else type(mel).__name__
        raise VoxCelebFormatError(f"{path}: expected a tensor [T, {n_mels}], got {shape}")
    if mel_len is not None and mel.shape[0] != mel_len:
        raise VoxCelebFormatError(f"{path}: {mel.shape[0]} frames but mel_len says {mel_len}")
    return mel.float()


class FeatureStore:
    """Loads ``uttr-*.pt`` files on demand; ``preload=True`` keeps them all in RAM (the
    synthetic set, or the real one on a machine with > 8 GB free)."""

    def __init__(self, data: VoxCelebData, preload: bool = False) -> None:
        self.data = data
        self.lengths = {name: n for name, n, *_ in (*data.train, *data.test)}
        self.cache: dict[str, torch.Tensor] = {}
        if preload:
            for name in self.lengths:
                self.cache[name] = self._load(name)

    def _load(self, name: str) -> torch.Tensor:
        # n_mels is always checked; mel_len only by load_dataset(check_features=True), since
        # metadata lengths only steer bucketing and crops use the tensor's own length.
        return load_features(self.data.root / name, self.data.n_mels)

    def __getitem__(self, name: str) -> torch.Tensor:
        mel = self.cache.get(name)
        return mel if mel is not None else self._load(name)


# --------------------------------------------------------------------------- split
def stratified_split(labels: Sequence[int], valid_ratio: float, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, valid)``; every speaker with >= 2 utterances is in both.

    The Kaggle test speakers are all training speakers, so validation must cover every
    speaker too: ``max(1, round(ratio * n))`` per speaker, never all of them.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, valid = [], []
    for speaker in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == speaker))
        n_valid = 0 if len(idx) < 2 or valid_ratio <= 0 else min(len(idx) - 1, max(1, round(valid_ratio * len(idx))))
        valid.extend(idx[:n_valid])
        train.extend(idx[n_valid:])
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(valid, dtype=np.int64))


# --------------------------------------------------------------------------- batching
def pad_batch(mels: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad ``[T_i, D]`` tensors with zeros: ``(x [B, T_max, D], mask [B, T_max])``."""
    t_max = max(m.shape[0] for m in mels)
    x = mels[0].new_zeros(len(mels), t_max, mels[0].shape[1])
    mask = torch.zeros(len(mels), t_max, dtype=torch.bool)
    for i, m in enumerate(mels):
        x[i, : m.shape[0]] = m
        mask[i, : m.shape[0]] = True
    return x, mask


class CropDataset(Dataset):
    """Training items: a random ``segment_len``-frame crop and the speaker id.

    Shorter utterances are kept whole (the batch pads them and the mask hides the padding;
    the course code padded with -20 instead, which the model then sees as frames).
    Crops use torch's global RNG (saved in ``fit`` checkpoints; seeded per DataLoader worker).
    """

    def __init__(self, store: FeatureStore, items: Sequence[tuple[str, int, int]], segment_len: int) -> None:
        self.store, self.items, self.segment_len = store, list(items), segment_len

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        name, _, label = self.items[i]
        mel = self.store[name]
        length = mel.shape[0]
        if length > self.segment_len:
            start = int(torch.randint(0, length - self.segment_len + 1, ()).item())
            mel = mel[start:start + self.segment_len]
        return mel, label


def collate_crops(batch: Sequence[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x [B, T, D], mask [B, T], labels [B])``."""
    x, mask = pad_batch([m for m, _ in batch])
    return x, mask, torch.tensor([y for _, y in batch], dtype=torch.long)


def crop_loader(dataset: CropDataset, batch_size: int, steps_per_pass: int, seed: int,
                num_workers: int = 0) -> torch.utils.data.DataLoader:
    """A DataLoader yielding exactly ``steps_per_pass`` random batches per iteration (one
    ``fit`` "epoch" = one validation interval). Sampling with replacement, seeded; its
    ``generator`` is saved and restored by ``fit`` checkpoints."""
    from common.seed import make_generator, seed_worker

    gen = make_generator(seed)
    sampler = torch.utils.data.RandomSampler(dataset, replacement=True,
                                             num_samples=steps_per_pass * batch_size, generator=gen)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=True,
                                       collate_fn=collate_crops, num_workers=num_workers,
                                       worker_init_fn=seed_worker, generator=gen,
                                       pin_memory=torch.cuda.is_available())


def bucket_batches(lengths: Sequence[int], batch_size: int, max_frames: int | None = None) -> list[list[int]]:
    """Group indices of similar length: sorted by length, cut into batches of at most
    ``batch_size`` items and ``max_frames`` padded frames (B * T_max), so padding and memory
    stay small even for the 7,193-frame outliers."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[i]  # sorted ascending: the newcomer is the longest
        if current and (len(current) >= batch_size or
                        (max_frames is not None and (len(current) + 1) * longest > max_frames)):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


class UtteranceBatches:
    """Whole utterances in length-bucketed padded batches (validation and test).

    Yields ``(x [B, T, D], mask [B, T], labels [B], index [B])``: ``index`` is the position in
    ``items`` (to restore the file order); labels are -1 for unlabelled (test) items.
    """

    def __init__(self, store: FeatureStore, items: Sequence[tuple], batch_size: int = 32,
                 max_frames: int | None = 32 * 1024, crop: int | None = None) -> None:
        self.store, self.items, self.crop = store, list(items), crop
        lengths = [min(it[1], crop) if crop else it[1] for it in self.items]
        self.batches = bucket_batches(lengths, batch_size, max_frames)

    def __len__(self) -> int:
        return len(self.batches)

    def _mel(self, item: tuple) -> torch.Tensor:
        mel = self.store[item[0]]
        if self.crop and mel.shape[0] > self.crop:  # centre crop, only to show the crop trap
            start = (mel.shape[0] - self.crop) // 2
            mel = mel[start:start + self.crop]
        return mel

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
        for idx in self.batches:
            x, mask = pad_batch([self._mel(self.items[i]) for i in idx])
            labels = torch.tensor([self.items[i][2] if len(self.items[i]) > 2 else -1 for i in idx])
            yield x, mask, labels, torch.tensor(idx)


# --------------------------------------------------------------------------- real data
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def read_manifest(path: str | os.PathLike) -> dict[str, tuple[int, str]]:
    """``{file name: (size, sha256)}`` from the tab-separated manifest of the real files."""
    rows: dict[str, tuple[int, str]] = {}
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        if header != ["file", "size_bytes", "sha256"]:
            raise VoxCelebFormatError(f"{path} line 1: header {header}, expected file/size_bytes/sha256")
        for line_no, line in enumerate(f, start=2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or not parts[1].isdigit() or len(parts[2]) != 64:
                raise VoxCelebFormatError(f"{path} line {line_no}: expected file, size, sha256")
            rows[parts[0]] = (int(parts[1]), parts[2])
    return rows


def verify_manifest(folder: str | os.PathLike, manifest: dict[str, tuple[int, str]],
                    names: Sequence[str] | None = None) -> list[str]:
    """Problems found (empty = all good) comparing files in ``folder`` to the manifest:
    missing files, wrong sizes, wrong sha256. ``names`` limits the check (default: all)."""
    folder = Path(folder)
    problems = []
    for name in names if names is not None else sorted(manifest):
        size, digest = manifest[name]
        path = folder / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.stat().st_size != size:
            problems.append(f"{path}: {path.stat().st_size} bytes, expected {size}")
        elif _sha256(path) != digest:
            problems.append(f"{path}: sha256 differs from the manifest")
    return problems


class _ChainedResponses(io.RawIOBase):
    """The four release parts read back to back as one stream (``cat part* | tar xz``
    without writing the 6.9 GB archive to disk)."""

    def __init__(self, urls: Sequence[str], timeout: float, say: Callable[..., None]) -> None:
        self.urls, self.timeout, self.say = list(urls), timeout, say
        self.current: Any = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            if self.current is None:
                if not self.urls:
                    return 0
                url = self.urls.pop(0)
                self.say(f"downloading {url}")
                request = urllib.request.Request(url, headers={"User-Agent": "ml2022-homework-fetch"})
                self.current = urllib.request.urlopen(request, timeout=self.timeout)
            n = self.current.readinto(buffer)
            if n:
                return n
            self.current.close()
            self.current = None


def fetch_real(spec: Any, folder: Path, timeout: float = 15.0, say: Callable[..., None] = print,
               urls: Sequence[str] = PART_URLS) -> list[str]:
    """Download and unpack the real ``Dataset/`` (about 6.9 GB) into ``folder``; verify the
    three JSON files against the registry's sha256 (and every file against the shared
    manifest when it is present). The fetcher of ``python -m common.data fetch hw4``: returns
    the failed download attempts ([] on success), raises FetchError for wrong files."""
    from common.data import FetchError
    from common.paths import shared_data_dir

    root = folder.parent
    if all((folder / f.name).is_file() for f in spec.files):
        for f in spec.files:
            if _sha256(folder / f.name) not in f.sha256:
                raise FetchError(f"{folder / f.name}: sha256 is not the real file's; delete or move "
                                 "it and fetch again")
        say(f"ok       {folder}")
        return []
    root.mkdir(parents=True, exist_ok=True)
    free_gb = shutil.disk_usage(root).free / 1e9
    say(f"HW4 data: {len(urls)} parts, about {DOWNLOAD_GB} GB to download and {DOWNLOAD_GB} GB on disk "
        f"({free_gb:.0f} GB free in {root}); this takes a while.")
    if free_gb < 7.5:
        raise FetchError(f"{root}: only {free_gb:.1f} GB free, the HW4 Dataset/ needs about 7 GB")
    with tempfile.TemporaryDirectory(dir=root, prefix=".fetch-hw4-") as tmp:
        try:
            stream = io.BufferedReader(_ChainedResponses(urls, timeout, say), buffer_size=1 << 20)
            with tarfile.open(fileobj=stream, mode="r|gz") as archive:
                for member in archive:
                    if not (member.isfile() or member.isdir()) or member.name.startswith(("/", "..")) \
                            or ".." in Path(member.name).parts:
                        continue  # nothing but plain files inside Dataset/
                    archive.extract(member, tmp, set_attrs=False)
        except (urllib.error.URLError, OSError, tarfile.TarError) as err:
            return [f"{urls[0]} (+{len(urls) - 1} parts): {getattr(err, 'reason', err)}"]
        got = next((p.parent for p in Path(tmp).rglob("metadata.json")), None)
        if got is None:
            raise FetchError(f"the archive from {urls[0]} holds no metadata.json")
        for f in spec.files:
            if not (got / f.name).is_file() or _sha256(got / f.name) not in f.sha256:
                raise FetchError(f"{got / f.name}: missing or sha256 differs from the real file's")
        shared = shared_data_dir()
        manifest_path = shared / "hw4_speaker" / MANIFEST_NAME if shared else None
        if manifest_path is not None and manifest_path.is_file():
            problems = verify_manifest(got, read_manifest(manifest_path))
            if problems:
                raise FetchError(f"{len(problems)} files differ from {manifest_path}: "
                                 + "; ".join(problems[:5]))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(got, folder)
    say(f"fetched  {folder}")
    return []


# --------------------------------------------------------------------------- synthetic
@dataclass
class SyntheticSpec:
    """Size and difficulty of the synthetic stand-in (defaults: CPU-friendly).

    Like real VoxCeleb clips (interviews, with pauses, laughter, applause, music), a large and
    varying share of the frames carries no speaker evidence: each utterance is speech runs
    separated by non-speech stretches whose total share is drawn per utterance from
    ``nonspeech_share``. A non-speech stretch is quiet silence at a random level, or (with
    probability ``event_prob``) a loud "event" with its own random spectrum, often with a
    harmonic pattern at a random pitch (music, a laugh), the same kind of pattern that
    identifies a speaker. Mean pooling averages those frames into the utterance embedding;
    attention pooling can learn to give them no weight.
    """

    n_speakers: int = 48
    train_per_speaker: int = 24
    test_per_speaker: int = 4
    median_len: int = 220  # frames; the real median is ~540 (range 91..7193)
    min_len: int = 60
    max_len: int = 1200
    n_phones: int = 32
    speaker_scale: float = 0.55  # amplitude of the speaker pattern relative to phone content
    nonspeech_share: tuple[float, float] = (0.3, 0.8)  # per utterance, uniform in this range
    speech_run: tuple[int, int] = (15, 70)  # frames of speech between two non-speech stretches
    event_prob: float = 0.6  # a non-speech stretch is a loud event (else silence)
    event_scale: float = 1.2  # amplitude of an event's spectrum (phones: 2.0, speakers: ~0.55)


SMOKE_SPEC = SyntheticSpec(n_speakers=8, train_per_speaker=6, test_per_speaker=2, median_len=90,
                           min_len=40, max_len=200)


def _smooth_curves(rng: np.random.Generator, n: int, dim: int, n_cos: int, scale: float) -> np.ndarray:
    """``[n, dim]`` random smooth curves (a few cosines over the mel axis)."""
    k = np.arange(1, n_cos + 1)
    axis = np.linspace(0, np.pi, dim)
    coef = rng.normal(size=(n, n_cos)) / k  # low frequencies dominate, like spectral envelopes
    return scale * coef @ np.cos(np.outer(k, axis))


def _harmonics(dim: int, pitch: float) -> np.ndarray:
    """``[dim]`` a pitch-like pattern: peaks every ``pitch`` mel bins."""
    return 0.6 * np.cos(2 * np.pi * np.arange(dim) / pitch)


def synthetic_utterance(rng: np.random.Generator, length: int, envelope: np.ndarray, pitch: float,
                        phones: np.ndarray, spec: SyntheticSpec) -> np.ndarray:
    """``[length, 40]``: speech runs (phone-like segments carrying the speaker pattern:
    spectral envelope + harmonics at the speaker's pitch) between non-speech stretches
    (silence, or loud events with their own spectrum and often a random pitch), then a
    per-utterance channel tilt and noise level over everything."""
    dim = envelope.shape[0]
    frames, voiced = _speech_and_gaps(rng, length, dim, phones, spec)
    while voiced.sum() < min(15, length // 4):  # every utterance has some speech (deterministic redraw)
        frames, voiced = _speech_and_gaps(rng, length, dim, phones, spec)
    jitter = pitch * (1 + 0.03 * rng.normal())
    frames[voiced] += spec.speaker_scale * (envelope + _harmonics(dim, jitter))
    channel = _smooth_curves(rng, 1, dim, 3, 0.8)[0]  # a different microphone per utterance
    noise = rng.uniform(0.3, 0.9)
    frames = frames + channel + noise * rng.normal(size=frames.shape)
    return frames.astype(np.float32)


def _speech_and_gaps(rng: np.random.Generator, length: int, dim: int, phones: np.ndarray,
                     spec: SyntheticSpec) -> tuple[np.ndarray, np.ndarray]:
    """``(frames [length, dim] without speaker/channel/noise, voiced [length] bool)``."""
    frames = np.empty((length, dim))
    voiced = np.zeros(length, dtype=bool)
    share = rng.uniform(*spec.nonspeech_share)
    mean_run = sum(spec.speech_run) / 2
    mean_gap = mean_run * share / (1 - share)  # so that about `share` of the frames are non-speech
    speech = bool(rng.random() < 1 - share)  # the first stretch: speech or not
    t = 0
    while t < length:
        if speech:
            end = min(length, t + int(rng.integers(*spec.speech_run)))
            while t < end:  # phone-like segments of 4..15 frames
                dur = int(rng.integers(4, 16))
                frames[t:min(t + dur, end)] = phones[rng.integers(len(phones))]
                voiced[t:min(t + dur, end)] = True
                t += dur
            t = min(t, end)
        else:
            dur = max(3, int(rng.exponential(mean_gap)))
            if rng.random() < spec.event_prob:
                event = _smooth_curves(rng, 1, dim, 6, spec.event_scale)[0] + rng.uniform(-1.0, 1.5)
                if rng.random() < 0.7:  # music, laughter: harmonic, at nobody's particular pitch
                    event = event + spec.speaker_scale * 2 * _harmonics(dim, rng.uniform(3.0, 9.0))
                frames[t:t + dur] = event
            else:
                frames[t:t + dur] = rng.uniform(-5.0, -3.0)  # silence at a varying floor
            t += dur
        speech = not speech
    return frames, voiced


def write_synthetic(out_dir: str | os.PathLike, seed: int = 0, smoke: bool = False,
                    spec: SyntheticSpec | None = None) -> None:
    """Write a deterministic synthetic ``Dataset/`` in the exact HW4 layout into ``out_dir``
    (plus ``synthetic_test_labels.json``, the answers, which the real set does not have)."""
    spec = spec or (SMOKE_SPEC if smoke else SyntheticSpec())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = sorted(rng.choice(np.arange(10000, 11300), size=spec.n_speakers, replace=False))
    names = [f"id{int(i):05d}" for i in ids]
    # Speakers come in families sharing most of their envelope, so they are not trivially apart.
    n_families = max(2, spec.n_speakers // 6)
    family = _smooth_curves(rng, n_families, N_MELS, 6, 1.0)
    envelopes = family[rng.integers(n_families, size=spec.n_speakers)] + _smooth_curves(
        rng, spec.n_speakers, N_MELS, 8, 0.6)
    pitches = rng.uniform(3.0, 9.0, size=spec.n_speakers)
    phones = _smooth_curves(rng, spec.n_phones, N_MELS, 10, 2.0)

    def length() -> int:
        return int(np.clip(rng.lognormal(np.log(spec.median_len), 0.45), spec.min_len, spec.max_len))

    def save(k: int) -> tuple[str, int]:
        n = length()
        mel = synthetic_utterance(rng, n, envelopes[k], pitches[k], phones, spec)
        name = f"uttr-{rng.bytes(16).hex()}.pt"
        torch.save(torch.from_numpy(mel), out / name)
        return name, n

    speakers: dict[str, list[dict[str, Any]]] = {}
    for k, name in enumerate(names):
        speakers[name] = []
        for _ in range(spec.train_per_speaker):
            path, n = save(k)
            speakers[name].append({"feature_path": path, "mel_len": n})
    test_speakers = np.repeat(np.arange(spec.n_speakers), spec.test_per_speaker)
    rng.shuffle(test_speakers)
    utterances, answers = [], []
    for k in test_speakers:
        path, n = save(int(k))
        utterances.append({"feature_path": path, "mel_len": n})
        answers.append(names[int(k)])
    with atomic_open(out / "metadata.json") as f:
        json.dump({"n_mels": N_MELS, "speakers": speakers}, f)
    with atomic_open(out / "testdata.json") as f:
        json.dump({"n_mels": N_MELS, "utterances": utterances}, f)
    write_json(out / "mapping.json", {"speaker2id": {n: i for i, n in enumerate(names)},
                                      "id2speaker": {str(i): n for i, n in enumerate(names)}})
    write_json(out / "synthetic_test_labels.json",
               {u["feature_path"]: a for u, a in zip(utterances, answers)})


def synthetic_test_labels(root: str | os.PathLike) -> dict[str, str] | None:
    """The synthetic set's answers ``{feature_path: speaker}``, or None for real data."""
    path = Path(root) / "synthetic_test_labels.json"
    return json.loads(path.read_text()) if path.is_file() else None


def summary(data: VoxCelebData) -> str:
    """One line: speakers, utterances, length range and median."""
    lengths = np.array([n for _, n, *_ in (*data.train, *data.test)])
    return (f"{data.n_speakers} speakers, {len(data.train)} labelled + {len(data.test)} test "
            f"utterances, {len(lengths) and lengths.min()}..{len(lengths) and lengths.max()} frames "
            f"(median {math.floor(np.median(lengths)) if len(lengths) else 0})")
