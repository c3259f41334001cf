import shutil
import time
import urllib.error

import pytest

from common import data as data_mod
from common import fetch as fetch_mod
from common.data import FORMATS, FetchError, fetch, resolve_data_dir
from common.fetch import sha256sum


@pytest.fixture
def offline(monkeypatch):
    """Every download fails the way it does without network (DNS failure)."""
    calls = []

    def refuse(url, dest, timeout, progress=True):
        calls.append(url)
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(fetch_mod, "download", refuse)
    monkeypatch.setattr(fetch_mod, "kaggle_configured", lambda: False)
    return calls


def test_fetch_offline_fails_fast_with_instructions(tmp_path, offline):
    t0 = time.perf_counter()
    with pytest.raises(FetchError) as err:
        fetch("hw1", root=tmp_path, verbose=False)
    assert time.perf_counter() - t0 < 5
    message = str(err.value)
    for needle in ("covid.train.csv", "covid.test.csv", str(tmp_path), "kaggle competitions download",
                   "python -m common.data synthetic hw1", "name resolution"):
        assert needle in message
    assert not any((tmp_path / "hw1_covid_2022").glob("*.csv"))


def test_fetch_verifies_sha256_and_rejects_a_quota_page(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch_mod, "kaggle_configured", lambda: False)
    monkeypatch.setattr(fetch_mod, "download",
                        lambda url, dest, timeout, progress=True: dest.write_text("<html>quota exceeded</html>"))
    with pytest.raises(FetchError, match="sha256 .* is not the real covid.train.csv's"):
        fetch("hw1", root=tmp_path, verbose=False)
    assert not (tmp_path / "hw1_covid_2022" / "covid.train.csv").exists()


@pytest.mark.parametrize("key,name", [("hw1", "covid.train.csv"), ("hw2_2", "data.pth"),
                                      ("hw2", "train_split.txt"), ("hw4", "metadata.json")])
def test_fetch_refuses_a_corrupt_existing_file(tmp_path, offline, key, name):
    folder = tmp_path / FORMATS[key].folder
    folder.mkdir()
    (folder / name).write_text("id\n0\n")
    with pytest.raises(FetchError, match=f"{folder / name}: sha256 .* is not the real {name}'s"):
        fetch(key, root=tmp_path, verbose=False)
    assert (folder / name).read_text() == "id\n0\n"  # not overwritten
    assert offline == []  # refused before any download


def test_fetch_downloads_and_skips_present_files(tmp_path, shared_data, monkeypatch):
    real = shared_data / "hw1_covid_2022"
    monkeypatch.setattr(fetch_mod, "kaggle_configured", lambda: False)
    served = []

    def serve(url, dest, timeout, progress=True):  # a mirror that serves the real bytes
        name = "covid.train.csv" if "lmy1" in url or "1kLSW" in url else "covid.test.csv"
        served.append(name)
        shutil.copy(real / name, dest)

    monkeypatch.setattr(fetch_mod, "download", serve)
    folder = fetch("hw1", root=tmp_path, verbose=False)
    assert sorted(served) == ["covid.test.csv", "covid.train.csv"]
    for f in FORMATS["hw1"].files:
        assert sha256sum(folder / f.name) == f.sha256[0]
    fetch("hw1", root=tmp_path, verbose=False)
    assert len(served) == 2  # second call: nothing downloaded again


def test_resolve_falls_back_to_synthetic(monkeypatch, tmp_path):
    monkeypatch.delenv("ML2022_DATA_PATH", raising=False)
    source = resolve_data_dir("hw1", "auto", smoke=False)
    folder, synthetic = source.folder, source.synthetic
    assert synthetic and (folder / "covid.train.csv").is_file()
    with pytest.raises(FileNotFoundError, match="python -m common.data synthetic hw1"):
        resolve_data_dir("hw1", "real")


def test_resolve_finds_real_shared_data(shared_data):
    source = resolve_data_dir("hw1", "auto")
    folder, synthetic = source.folder, source.synthetic
    assert not synthetic and folder == shared_data / "hw1_covid_2022"


def test_cli_exit_code_offline(offline, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ML2022_DATA_DIR", str(tmp_path))
    assert data_mod.main(["fetch", "hw1"]) == 1
    assert "Could not download" in capsys.readouterr().err


def test_synthetic_cache_is_keyed_by_generator_source(monkeypatch, tmp_path):
    import common.datasets.covid.synthetic as generator

    first = data_mod.synthetic_data_dir("hw1", smoke=True)
    assert data_mod.synthetic_data_dir("hw1", smoke=True) == first  # reused, not rewritten
    changed = tmp_path / "covid_changed.py"
    changed.write_text(open(generator.__file__).read() + "\n# changed\n")
    monkeypatch.setattr(generator, "__file__", str(changed))
    assert data_mod.synthetic_data_dir("hw1", smoke=True) != first
