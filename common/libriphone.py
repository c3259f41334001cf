"""HW2 "libriphone" (framewise phoneme classification): a loader that keeps every feature frame
once in memory, frame-window and whole-utterance batches built on the fly, and a synthetic
generator in the exact on-disk layout.

Layout (ML2022Spring HW2, Kaggle ``ml2022spring-hw2``)::

    libriphone/train_split.txt      utterance ids, one per line (no trailing newline)
    libriphone/test_split.txt
    libriphone/train_labels.txt     "<utt_id> l1 l2 ... lT", one label (0..40) per frame
    libriphone/feat/train/<utt_id>.pt   float32 tensor [T, 39] (MFCC, per-utterance CMVN)
    libriphone/feat/test/<utt_id>.pt

Why flat memory: the official sample materialises every (2k+1)-frame window
(``torch.empty(3_000_000, 39 * concat_nframes)`` per split), so RAM grows linearly with the
context width (about 25 GB for train + valid at 61 frames). Here the features of all
utterances are one ``[N, 39]`` tensor plus offsets; a batch of windows is gathered with index
arithmetic (positions clamped to the utterance's first/last frame, which is exactly the
official edge replication), so memory does not depend on the width.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import tempfile
import urllib.error
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

N_CLASSES = 41
FEAT_DIM = 39
SILENCE = 0
IGNORE_INDEX = -100  # label of padded frames (nn.CrossEntropyLoss's default ignore_index)


class LibriphoneFormatError(ValueError):
    """A libriphone file that does not have the course layout; the message names file/utterance."""


# --------------------------------------------------------------------------------------------
# Reading the files
# --------------------------------------------------------------------------------------------

def read_split(path: str | os.PathLike) -> list[str]:
    """Utterance ids of a ``*_split.txt`` in file order (blank lines ignored)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: split list not found")
    ids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    seen: set[str] = set()
    for i, u in enumerate(ids, start=1):
        if u in seen:
            raise LibriphoneFormatError(f"{path} line {i}: utterance {u!r} listed twice")
        seen.add(u)
    return ids


def read_labels(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """``train_labels.txt`` -> {utt_id: int64 labels [T]}; checks every label is in 0..40."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: label file not found")
    labels: dict[str, np.ndarray] = {}
    with open(path) as f:
        for lineno, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            utt, values = fields[0], fields[1:]
            try:
                arr = np.array(values, dtype=np.int64)
            except ValueError:
                raise LibriphoneFormatError(
                    f"{path} line {lineno} (utterance {utt}): labels must be integers") from None
            if arr.size == 0 or arr.min() < 0 or arr.max() >= N_CLASSES:
                raise LibriphoneFormatError(
                    f"{path} line {lineno} (utterance {utt}): expected 1+ labels in "
                    f"0..{N_CLASSES - 1}, got {arr.size} labels"
                    + (f" in {arr.min()}..{arr.max()}" if arr.size else ""))
            if utt in labels:
                raise LibriphoneFormatError(f"{path} line {lineno}: utterance {utt} labelled twice")
            labels[utt] = arr
    return labels


def load_feature(path: str | os.PathLike) -> torch.Tensor:
    """One ``feat/<mode>/<utt>.pt`` -> float32 [T, 39], checked."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: feature file not found")
    feat = torch.load(path, map_location="cpu", weights_only=True)
    if not torch.is_tensor(feat) or feat.dim() != 2 or feat.shape[1] != FEAT_DIM:
        shape = tuple(feat.shape) if torch.is_tensor(feat) else type(feat).__name__
        raise LibriphoneFormatError(f"{path}: expected a tensor [T, {FEAT_DIM}], got {shape}")
    return feat.float()


