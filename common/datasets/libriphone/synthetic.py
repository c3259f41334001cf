"""Synthetic libriphone data in the exact on-disk layout: phoneme runs with coarticulation,
silences and phrase-level "harmony pairs" whose evidence is spread over the whole phrase."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from common.datasets.libriphone.load import FEAT_DIM, N_CLASSES, SILENCE

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
