"""HW2 libriphone loader, flat-memory windows, sequence batches, synthetic data.

References: the official ``concat_feat`` / ``preprocess_data`` re-implemented in
``tests/reference_hw2.py`` (exact equality expected: windows are copies of the same floats).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from common import fetch as fetch_mod
from common.data import FORMATS, resolve_data_dir, synthetic_data_dir
from common.datasets.libriphone import (
    FEAT_DIM,
    IGNORE_INDEX,
    SILENCE,
    LibriphoneFormatError,
    load_feature,
    load_libriphone,
    read_split,
    verify_layout,
)
from hw2_phoneme.batches import SequenceBatches, WindowBatches, pad_utterances, split_by_utterance
from tests.reference_hw2 import official_concat_feat, official_preprocess_data


@pytest.fixture(scope="module")
def smoke_dir(tmp_path_factory) -> Path:
    from common.datasets.libriphone import write_synthetic

    out = tmp_path_factory.mktemp("libriphone-smoke")
    write_synthetic(out, seed=0, smoke=True)
    return out


@pytest.fixture(scope="module")
def smoke_train(smoke_dir):
    return load_libriphone(smoke_dir, "train")


def _all_windows(data, concat_n):
    loader = WindowBatches(data, concat_nframes=concat_n, batch_size=1000)
    return torch.cat([b[0] for b in loader])


# ----------------------------------------------------------------------------- layout, loader

def test_synthetic_has_the_real_layout(smoke_dir):
    assert (smoke_dir / "train_split.txt").read_text()[-1] != "\n"  # like the real list
    counts = verify_layout(smoke_dir)
    assert counts["train"] == 40 and counts["test"] == 10
    feat = load_feature(smoke_dir / "feat" / "test" / f"{read_split(smoke_dir / 'test_split.txt')[0]}.pt")
    assert feat.dtype == torch.float32 and feat.shape[1] == FEAT_DIM
    # per-utterance CMVN, like the real features
    assert feat.mean(0).abs().max() < 1e-4 and (feat.std(0, unbiased=False) - 1).abs().max() < 1e-3


def test_synthetic_is_deterministic_and_realistic(tmp_path):
    from common.datasets.libriphone import write_synthetic

    write_synthetic(tmp_path / "a", seed=3, n_train=30, n_test=2)
    write_synthetic(tmp_path / "b", seed=3, n_train=30, n_test=2)
    for name in ("train_labels.txt", "train_split.txt", "test_split.txt"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    a, b = load_libriphone(tmp_path / "a"), load_libriphone(tmp_path / "b")
    assert torch.equal(a.feats, b.feats)
    y = a.labels.numpy()
    assert 0.12 < (y == SILENCE).mean() < 0.25  # real data: ~17 % silence
    runs = []
    for i in range(len(a)):
        seg = y[a.offsets[i]:a.offsets[i + 1]]
        assert seg[0] == SILENCE and seg[-1] == SILENCE  # silence at utterance edges
        runs.append(np.diff(np.r_[0, np.flatnonzero(np.diff(seg)) + 1, len(seg)]))
    assert 7.0 < np.concatenate(runs).mean() < 12.0  # real data: runs of ~9-10 frames
    assert a.lengths.min() >= 139 and a.lengths.max() <= 998


def test_synthetic_harmony_is_shared_by_a_phrase(tmp_path):
    """The long-range context: every phrase (speech between silences) uses one member of every
    harmony pair, both members occur, and the two members' prototypes differ only slightly."""
    from common.datasets.libriphone.synthetic import (
        N_HARMONY_PAIRS,
        _class_structure,
        write_synthetic,
    )

    write_synthetic(tmp_path, seed=5, n_train=20, n_test=1)
    y = load_libriphone(tmp_path).labels.numpy()
    phrases = np.split(y, np.flatnonzero(np.diff((y == SILENCE).astype(int))) + 1)
    members = set()
    for phrase in phrases:
        harmonic = phrase[(phrase >= 1) & (phrase <= 2 * N_HARMONY_PAIRS)]
        sides = set((harmonic > N_HARMONY_PAIRS).tolist())
        assert len(sides) <= 1, phrase
        members |= sides
    assert members == {False, True}
    lang = _class_structure(np.random.default_rng(0))
    pairs = lang["classes"][:N_HARMONY_PAIRS]
    pair_gap = np.linalg.norm(lang["protos"][pairs[:, 1]] - lang["protos"][pairs[:, 0]], axis=1)
    bases = lang["protos"][lang["classes"][:, 0]]
    between = np.linalg.norm(bases[:, None] - bases[None], axis=2)
    nearest_other_base = np.sort(between, axis=1)[:, 1].min()
    assert pair_gap.max() < 0.25 * nearest_other_base


