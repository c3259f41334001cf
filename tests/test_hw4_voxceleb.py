"""HW4 loader: layout checks with errors naming the file, weights_only loading, the
speaker-stratified split, crops, bucketing, fetch (offline) and the sha256 registry."""

from __future__ import annotations

import argparse
import json
import shutil
import time
import urllib.error

import pytest
import torch

from common.data import FORMATS, FetchError, fetch, resolve_data_dir
from common.datasets import voxceleb as vc
from common.datasets.voxceleb.synthetic import _smooth_curves, _speech_and_gaps
from common.fetch import sha256sum
from hw4_speaker import batches as batches_mod
from hw4_speaker.models import stratified_split

# The maintainers' list of every real file (name, size, sha256); only on their data path.
MANIFEST_NAME = "ml2022_Dataset_lfs_manifest.tsv"


def read_manifest(path):
    """``{file name: (size, sha256)}`` from the tab-separated manifest of the real files."""
    rows = {}
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        if header != ["file", "size_bytes", "sha256"]:
            raise vc.VoxCelebFormatError(f"{path} line 1: header {header}, expected file/size_bytes/sha256")
        for line_no, line in enumerate(f, start=2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or not parts[1].isdigit() or len(parts[2]) != 64:
                raise vc.VoxCelebFormatError(f"{path} line {line_no}: expected file, size, sha256")
            rows[parts[0]] = (int(parts[1]), parts[2])
    return rows


def verify_manifest(folder, manifest, names=None):
    """Problems found (empty = all good) comparing files in ``folder`` to the manifest:
    missing files, wrong sizes, wrong sha256. ``names`` limits the check (default: all)."""
    problems = []
    for name in names if names is not None else sorted(manifest):
        size, digest = manifest[name]
        path = folder / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.stat().st_size != size:
            problems.append(f"{path}: {path.stat().st_size} bytes, expected {size}")
        elif sha256sum(path) != digest:
            problems.append(f"{path}: sha256 differs from the manifest")
    return problems


@pytest.fixture(scope="module")
def smoke_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("hw4") / "Dataset"
    vc.write_synthetic(out, seed=0, smoke=True)
    return out


@pytest.fixture
def copy_dir(smoke_dir, tmp_path):
    dst = tmp_path / "Dataset"
    shutil.copytree(smoke_dir, dst)
    return dst


def test_synthetic_layout_is_exact_and_deterministic(smoke_dir, tmp_path):
    data = vc.load_dataset(smoke_dir, check_features=True)
    assert data.n_mels == 40 and data.n_speakers == vc.SMOKE_SPEC.n_speakers
    meta = json.loads((smoke_dir / "metadata.json").read_text())
    assert set(meta) == {"n_mels", "speakers"}
    first = next(iter(meta["speakers"].values()))[0]
    assert set(first) == {"feature_path", "mel_len"} and first["feature_path"].startswith("uttr-")
    mapping = json.loads((smoke_dir / "mapping.json").read_text())
    assert all(isinstance(k, str) for k in mapping["id2speaker"])
    assert set(json.loads((smoke_dir / "testdata.json").read_text())) == {"n_mels", "utterances"}
    vc.write_synthetic(tmp_path / "again", seed=0, smoke=True)
    assert (tmp_path / "again" / "metadata.json").read_bytes() == (smoke_dir / "metadata.json").read_bytes()
    name = data.test[0][0]
    assert torch.equal(torch.load(tmp_path / "again" / name), torch.load(smoke_dir / name))


def test_synthetic_nonspeech_share_varies_per_utterance():
    """A large, varying share of frames without speaker evidence (what attention pooling is
    for): on average about the middle of ``nonspeech_share``, spread over most of its range."""
    import numpy as np

    spec = vc.SyntheticSpec()
    rng = np.random.default_rng(0)
    phones = _smooth_curves(rng, spec.n_phones, 40, 10, 2.0)
    shares = np.array([1 - _speech_and_gaps(rng, 220, 40, phones, spec)[1].mean() for _ in range(400)])
    assert 0.45 < shares.mean() < 0.65
    assert np.quantile(shares, 0.1) < 0.35 and np.quantile(shares, 0.9) > 0.75
    lo, hi = spec.nonspeech_share
    assert ((shares > lo - 0.3) & (shares < hi + 0.2)).mean() > 0.9


def test_missing_json_names_the_file(copy_dir):
    (copy_dir / "mapping.json").unlink()
    with pytest.raises(FileNotFoundError, match="mapping.json"):
        vc.load_dataset(copy_dir)


def test_missing_feature_file_names_file_and_entry(copy_dir):
    data = vc.load_dataset(copy_dir)
    name = data.train[3][0]
    (copy_dir / name).unlink()
    with pytest.raises(FileNotFoundError, match=rf"{name}.*metadata.json speakers\["):
        vc.load_dataset(copy_dir)


def test_wrong_n_mels_names_the_file(copy_dir):
    data = vc.load_dataset(copy_dir)
    name, length, _ = data.train[0]
    torch.save(torch.zeros(length, 80), copy_dir / name)
    with pytest.raises(vc.VoxCelebFormatError, match=rf"{name}: expected a tensor \[T, 40\] with T >= 1, got \({length}, 80\)"):
        vc.load_dataset(copy_dir, check_features=True)
    with pytest.raises(vc.VoxCelebFormatError, match=name):
        vc.FeatureStore(data)[name]


def test_wrong_mel_len_and_bad_entries(copy_dir):
    data = vc.load_dataset(copy_dir)
    name, length, _ = data.test[0][0], data.test[0][1], None
    torch.save(torch.zeros(length + 1, 40), copy_dir / name)
    with pytest.raises(vc.VoxCelebFormatError, match=f"{name}: {length + 1} frames but mel_len says {length}"):
        vc.load_features(copy_dir / name, 40, length)
    test = json.loads((copy_dir / "testdata.json").read_text())
    test["utterances"][1]["mel_len"] = -3
    (copy_dir / "testdata.json").write_text(json.dumps(test))
    with pytest.raises(vc.VoxCelebFormatError, match=r"testdata.json utterances\[1\].*mel_len -3"):
        vc.load_dataset(copy_dir)


def test_unknown_speaker_and_inconsistent_mapping(copy_dir):
    mapping = json.loads((copy_dir / "mapping.json").read_text())
    first = mapping["id2speaker"]["0"]
    mapping["id2speaker"]["0"] = "someone"
    (copy_dir / "mapping.json").write_text(json.dumps(mapping))
    with pytest.raises(vc.VoxCelebFormatError, match=rf"mapping.json: speaker2id\['{first}'\]"):
        vc.load_dataset(copy_dir)


def test_pickled_objects_are_refused(copy_dir):
    """weights_only=True: a .pt holding an arbitrary object is rejected, naming the file."""
    data = vc.load_dataset(copy_dir)
    name = data.train[0][0]

    torch.save({"x": argparse.Namespace(cmd="anything")}, copy_dir / name)  # a non-tensor class
    with pytest.raises(vc.VoxCelebFormatError, match=f"{name}: holds Python objects other than tensors"):
        vc.load_features(copy_dir / name)
    torch.save({"x": torch.zeros(3, 40)}, copy_dir / name)  # loads, but is not a tensor
    with pytest.raises(vc.VoxCelebFormatError, match=f"{name}: expected a tensor"):
        vc.load_features(copy_dir / name)


def test_stratified_split_covers_every_speaker():
    labels = [0] * 10 + [1] * 3 + [2] * 2 + [3] * 1
    train, valid = stratified_split(labels, 0.2, seed=1)
    assert sorted([*train, *valid]) == list(range(len(labels)))
    lab = torch.tensor(labels)
    assert set(lab[train].tolist()) == {0, 1, 2, 3}
    assert set(lab[valid].tolist()) == {0, 1, 2}  # the 1-utterance speaker stays in train
    assert (lab[valid] == 0).sum() == 2
    again = stratified_split(labels, 0.2, seed=1)
    assert (again[0] == train).all() and (again[1] == valid).all()


def test_crops_and_padding(smoke_dir):
    data = vc.load_dataset(smoke_dir)
    store = vc.FeatureStore(data, preload=True)
    ds = batches_mod.CropDataset(store, data.train, segment_len=64)
    torch.manual_seed(0)
    for i in range(len(ds)):
        mel, label = ds[i]
        name, length, speaker = data.train[i]
        assert label == speaker and mel.shape == (min(64, length), 40)
        full = store[name]
        # the crop is a contiguous window of the utterance
        starts = [s for s in range(length - mel.shape[0] + 1) if torch.equal(full[s:s + mel.shape[0]], mel)]
        assert starts
    x, mask, y = batches_mod.collate_crops([(torch.ones(3, 40), 1), (torch.ones(5, 40), 2)])
    assert x.shape == (2, 5, 40) and mask.sum(1).tolist() == [3, 5] and (x[0, 3:] == 0).all()
    loader = batches_mod.crop_loader(ds, batch_size=4, steps_per_pass=7, seed=0)
    assert len(list(loader)) == 7 and loader.generator is not None


def test_bucket_batches_respects_limits_and_covers_all():
    lengths = [5, 100, 7, 50, 51, 3, 99, 1000]
    batches = batches_mod.bucket_batches(lengths, batch_size=3, max_frames=200)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= 3 and (len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 200)
    assert [lengths[b[0]] for b in batches] == sorted(lengths[b[0]] for b in batches)


def test_utterance_batches_are_whole_and_indexed(smoke_dir):
    data = vc.load_dataset(smoke_dir)
    store = vc.FeatureStore(data)
    seen = []
    for x, mask, labels, index in batches_mod.UtteranceBatches(store, data.test, batch_size=5):
        for row, i in enumerate(index.tolist()):
            n = data.test[i][1]
            assert mask[row].sum() == n and torch.equal(x[row, :n], store[data.test[i][0]])
            assert labels[row] == -1
        seen += index.tolist()
    assert sorted(seen) == list(range(len(data.test)))


def test_manifest_verification(smoke_dir, tmp_path):
    names = sorted(p.name for p in smoke_dir.glob("*.json"))
    manifest_path = tmp_path / "manifest.tsv"
    rows = [f"{n}\t{(smoke_dir / n).stat().st_size}\t{sha256sum(smoke_dir / n)}" for n in names]
    manifest_path.write_text("file\tsize_bytes\tsha256\n" + "\n".join(rows) + "\n")
    manifest = read_manifest(manifest_path)
    assert verify_manifest(smoke_dir, manifest) == []
    copy = tmp_path / "copy"
    shutil.copytree(smoke_dir, copy)
    text = (copy / "mapping.json").read_text()
    (copy / "mapping.json").write_text(text.replace("id1", "id2", 1))
    (copy / "testdata.json").unlink()
    problems = verify_manifest(copy, manifest)
    assert any("mapping.json: sha256 differs" in p for p in problems)
    assert any("testdata.json: missing" in p for p in problems)


def test_registry_digests_match_the_shared_manifest(shared_data):
    manifest = read_manifest(shared_data / "hw4_speaker" / MANIFEST_NAME)
    assert len(manifest) == 64672
    assert sum(n.startswith("uttr-") for n in manifest) == 64666
    for f in FORMATS["hw4"].files:
        assert manifest[f.name][1] in f.sha256
    assert abs(sum(size for size, _ in manifest.values()) / 1e9 - 6.85) < 0.01


def test_fetch_offline_fails_fast_and_says_the_size(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(1e12, 0, 1e12))

    def refuse(*a, **k):
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    printed = []
    monkeypatch.setattr("builtins.print", lambda *a, **k: printed.append(" ".join(map(str, a))))
    t0 = time.perf_counter()
    with pytest.raises(FetchError) as err:
        fetch("hw4", root=tmp_path)
    assert time.perf_counter() - t0 < 5
    assert "6.9 GB" in printed[0]
    message = str(err.value)
    for needle in ("name resolution", "ML_HW4_Dataset", "python -m common.data synthetic hw4", "Dataset"):
        assert needle in message
    assert not (tmp_path / "Dataset").exists()


def test_fetch_refuses_little_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(1e12, 0, 2e9))
    with pytest.raises(FetchError, match="needs about 7 GB"):
        fetch("hw4", root=tmp_path, verbose=False)