@dataclass
class FlatFeatures:
    """All frames of a list of utterances, stored once.

    Attributes:
        feats: float32 [N, 39], utterance after utterance in ``utt_ids`` order.
        offsets: int64 [U + 1]; utterance ``i`` is ``feats[offsets[i]:offsets[i + 1]]``.
        utt_ids: U utterance ids.
        labels: int64 [N] frame labels, or None (test split).
    """

    feats: torch.Tensor
    offsets: torch.Tensor
    utt_ids: list[str]
    labels: torch.Tensor | None = None

    @property
    def lengths(self) -> torch.Tensor:
        """int64 [U] frames per utterance."""
        return self.offsets[1:] - self.offsets[:-1]

    @property
    def n_frames(self) -> int:
        return int(self.offsets[-1])

    def __len__(self) -> int:
        return len(self.utt_ids)

    def utterance(self, i: int) -> torch.Tensor:
        """[T_i, 39] features of utterance ``i`` (a view)."""
        return self.feats[self.offsets[i]:self.offsets[i + 1]]

    def frame_utterance(self) -> torch.Tensor:
        """int64 [N]: the utterance index of every frame."""
        return torch.repeat_interleave(torch.arange(len(self)), self.lengths)


def load_libriphone(data_dir: str | os.PathLike, split: str = "train",
                    utt_ids: Sequence[str] | None = None, with_labels: bool = True
                    ) -> FlatFeatures:
    """Read one split of a libriphone folder into flat memory.

    Args:
        split: ``"train"`` (with labels) or ``"test"`` (never labelled).
        utt_ids: read only these (default: the whole ``<split>_split.txt``, in file order).
        with_labels: False reads training features without ``train_labels.txt``.

    Raises:
        FileNotFoundError naming the missing split list / label file / feature file;
        LibriphoneFormatError naming the utterance whose label count differs from its frame count.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(data_dir)
    ids = list(utt_ids) if utt_ids is not None else read_split(root / f"{split}_split.txt")
    label_dict = read_labels(root / "train_labels.txt") if split == "train" and with_labels \
        else None
    if label_dict is not None:
        missing = [u for u in ids if u not in label_dict]
        if missing:
            raise LibriphoneFormatError(f"{root / 'train_labels.txt'}: no labels for utterance "
                                        f"{missing[0]}" + (f" (and {len(missing) - 1} more)"
                                                           if len(missing) > 1 else ""))
        # Label counts give every length in advance: one exact allocation, no concat copy.
        lengths = [len(label_dict[u]) for u in ids]
        feats = torch.empty(sum(lengths), FEAT_DIM)
        labels = torch.empty(sum(lengths), dtype=torch.long)
        pos = 0
        for u, n in zip(ids, lengths):
            path = root / "feat" / split / f"{u}.pt"
            f = load_feature(path)
            if len(f) != n:
                raise LibriphoneFormatError(
                    f"utterance {u}: {n} labels in train_labels.txt but {len(f)} frames in {path}")
            feats[pos:pos + n] = f
            labels[pos:pos + n] = torch.from_numpy(label_dict.pop(u))
            pos += n
    else:
        parts = [load_feature(root / "feat" / split / f"{u}.pt") for u in ids]
        lengths = [len(p) for p in parts]
        feats = torch.cat(parts) if parts else torch.empty(0, FEAT_DIM)
        del parts
        labels = None
    offsets = torch.zeros(len(ids) + 1, dtype=torch.long)
    offsets[1:] = torch.cumsum(torch.tensor(lengths, dtype=torch.long), 0)
    return FlatFeatures(feats, offsets, ids, labels)


def split_by_utterance(n_utterances: int, train_ratio: float = 0.8,
                       seed: int = 1337) -> tuple[list[int], list[int]]:
    """Indices of the training and validation utterances (never a frame-level split).

    Reproduces the official sample exactly: ``random.seed(seed); random.shuffle(lines)``,
    the first ``int(n * train_ratio)`` are training. A private ``random.Random`` is used so
    the global RNG is untouched.
    """
    order = list(range(n_utterances))
    random.Random(seed).shuffle(order)
    cut = int(n_utterances * train_ratio)
    return order[:cut], order[cut:]


# --------------------------------------------------------------------------------------------
# Getting the real data (``python -m common.data fetch hw2``)
# --------------------------------------------------------------------------------------------

# The official 2022 sample notebook's main link and backups for libriphone.zip (~480 MB).
# No sha256 of the zip is published, so the extracted layout is verified instead.
LIBRIPHONE_URLS = (
    "https://github.com/xraychen/shiny-robot/releases/download/v1.0/libriphone.zip",
    "https://drive.google.com/uc?export=download&id=1o6Ag-G3qItSmYhTheX6DYiuyNzWyHyTc",
    "https://drive.google.com/uc?export=download&id=1R1uQYi4QpX0tBfUWt2mbZcncdBsJkxeW",
    "https://www.dropbox.com/s/wqww8c5dbrl2ka9/libriphone.zip?dl=1",
    "https://www.dropbox.com/s/p2ljbtb2bam13in/libriphone.zip?dl=1",
)
REAL_SIZES = {"train": 4286, "test": 1078}  # utterances; frames: 2,644,158 and 646,268


def verify_layout(folder: str | os.PathLike, check_frames: bool = True) -> dict[str, int]:
    """Check a libriphone folder: split lists, a label line per training utterance, a feature
    file per utterance, and (``check_frames``) label count == frame count for each one.

    Returns ``{"train": n_utts, "test": n_utts, "train_frames": n}``; raises
    FileNotFoundError / LibriphoneFormatError naming the first bad file or utterance.
    """
    folder = Path(folder)
    train, test = read_split(folder / "train_split.txt"), read_split(folder / "test_split.txt")
    labels = read_labels(folder / "train_labels.txt")
    for split, ids in (("train", train), ("test", test)):
        for u in ids:
            if not (folder / "feat" / split / f"{u}.pt").is_file():
                raise FileNotFoundError(f"{folder / 'feat' / split / (u + '.pt')}: feature file "
                                        f"of utterance {u} ({split}_split.txt) not found")
    missing = [u for u in train if u not in labels]
    if missing:
        raise LibriphoneFormatError(f"{folder / 'train_labels.txt'}: no labels for utterance "
                                    f"{missing[0]} ({len(missing)} missing)")
    frames = sum(len(labels[u]) for u in train)
    if check_frames:
        frames = load_libriphone(folder, "train").n_frames  # raises on any count mismatch
    return {"train": len(train), "test": len(test), "train_frames": frames}


def _install(found: Path, folder: Path) -> None:
    """Move a verified extracted libriphone folder's content into ``folder``."""
    for name in ("train_split.txt", "test_split.txt", "train_labels.txt", "feat"):
        target = folder / name
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(found / name, target)


