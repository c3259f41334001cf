"""The espeak-ng speech-like data kind (benchmarks/speech_data.py): feature maths against exact
references, label/frame alignment against the audio itself, the course layouts, determinism.

Tests that synthesise speech need espeak-ng (``apt-get install -y espeak-ng``) and skip
without it.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch

from benchmarks import speech_data as S
from common.datasets import voxceleb as vc
from common.datasets.libriphone import read_labels, read_split, verify_layout

needs_espeak = pytest.mark.skipif(not S.espeak_available(),
                                  reason="espeak-ng not installed (apt-get install -y espeak-ng)")


# ----------------------------------------------------------------------------- no espeak needed
def test_phoneme_classes():
    assert S.phoneme_class("_") == S.phoneme_class("_:") == S.SILENCE
    assert S.CLASS_NAMES[S.phoneme_class("t")] == "T"
    assert S.CLASS_NAMES[S.phoneme_class("tS")] == "CH"
    assert S.CLASS_NAMES[S.phoneme_class("I2")] == "IH"  # a decorated variant -> its stem
    assert S.CLASS_NAMES[S.phoneme_class("3:")] == "ER"
    assert S.phoneme_class(";") == S.OTHER
    # every ARPAbet class is reachable from some espeak phoneme
    reached = {S.phoneme_class(p) for p in S._ESPEAK_TO_ARPA}
    assert reached == set(range(1, 40))


def test_frame_count_and_cmvn():
    rng = np.random.default_rng(0)
    wav = rng.normal(size=16000)
    f = S.mfcc39(wav)
    assert f.shape == (1 + (16000 - 400) // 160, 39) and f.dtype == np.float32
    np.testing.assert_allclose(f.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(f.std(0, ddof=1), 1, atol=1e-4)
    assert S.log_mel40(wav).shape == (1 + 16000 // 160, 40)  # centred frames, as torchaudio


def test_deltas_of_a_ramp_are_its_slope():
    x = np.outer(np.arange(20.0), [1.0, -2.0])
    d = S.deltas(x)
    np.testing.assert_allclose(d[2:-2], np.tile([1.0, -2.0], (16, 1)))  # exact away from edges


def test_log_mel_peaks_at_the_tone():
    t = np.arange(16000) / 16000
    fb = S._mel_filterbank(40, 400)
    for f0 in (300.0, 1000.0, 3000.0):
        mel = S.log_mel40(0.5 * np.sin(2 * np.pi * f0 * t))
        band = int(np.argmax(fb[int(round(f0 / 40))]))  # the filter with most weight at f0
        assert abs(int(np.argmax(mel[50])) - band) <= 1
    # log(clamp(1e-9)) on silence: the course's floor
    np.testing.assert_allclose(S.log_mel40(np.zeros(3200)), np.log(1e-9), rtol=1e-6)


def test_frame_labels_use_the_frame_centre():
    # frame t covers samples 160t .. 160t+400, centre 160t+200
    segs = [(0, 1000, 0), (1000, 2000, 5), (2000, 4000, 7)]
    y = S.frame_labels(segs, 4000)
    centres = 160 * np.arange(len(y)) + 200
    assert len(y) == S.n_frames_snip(4000) == 23
    assert (y[centres < 1000] == 0).all() and (y[(centres >= 1000) & (centres < 2000)] == 5).all()
    assert (y[centres >= 2000] == 7).all()


def test_segments_cover_the_waveform():
    segs = S.segments_from_events([(100, "h"), (300, "@"), (300, "l"), (500, "_")], 800)
    assert segs[0] == (0, 100, 0)
    assert [s for s, *_ in segs[1:]] == [100, 300, 500]  # the zero-length "@" is dropped
    assert segs[-1] == (500, 800, 0) and all(a[1] == b[0] for a, b in zip(segs, segs[1:]))


# ----------------------------------------------------------------------------- with espeak
def _band_contrast(wav: np.ndarray) -> np.ndarray:
    """Per 25 ms / 10 ms frame: log energy above 3.5 kHz minus log energy below 1 kHz."""
    t = S.n_frames_snip(len(wav))
    idx = np.arange(400)[None, :] + 160 * np.arange(t)[:, None]
    p = np.abs(np.fft.rfft(wav[idx] * np.hamming(400), 512)) ** 2
    f = np.fft.rfftfreq(512, 1 / 16000)
    return np.log(p[:, f > 3500].sum(1) + 1e-10) - np.log(p[:, f < 1000].sum(1) + 1e-10)


@needs_espeak
def test_labels_are_aligned_with_the_audio():
    """Sibilant frames (S, SH, Z) carry high-frequency energy, vowel frames low-frequency
    energy, silence frames little energy. With the labels shifted by a few frames the contrast
    drops: the labels sit on the frames the synthesiser spoke them in."""
    rng = np.random.default_rng(3)
    sib = {S.CLASS_NAMES.index(p) for p in ("S", "SH", "Z")}
    vow = {S.CLASS_NAMES.index(p) for p in ("AA", "AE", "AH", "AO", "EH", "IH", "IY", "UW", "EY",
                                             "AY", "OW")}
    contrast, labels, energy = [], [], []
    for text in ("she sells sea shells, so the sister says yes.",
                 "six cats sit on the wall as a bus passes.",
                 "this is his class, ask us soon."):
        voice = S.Voice("en-us", "m3", 50, 50, 160, 1.0)
        wav, segs = S.speak(rng, voice, text)
        wav = np.pad(wav, (3200, 3200))
        segs = [(s + 3200, e + 3200, c) for s, e, c in segs]
        y = S.frame_labels(segs, len(wav))
        assert len(y) == len(S.mfcc39(wav))
        contrast.append(_band_contrast(wav))
        labels.append(y)
        t = S.n_frames_snip(len(wav))
        idx = np.arange(400)[None, :] + 160 * np.arange(t)[:, None]
        energy.append(np.log((wav[idx] ** 2).sum(1) + 1e-10))
    c, e = np.concatenate(contrast), np.concatenate(energy)

    def separation(shift: int) -> float:
        y = np.concatenate([np.roll(lab, shift) for lab in labels])
        is_sib, is_vow = np.isin(y, list(sib)), np.isin(y, list(vow))
        return float(c[is_sib].mean() - c[is_vow].mean())

    y0 = np.concatenate(labels)
    assert separation(0) > 3.0  # nats: sibilants are far brighter than vowels
    assert separation(0) > separation(6) + 1.0 and separation(0) > separation(-6) + 1.0
    assert e[y0 == S.SILENCE].mean() < e[y0 != S.SILENCE].mean() - 5.0


@needs_espeak
def test_hw2_layout_answers_and_marker(tmp_path):
    summary = S.write_hw2(tmp_path, seed=0, smoke=True)
    counts = verify_layout(tmp_path)  # split lists, a label per frame, a file per utterance
    assert counts["train"] == S.HW2_SMOKE.n_train and counts["test"] == S.HW2_SMOKE.n_test
    assert counts["train_frames"] == summary["train_frames"]
    assert not (tmp_path / "train_split.txt").read_text().endswith("\n")  # as the real file
    for split in ("train", "test"):
        for u in read_split(tmp_path / f"{split}_split.txt"):
            path = tmp_path / "feat" / split / f"{u}.pt"
            x = torch.load(path, weights_only=True)
            assert x.dtype == torch.float32 and x.dim() == 2 and x.shape[1] == 39
            assert x.is_contiguous() and x.untyped_storage().nbytes() == x.numel() * 4
            assert zipfile.ZipFile(path).namelist()[0].startswith("archive/")  # as the real files
            torch.testing.assert_close(x.std(0), torch.ones(39), atol=1e-3, rtol=0)
    answers = S.synthetic_test_labels_hw2(tmp_path)
    test_ids = read_split(tmp_path / "test_split.txt")
    assert sorted(answers) == sorted(test_ids)
    for u in test_ids:
        assert len(answers[u]) == len(torch.load(tmp_path / "feat" / "test" / f"{u}.pt"))
    labels = read_labels(tmp_path / "train_labels.txt")
    assert all(0 <= v.min() and v.max() < 41 for v in labels.values())
    assert all(v[0] == S.SILENCE and v[-1] == S.SILENCE for v in labels.values())  # edges
    assert "SYNTHETIC speech" in (tmp_path / S.MARKER).read_text()


@needs_espeak
def test_hw2_is_deterministic_by_seed(tmp_path):
    spec = S.Hw2Spec(n_train=3, n_test=1, n_speakers=3, words=(3, 5))
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        S.write_hw2(tmp_path / name, seed=seed, spec=spec)
    a, b, c = ((tmp_path / n / "train_labels.txt").read_text() for n in "abc")
    assert a == b and a != c
    u = read_split(tmp_path / "a" / "train_split.txt")[0]
    fa, fb = (torch.load(tmp_path / n / "feat" / "train" / f"{u}.pt") for n in "ab")
    assert torch.equal(fa, fb)


@needs_espeak
def test_hw4_layout_answers_and_determinism(tmp_path):
    S.write_hw4(tmp_path / "a", seed=1, smoke=True)
    S.write_hw4(tmp_path / "b", seed=1, smoke=True)
    data = vc.load_dataset(tmp_path / "a", check_features=True)  # every [mel_len, 40] checked
    spec = S.HW4_SMOKE
    assert data.n_speakers == spec.n_speakers and data.n_mels == 40
    assert len(data.train) == spec.n_speakers * spec.train_per_speaker
    assert len(data.test) == spec.n_speakers * spec.test_per_speaker
    assert all(n.startswith("uttr-") and n.endswith(".pt") for n, *_ in (*data.train, *data.test))
    mapping = json.loads((tmp_path / "a" / "mapping.json").read_text())
    assert set(mapping) == {"speaker2id", "id2speaker"}
    answers = vc.synthetic_test_labels(tmp_path / "a")
    assert sorted(answers) == sorted(n for n, _ in data.test)
    assert set(answers.values()) <= set(data.speaker2id)
    mel = vc.load_features(tmp_path / "a" / data.train[0][0])
    assert mel.dtype == torch.float32 and mel.min() >= np.log(1e-9) - 1e-4
    for name in ("metadata.json", "testdata.json", "mapping.json", "synthetic_test_labels.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert torch.equal(mel, vc.load_features(tmp_path / "b" / data.train[0][0]))


@needs_espeak
def test_command_line_writes_a_folder_labelled_synthetic(tmp_path, monkeypatch, capsys):
    """``python -m benchmarks.speech_data hw2 --smoke``: by default under the data root, in the
    course's layout, and ``common.data`` labels it synthetic (a notebook's banner says so)."""
    from common import data

    monkeypatch.setenv("ML2022_DATA_DIR", str(tmp_path))
    assert S.main(["hw2", "--smoke"]) == 0
    folder = tmp_path / "synthetic" / "libriphone-speech-seed0-smoke"
    assert str(folder) in capsys.readouterr().out
    verify_layout(folder)
    assert data.label_of("hw2", folder) == "synthetic"
    with pytest.raises(SystemExit):
        S.main(["hw2", "--smoke", "--set", "n_utts=3"])  # no such field: an error naming the fields