def test_fetch_unpacks_a_split_archive_and_verifies(tmp_path, monkeypatch, smoke_dir):
    """A tiny stand-in for the release: a tar.gz of Dataset/ split in 4 parts, served locally.
    The digests are the stand-in's, so this checks the plumbing (stream, unpack, verify)."""
    import dataclasses
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(smoke_dir, arcname="Dataset")
    blob = buf.getvalue()
    q = len(blob) // 4 + 1
    parts = {f"https://mirror.test/part{i}": blob[i * q:(i + 1) * q] for i in range(4)}
    monkeypatch.setattr(urllib.request, "urlopen", lambda req, timeout: io.BytesIO(parts[req.full_url]))
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(1e12, 0, 1e12))
    monkeypatch.delenv("ML2022_DATA_PATH", raising=False)
    spec = FORMATS["hw4"]
    files = tuple(dataclasses.replace(f, sha256=(sha256sum(smoke_dir / f.name),)) for f in spec.files)
    fake = dataclasses.replace(spec, files=files)
    quiet = lambda *a, **k: None  # noqa: E731
    assert vc.fetch_real(fake, tmp_path / "Dataset", say=quiet, urls=list(parts)) == []
    assert vc.load_dataset(tmp_path / "Dataset", check_features=True).n_speakers == vc.SMOKE_SPEC.n_speakers
    with pytest.raises(FetchError, match="metadata.json: missing or sha256"):  # real digests
        vc.fetch_real(spec, tmp_path / "other" / "Dataset", say=quiet, urls=list(parts))


def test_resolve_falls_back_to_synthetic():
    source = resolve_data_dir("hw4", "auto", seed=0, smoke=True)
    folder, synthetic = source.folder, source.synthetic
    assert synthetic and (folder / "metadata.json").is_file()


def test_cli_fetch_reports_the_error(tmp_path, monkeypatch, capsys):
    from common import data as data_mod

    monkeypatch.setenv("ML2022_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(1e12, 0, 1e12))

    def refuse(*a, **k):
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    assert data_mod.main(["fetch", "hw4"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Could not download hw4") and "Name or service" in err