def fetch_libriphone(spec, folder: Path, timeout: float = 15.0,
                     say: Callable[..., None] = print) -> list[str]:
    """Download ``libriphone.zip`` (official mirrors, then the Kaggle CLI), extract it, verify
    the layout (:func:`verify_layout`) and install it into ``folder``.

    Returns ``[]`` on success, else one line per failed attempt (``common.data.fetch`` turns
    them into a FetchError with what to do by hand; offline this takes seconds).
    """
    from common import data as cd

    try:
        counts = verify_layout(folder, check_frames=False)
        say(f"ok       {folder}  ({counts})")
        return []
    except (FileNotFoundError, LibriphoneFormatError):
        pass
    failures: list[str] = []
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".fetch-libriphone-") as tmp:
        work = Path(tmp)

        def try_extracted(origin: str) -> bool:
            for split_file in sorted(work.rglob("train_split.txt")):
                try:
                    counts = verify_layout(split_file.parent)
                    # The split lists have known digests; the rest is checked by its layout.
                    wrong = [f.name for f in spec.files
                             if f.sha256 and cd.sha256sum(split_file.parent / f.name) not in f.sha256]
                    if wrong:
                        raise LibriphoneFormatError(f"{', '.join(wrong)}: not the official file(s)")
                except (FileNotFoundError, LibriphoneFormatError) as err:
                    failures.append(f"{origin}: extracted layout is wrong: {err}")
                    continue
                _install(split_file.parent, folder)
                say(f"fetched  {folder}  ({origin}; verified layout {counts})")
                return True
            failures.append(f"{origin}: no libriphone/train_split.txt in the archive")
            return False

        for url in LIBRIPHONE_URLS:
            archive = work / "libriphone.zip"
            try:
                cd._download(url, archive, timeout)
            except (urllib.error.URLError, OSError) as err:
                reason = getattr(err, "reason", err)
                failures.append(f"{url}: {reason}")
                if isinstance(reason, OSError):  # no network: the other mirrors fail alike
                    break
                continue
            try:
                with zipfile.ZipFile(archive) as z:
                    z.extractall(work / "x")
            except zipfile.BadZipFile:
                failures.append(f"{url}: not a zip file (a quota or login page?)")
                continue
            finally:
                archive.unlink(missing_ok=True)
            if try_extracted(url):
                return []
            shutil.rmtree(work / "x", ignore_errors=True)
        if cd._kaggle_configured():
            failures += cd._fetch_kaggle(spec, work, timeout)
            if try_extracted(f"kaggle {spec.kaggle}"):
                return []
        else:
            failures.append("Kaggle CLI: not configured (pip install kaggle; ~/.kaggle/kaggle.json)")
    return failures