def test_loader_matches_files_and_labels(smoke_dir, smoke_train):
    ids = read_split(smoke_dir / "train_split.txt")
    assert smoke_train.utt_ids == ids
    labels = {line.split()[0]: [int(v) for v in line.split()[1:]]
              for line in (smoke_dir / "train_labels.txt").read_text().splitlines()}
    for i in (0, 7, len(ids) - 1):
        assert torch.equal(smoke_train.utterance(i), torch.load(smoke_dir / "feat" / "train" / f"{ids[i]}.pt"))
        a, b = smoke_train.offsets[i], smoke_train.offsets[i + 1]
        assert smoke_train.labels[a:b].tolist() == labels[ids[i]]
    test = load_libriphone(smoke_dir, "test")
    assert test.labels is None and len(test) == 10


def _copy_dir(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_label_frame_mismatch_names_the_utterance(smoke_dir, tmp_path):
    d = _copy_dir(smoke_dir, tmp_path / "bad")
    lines = (d / "train_labels.txt").read_text().splitlines()
    utt = lines[5].split()[0]
    lines[5] = lines[5] + " 3"  # one label too many
    (d / "train_labels.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(LibriphoneFormatError, match=f"utterance {utt}: .* labels .* frames"):
        load_libriphone(d, "train")
    with pytest.raises(LibriphoneFormatError, match=utt):
        verify_layout(d)


def test_missing_feature_and_label_errors(smoke_dir, tmp_path):
    d = _copy_dir(smoke_dir, tmp_path / "bad")
    ids = read_split(d / "train_split.txt")
    (d / "feat" / "train" / f"{ids[3]}.pt").unlink()
    with pytest.raises(FileNotFoundError, match=f"{ids[3]}.pt"):
        load_libriphone(d, "train")
    d2 = _copy_dir(smoke_dir, tmp_path / "bad2")
    lines = (d2 / "train_labels.txt").read_text().splitlines()
    (d2 / "train_labels.txt").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(LibriphoneFormatError, match=f"no labels for utterance {ids[-1]}"):
        load_libriphone(d2, "train")
    lines[2] = lines[2].split()[0] + " 1 2 41"
    (d2 / "train_labels.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(LibriphoneFormatError, match=r"line 3 .*0\.\.40"):
        load_libriphone(d2, "train")


def test_registry_and_synthetic_resolution():
    spec = FORMATS["hw2"]
    assert spec.folder == "libriphone" and spec.kaggle == "ml2022spring-hw2"
    source = resolve_data_dir("hw2", "auto", smoke=True)
    folder, synthetic = source.folder, source.synthetic
    assert synthetic and folder == synthetic_data_dir("hw2", smoke=True)
    assert verify_layout(folder)["train"] == 40


# ----------------------------------------------------------------------------- split

def test_split_by_utterance_is_disjoint_and_official(smoke_dir):
    ids = read_split(smoke_dir / "train_split.txt")
    tr, va = split_by_utterance(len(ids), 0.8, seed=1337)
    assert not set(tr) & set(va) and sorted(tr + va) == list(range(len(ids)))
    assert len(tr) == int(len(ids) * 0.8)
    # The official sample shuffles the raw lines with random.seed(1337).
    lines = (smoke_dir / "train_split.txt").read_text().splitlines(keepends=True)
    random.seed(1337)
    random.shuffle(lines)
    assert [ids[i] for i in tr] == [x.strip("\n") for x in lines[:len(tr)]]
    # Frames follow their utterance: no frame of a validation utterance is trained on.
    data = load_libriphone(smoke_dir)
    tr_frames = set(WindowBatches(data, tr).frames.tolist())
    va_frames = set(WindowBatches(data, va).frames.tolist())
    assert not tr_frames & va_frames and len(tr_frames) + len(va_frames) == data.n_frames


# ----------------------------------------------------------------------------- windows

@pytest.mark.parametrize("concat_n", [1, 3, 11, 61])
def test_windows_equal_official_concat_feat(smoke_train, concat_n):
    ours = _all_windows(smoke_train, concat_n)
    ref = torch.cat([official_concat_feat(smoke_train.utterance(i).clone(), concat_n)
                     for i in range(len(smoke_train))])
    assert ours.shape == (smoke_train.n_frames, concat_n * FEAT_DIM)
    assert torch.equal(ours, ref)


def test_windows_equal_official_preprocess_data(smoke_dir):
    data = load_libriphone(smoke_dir)
    tr, va = split_by_utterance(len(data), 0.8, seed=1337)
    for utts, split in ((tr, "train"), (va, "val")):
        X, y = official_preprocess_data(split, str(smoke_dir / "feat"), str(smoke_dir), 11)
        x_ours, y_ours = zip(*WindowBatches(data, utts, concat_nframes=11, batch_size=777))
        assert torch.equal(torch.cat(x_ours), X) and torch.equal(torch.cat(y_ours), y)


def test_window_batches_cover_each_frame_once_and_reshuffle(smoke_train):
    loader = WindowBatches(smoke_train, concat_nframes=3, batch_size=256, shuffle=True, seed=1)
    first = torch.cat([y for _, y in loader])
    second = torch.cat([y for _, y in loader])
    assert torch.equal(torch.sort(first).values, torch.sort(smoke_train.labels).values)
    assert not torch.equal(first, second)  # a new order each pass
    again = WindowBatches(smoke_train, concat_nframes=3, batch_size=256, shuffle=True, seed=1)
    assert torch.equal(first, torch.cat([y for _, y in again]))  # seeded
    assert len(WindowBatches(smoke_train, batch_size=256, max_batches=3)) == 3
    with pytest.raises(ValueError, match="odd"):
        WindowBatches(smoke_train, concat_nframes=4)


# ----------------------------------------------------------------------------- sequences

def test_pad_utterances_and_buckets(smoke_train):
    batch = pad_utterances(smoke_train, [4, 1, 9])
    for row, u in enumerate([4, 1, 9]):
        n = int(smoke_train.lengths[u])
        assert torch.equal(batch["x"][row, :n], smoke_train.utterance(u))
        assert (batch["x"][row, n:] == 0).all() and (batch["y"][row, n:] == IGNORE_INDEX).all()
        assert batch["mask"][row].sum() == n
    loader = SequenceBatches(smoke_train, list(range(40)), batch_size=8, shuffle=True, seed=0,
                             bucket_factor=5)
    seen = torch.cat([b["utt"] for b in loader])
    assert sorted(seen.tolist()) == list(range(40))
    padded = sum(b["mask"].numel() for b in loader)
    random_padded = sum(pad_utterances(smoke_train, list(range(i, i + 8)))["mask"].numel()
                        for i in range(0, 40, 8))
    assert padded < random_padded  # length bucketing pads less than file order


# ----------------------------------------------------------------------------- real features

def _real_feat_ids(shared: Path, split: str, n: int) -> tuple[list[str], dict[str, int]]:
    folder = shared / "hw2_phoneme"
    if not (folder / "feat_manifest.csv").is_file():
        pytest.skip("no hw2_phoneme features in ../shared/data")
    with open(folder / "feat_manifest.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["path"].startswith(f"feat/{split}/")]
    return [r["utt_id"] for r in rows[:n]], {r["utt_id"]: int(r["num_frames"]) for r in rows}


def test_real_features_shapes(shared_data):
    ids, frames = _real_feat_ids(shared_data, "train", 10**6)
    data = load_libriphone(shared_data / "hw2_phoneme", "train", utt_ids=ids, with_labels=False)
    assert len(data) == 600 and data.n_frames == 367_118  # SOURCES.md
    assert data.lengths.tolist() == [frames[u] for u in ids]
    assert 139 <= int(data.lengths.min()) and int(data.lengths.max()) <= 998
    assert torch.isfinite(data.feats).all()
    test_ids, test_frames = _real_feat_ids(shared_data, "test", 10**6)
    test = load_libriphone(shared_data / "hw2_phoneme", "test", utt_ids=test_ids)
    assert test.n_frames == 117_472 and test.feats.shape[1] == FEAT_DIM


@pytest.mark.parametrize("concat_n", [11, 21, 61])
def test_real_windows_equal_official_concat_feat(shared_data, concat_n):
    ids, _ = _real_feat_ids(shared_data, "train", 25)
    data = load_libriphone(shared_data / "hw2_phoneme", "train", utt_ids=ids, with_labels=False)
    ours = _all_windows(data, concat_n)
    ref = torch.cat([official_concat_feat(
        torch.load(shared_data / "hw2_phoneme" / "feat" / "train" / f"{u}.pt"), concat_n) for u in ids])
    assert torch.equal(ours, ref)


def test_real_features_sequence_batches(shared_data):
    ids, _ = _real_feat_ids(shared_data, "test", 30)
    data = load_libriphone(shared_data / "hw2_phoneme", "test", utt_ids=ids)
    batches = list(SequenceBatches(data, batch_size=8))
    assert sum(int(b["mask"].sum()) for b in batches) == data.n_frames
    assert "y" not in batches[0]
    windows = list(WindowBatches(data, concat_nframes=5, batch_size=4096))
    assert len(windows[0]) == 1 and sum(len(w[0]) for w in windows) == data.n_frames


# ----------------------------------------------------------------------------- fetch (no network)

def _zip_of(folder: Path, archive: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(archive, "w") as z:  # the Kaggle zip nests libriphone/ folders
        for p in folder.rglob("*"):
            if p.is_file():
                z.write(p, Path("libriphone") / "libriphone" / p.relative_to(folder))
    return archive


def test_fetch_verifies_and_installs_the_zip(smoke_dir, tmp_path, monkeypatch):
    import dataclasses
    import shutil

    from common import data as cd
    from common.datasets.libriphone import fetch_libriphone

    archive = _zip_of(smoke_dir, tmp_path / "mirror.zip")
    monkeypatch.setattr(fetch_mod, "download", lambda url, dest, timeout, progress=True: shutil.copy(archive, dest))
    monkeypatch.setattr(fetch_mod, "kaggle_configured", lambda: False)
    spec = FORMATS["hw2"]
    folder = tmp_path / "root" / "libriphone"
    folder.mkdir(parents=True)
    failures = fetch_libriphone(spec, folder, say=lambda *a: None)
    assert "not the official" in failures[0]  # synthetic split lists != the official digests
    assert not (folder / "train_split.txt").exists()
    digests = {f.name: (cd.sha256sum(smoke_dir / f.name),) for f in spec.files if f.sha256}
    ok = dataclasses.replace(spec, files=tuple(
        dataclasses.replace(f, sha256=digests.get(f.name, ())) for f in spec.files))
    assert fetch_libriphone(ok, folder, say=lambda *a: None) == []
    assert verify_layout(folder) == verify_layout(smoke_dir)


def test_fetch_offline_fails_fast_with_help(tmp_path, monkeypatch):
    import urllib.error

    from common import data as cd

    calls = []

    def offline(url, dest, timeout, progress=True):
        calls.append(url)
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr(fetch_mod, "download", offline)
    monkeypatch.setattr(fetch_mod, "kaggle_configured", lambda: False)
    with pytest.raises(cd.FetchError, match="(?s)libriphone.zip.*synthetic"):
        cd.fetch("hw2", root=tmp_path, verbose=False)
    assert len(calls) == 1  # no network: the other mirrors are not tried
