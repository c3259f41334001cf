"""Synthetic HW4 ``Dataset/`` in the exact layout: speakers as spectral envelopes plus a pitch
pattern, utterances with varying shares of silence and loud non-speech events."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from common.datasets.voxceleb.load import N_MELS
from common.io import atomic_open, write_json


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