# --------------------------------------------------------------------------------------------
# Windows and batches
# --------------------------------------------------------------------------------------------

def gather_windows(feats: torch.Tensor, frames: torch.Tensor, first: torch.Tensor,
                   last: torch.Tensor, concat_nframes: int) -> torch.Tensor:
    """Context windows of ``concat_nframes`` (odd) frames centred on ``frames``.

    Args:
        feats: [N, D] flat features.
        frames, first, last: int64 [B]: the centre frame and its utterance's first and last
            frame (inclusive), as flat indices.

    Returns:
        [B, concat_nframes * D]: frames ``t-k .. t+k`` side by side, positions outside the
        utterance clamped to its edge frame (identical to the official ``concat_feat``).
    """
    if concat_nframes < 1 or concat_nframes % 2 == 0:
        raise ValueError(f"concat_nframes must be odd and >= 1, got {concat_nframes}")
    k = concat_nframes // 2
    shifts = torch.arange(-k, k + 1, device=frames.device)
    pos = frames[:, None] + shifts[None, :]
    pos = torch.maximum(torch.minimum(pos, last[:, None]), first[:, None])
    return feats[pos].reshape(len(frames), concat_nframes * feats.shape[1])


class WindowBatches:
    """``(x [B, concat_nframes * 39], y [B])`` minibatches over the frames of some utterances,
    each window gathered when its batch is drawn (memory independent of the width).

    Args:
        data: the flat features (shared, never copied).
        utterances: indices into ``data`` of the utterances to use (default all).
        shuffle: reshuffle frames every pass with the seeded ``generator`` (saved by ``fit``).
        max_batches: stop a pass after this many batches (step-based epochs).
    Test data (no labels) yields ``x`` only.
    """

    def __init__(self, data: FlatFeatures, utterances: Sequence[int] | None = None, *,
                 concat_nframes: int = 1, batch_size: int = 512, shuffle: bool = False,
                 seed: int = 0, max_batches: int | None = None) -> None:
        if concat_nframes < 1 or concat_nframes % 2 == 0:
            raise ValueError(f"concat_nframes must be odd and >= 1, got {concat_nframes}")
        self.data, self.concat_nframes, self.batch_size = data, concat_nframes, batch_size
        self.shuffle, self.max_batches = shuffle, max_batches
        utts = torch.arange(len(data)) if utterances is None else torch.as_tensor(
            list(utterances), dtype=torch.long)
        lengths = data.lengths[utts]
        # Per selected frame: its flat index and its utterance (int32 keeps this ~12 B/frame).
        self.utt_of = torch.repeat_interleave(utts, lengths).to(torch.int32)
        starts = data.offsets[utts]
        base = torch.repeat_interleave(starts - torch.cumsum(lengths, 0) + lengths, lengths)
        self.frames = (torch.arange(int(lengths.sum())) + base).to(torch.int64)
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    def __len__(self) -> int:
        n = math.ceil(self.n_frames / self.batch_size)
        return n if self.max_batches is None else min(n, self.max_batches)

    def batch(self, sel: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The batch for positions ``sel`` (int64 [B]) of this dataset's frame list."""
        frames = self.frames[sel]
        utt = self.utt_of[sel].long()
        first = self.data.offsets[utt]
        last = self.data.offsets[utt + 1] - 1
        x = gather_windows(self.data.feats, frames, first, last, self.concat_nframes)
        if self.data.labels is None:
            return (x,)
        return x, self.data.labels[frames]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        n = self.n_frames
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for b, start in enumerate(range(0, n, self.batch_size)):
            if self.max_batches is not None and b >= self.max_batches:
                return
            yield self.batch(order[start:start + self.batch_size])


def pad_utterances(data: FlatFeatures, utts: Sequence[int]) -> dict[str, torch.Tensor]:
    """Whole utterances padded to the longest one.

    Returns a dict: ``x`` float32 [B, T, 39] (zeros after the end), ``lengths`` int64 [B],
    ``mask`` bool [B, T], ``y`` int64 [B, T] (``IGNORE_INDEX`` on padding; absent for test),
    ``utt`` int64 [B] (indices into ``data``).
    """
    utts_t = torch.as_tensor(list(utts), dtype=torch.long)
    lengths = data.lengths[utts_t]
    t_max = int(lengths.max())
    mask = torch.arange(t_max)[None, :] < lengths[:, None]
    # Flat index of every real frame, row by row; padded slots are filled by masking.
    idx = (data.offsets[utts_t][:, None] + torch.arange(t_max)[None, :])[mask]
    x = torch.zeros(len(utts_t), t_max, data.feats.shape[1])
    x[mask] = data.feats[idx]
    batch = {"x": x, "lengths": lengths, "mask": mask, "utt": utts_t}
    if data.labels is not None:
        y = torch.full((len(utts_t), t_max), IGNORE_INDEX, dtype=torch.long)
        y[mask] = data.labels[idx]
        batch["y"] = y
    return batch


class SequenceBatches:
    """Length-bucketed batches of whole utterances (see :func:`pad_utterances` for the dict).

    Utterances are sorted by length and cut into batches of ``batch_size`` so little is
    padded; with ``shuffle`` the sort is done within random pools of ``bucket_factor``
    batches and the batch order is shuffled, with the seeded ``generator``.
    """

    def __init__(self, data: FlatFeatures, utterances: Sequence[int] | None = None, *,
                 batch_size: int = 16, shuffle: bool = False, seed: int = 0,
                 bucket_factor: int = 50) -> None:
        self.data, self.batch_size, self.shuffle = data, batch_size, shuffle
        self.bucket_factor = bucket_factor
        self.utts = torch.arange(len(data)) if utterances is None else torch.as_tensor(
            list(utterances), dtype=torch.long)
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def n_frames(self) -> int:
        return int(self.data.lengths[self.utts].sum())

    def __len__(self) -> int:
        return math.ceil(len(self.utts) / self.batch_size)

    def _batches(self) -> list[torch.Tensor]:
        utts = self.utts
        if self.shuffle:
            utts = utts[torch.randperm(len(utts), generator=self.generator)]
        pool = self.batch_size * self.bucket_factor if self.shuffle else len(utts)
        batches = []
        for start in range(0, len(utts), max(pool, 1)):
            chunk = utts[start:start + pool]
            chunk = chunk[torch.argsort(self.data.lengths[chunk], descending=True, stable=True)]
            batches += list(chunk.split(self.batch_size))
        if self.shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=self.generator)]
        return batches

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        for utts in self._batches():
            yield pad_utterances(self.data, utts.tolist())


# --------------------------------------------------------------------------------------------
# Synthetic data in the same layout
# --------------------------------------------------------------------------------------------

N_HARMONY_PAIRS = 16  # speech classes 1..32 come in harmony pairs, 33..40 are neutral


def _class_structure(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Fixed per-seed "language": base phonemes with phonotactics and durations, and the
    acoustics of the 41 classes.

    There are 24 base phonemes: 16 *harmonic* ones, each realised as one of two classes (a
    harmony pair, like front/back vowel pairs in vowel-harmony languages), and 8 neutral ones.
    Which member of a pair is spoken is decided once per phrase (the speech between two
    silences), so the cue that separates the pair members is spread over the whole phrase.
    """
    n_base = N_HARMONY_PAIRS + (N_CLASSES - 1 - 2 * N_HARMONY_PAIRS)
    # classes[b, h]: the class of base b under harmony h (neutral bases: the same class twice).
    classes = np.empty((n_base, 2), dtype=np.int64)
    classes[:N_HARMONY_PAIRS, 0] = np.arange(1, N_HARMONY_PAIRS + 1)
    classes[:N_HARMONY_PAIRS, 1] = np.arange(N_HARMONY_PAIRS + 1, 2 * N_HARMONY_PAIRS + 1)
    classes[N_HARMONY_PAIRS:] = np.arange(2 * N_HARMONY_PAIRS + 1, N_CLASSES)[:, None]
    protos = rng.normal(0.0, 1.0, (N_CLASSES, FEAT_DIM))
    # The pair members differ by one shared direction (a formant shift) plus a little of their
    # own: a single segment only weakly tells them apart, a phrase's worth of segments does.
    shift = rng.normal(0.0, 1.0, FEAT_DIM)
    shift *= 1.1 / np.linalg.norm(shift)
    for a, b in classes[:N_HARMONY_PAIRS]:
        protos[b] = protos[a] + shift + rng.normal(0.0, 0.03, FEAT_DIM)
    # Phonotactics: each base phoneme is followed by one of 6 bases.
    succ = np.zeros((n_base, n_base))
    for c in range(n_base):
        nxt = rng.choice(np.delete(np.arange(n_base), c), size=6, replace=False)
        succ[c, nxt] = rng.dirichlet(np.ones(6))
    first = rng.dirichlet(np.ones(n_base))  # the first phoneme after a silence
    # Carry-over coarticulation: a segment's onset is coloured by the previous phoneme.
    carry = rng.normal(0.0, 0.6, (N_CLASSES, FEAT_DIM))
    mean_dur = rng.uniform(5.0, 12.0, N_CLASSES)
    return {"classes": classes, "protos": protos, "succ": succ, "first": first,
            "carry": carry, "mean_dur": mean_dur}


def synthetic_utterance(n_frames: int, lang: dict[str, np.ndarray], rng: np.random.Generator,
                        noise: float = 2.5) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic utterance: (float32 features [T, 39] after CMVN, int64 labels [T]).

    Labels: silence at both edges and at pauses; in between, phrases of base phonemes from a
    phonotactic Markov chain with class-dependent durations, each phrase with its own harmony
    (which member of every harmony pair it uses). Features: class prototype + a colouring by the
    previous phoneme, smoothed over ~5 frames both ways (coarticulation), a per-utterance
    channel offset and scale, and strong per-frame noise so that single frames are ambiguous.
    """
    labels = np.empty(n_frames, dtype=np.int64)
    prev_of = np.empty(n_frames, dtype=np.int64)
    lead = int(rng.integers(10, 32))
    labels[:lead], prev_of[:lead], t = SILENCE, SILENCE, lead
    tail = int(rng.integers(10, 32))
    prev, base, harmony = SILENCE, None, int(rng.integers(2))
    while t < n_frames - tail:
        if base is None:
            cur = SILENCE
            dur = int(rng.integers(8, 30))
        else:
            cur = int(lang["classes"][base, harmony])
            dur = max(2, int(rng.gamma(4.0, lang["mean_dur"][cur] / 4.0)))
        dur = min(dur, n_frames - tail - t)
        labels[t:t + dur], prev_of[t:t + dur] = cur, prev
        t += dur
        prev = cur
        if base is None:  # after a silence: a new phrase with its own harmony
            base = int(rng.choice(len(lang["first"]), p=lang["first"]))
            harmony = int(rng.integers(2))
        elif rng.random() < 0.05:
            base = None  # a pause between phrases
        else:
            base = int(rng.choice(len(lang["first"]), p=lang["succ"][base]))
    labels[t:], prev_of[t:] = SILENCE, prev
    x = lang["protos"][labels] + lang["carry"][prev_of] * (labels != prev_of)[:, None]
    # Coarticulation: evidence smeared over neighbouring frames in both directions.
    kernel = np.exp(-0.5 * (np.arange(-6, 7) / 2.5) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(x, ((6, 6), (0, 0)), mode="edge")
    x = np.stack([np.convolve(padded[:, d], kernel, mode="valid") for d in range(FEAT_DIM)], 1)
    x = x * rng.uniform(0.7, 1.4) + rng.normal(0.0, 1.0, FEAT_DIM)  # speaker / channel
    x += rng.normal(0.0, noise, x.shape)
    x = (x - x.mean(0)) / (x.std(0) + 1e-5)  # per-utterance CMVN, as in the real features
    return x.astype(np.float32), labels


def write_synthetic(out_dir: str | os.PathLike, seed: int = 0, smoke: bool = False,
                    n_train: int | None = None, n_test: int | None = None,
                    min_len: int = 139, max_len: int = 998) -> None:
    """Write a synthetic libriphone folder (same files, same formats) into ``out_dir``.

    Sizes: smoke 40 + 10 utterances of 139..300 frames; default 400 + 100 utterances of
    139..998 frames (~0.25 M training frames); ``n_train=4286, n_test=1078`` gives the real
    size (~2.64 M training frames). Deterministic given ``seed``.
    """
    out = Path(out_dir)
    if smoke:
        n_train, n_test, max_len = n_train or 40, n_test or 10, min(max_len, 300)
    n_train = 400 if n_train is None else n_train
    n_test = 100 if n_test is None else n_test
    rng = np.random.default_rng(seed)
    lang = _class_structure(np.random.default_rng(seed + 1_000_003))
    for sub in ("train", "test"):
        (out / "feat" / sub).mkdir(parents=True, exist_ok=True)

    def ids(n: int, offset: int) -> list[str]:
        return [f"{100 + (i + offset) % 97}-{1000 + (i + offset) // 97}-{i:04d}" for i in range(n)]

    train_ids, test_ids = ids(n_train, 0), ids(n_test, n_train)
    with open(out / "train_labels.txt", "w") as lab:
        for split, utt_ids in (("train", train_ids), ("test", test_ids)):
            for u in utt_ids:
                # Real lengths span 139..998 frames with mean ~617 (2,644,158 / 4,286).
                n = min_len + int(round((max_len - min_len) * rng.beta(1.25, 1.0)))
                x, y = synthetic_utterance(n, lang, rng)
                torch.save(torch.from_numpy(x), out / "feat" / split / f"{u}.pt")
                if split == "train":
                    lab.write(u + " " + " ".join(map(str, y.tolist())) + "\n")
    # The real split lists have no trailing newline.
    (out / "train_split.txt").write_text("\n".join(train_ids))
    (out / "test_split.txt").write_text("\n".join(test_ids))
