import csv

import numpy as np
import pytest

from common.datasets.covid import (
    CovidFormatError,
    load_covid,
    load_covid_csv,
    write_synthetic,
)
from hw1_covid_regression.timecv import time_ordered_split, window_chains


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("covid")
    write_synthetic(out, seed=3)
    return out


def _rewrite(src, dst, edit):
    with open(src, newline="") as f:
        rows = list(csv.reader(f))
    edit(rows)
    with open(dst, "w", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(rows)
    return dst


def test_synthetic_layout_and_determinism(synthetic, tmp_path):
    train, test = load_covid(synthetic / "covid.train.csv", synthetic / "covid.test.csv")
    assert train.frame.shape == (37 * 73, 118) and test.frame.shape == (37 * 29, 117)
    assert (train.n_days, len(train.features), len(train.states)) == (5, 16, 37)
    assert train.frame["id"].tolist() == list(range(len(train.frame)))
    assert open(synthetic / "covid.train.csv", "rb").read().count(b"\r\n") == len(train.frame) + 1
    write_synthetic(tmp_path, seed=3)
    assert (tmp_path / "covid.train.csv").read_bytes() == (synthetic / "covid.train.csv").read_bytes()
    write_synthetic(tmp_path, seed=4)
    assert (tmp_path / "covid.train.csv").read_bytes() != (synthetic / "covid.train.csv").read_bytes()


def test_synthetic_has_learnable_structure(synthetic):
    train = load_covid_csv(synthetic / "covid.train.csv")
    corr = train.frame.corr()[train.target_column]
    assert corr["tested_positive_d4"] > 0.95  # autocorrelated target
    assert min(corr["cli_d5"], corr["ili_d5"], corr["hh_cmnty_cli_d5"]) > 0.5


def test_window_chains_recover_each_state_in_order(synthetic):
    train = load_covid_csv(synthetic / "covid.train.csv")
    chain, position = window_chains(train)
    assert chain.max() + 1 == 37  # one unbroken chain per state
    block = train.day_block()
    nxt = {(c, p): i for i, (c, p) in enumerate(zip(chain, position))}
    for i in range(0, len(block), 97):
        j = nxt.get((chain[i], position[i] + 1))
        if j is not None:
            np.testing.assert_array_equal(block[i, 1:], block[j, :-1])


def test_time_ordered_split_holds_out_the_latest_days(synthetic):
    train = load_covid_csv(synthetic / "covid.train.csv")
    valid = time_ordered_split(train, 0.2)
    chain, position = window_chains(train)
    assert valid.sum() == 37 * round(73 * 0.2)
    for c in range(chain.max() + 1):
        assert position[(chain == c) & valid].min() > position[(chain == c) & ~valid].max()


@pytest.mark.parametrize("edit, match", [
    (lambda r: r[0].__setitem__(0, "ID"), "line 1, column 1: expected 'id'"),
    (lambda r: r[5].__setitem__(50, ""), "line 6, column 'anxious_d1': '' is not a finite number"),
    (lambda r: r[7].__setitem__(60, "abc"), "line 8, column .*'abc' is not a finite number"),
    (lambda r: r[3].__setitem__(70, "nan"), "line 4, .*is not a finite number"),
    (lambda r: r[9].pop(), "line 10: 117 fields, header has 118"),
    (lambda r: r[0].__setitem__(60, "ili"), "line 1, column 61: expected 'work_outside_home' \\(day 2\\), found 'ili'"),
    (lambda r: [row.pop(40) for row in r], "line 1"),
    (lambda r: r[2].__setitem__(1, "1"), "line 3: state columns must be one-hot"),
    (lambda r: r[4].__setitem__(0, "0"), "line 5: duplicate id 0"),
])
def test_loader_errors_name_file_line_and_column(synthetic, tmp_path, edit, match):
    bad = _rewrite(synthetic / "covid.train.csv", tmp_path / "bad.csv", edit)
    with pytest.raises(CovidFormatError, match=match) as err:
        load_covid_csv(bad)
    assert "bad.csv" in str(err.value)


def test_test_file_must_match_train_columns(synthetic, tmp_path):
    def swap_states(rows):
        for row in rows:
            row[1], row[2] = row[2], row[1]
    bad = _rewrite(synthetic / "covid.test.csv", tmp_path / "test.csv", swap_states)
    with pytest.raises(CovidFormatError, match="test.csv: columns do not match covid.train.csv: column 2"):
        load_covid(synthetic / "covid.train.csv", bad)
    with pytest.raises(CovidFormatError, match="no target column"):
        load_covid(synthetic / "covid.test.csv", synthetic / "covid.test.csv")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_covid_csv(tmp_path / "nope.csv")


# --- real files (../shared/data) -------------------------------------------------------------

def test_real_2022_shapes_and_header_equal_synthetic(shared_data, synthetic):
    train, test = load_covid(shared_data / "hw1_covid_2022/covid.train.csv",
                             shared_data / "hw1_covid_2022/covid.test.csv")
    assert train.frame.shape == (2699, 118) and test.frame.shape == (1078, 117)
    assert 2239 not in set(train.frame["id"])
    for name in ("covid.train.csv", "covid.test.csv"):
        real = (shared_data / "hw1_covid_2022" / name).read_bytes().split(b"\r\n", 1)[0]
        assert (synthetic / name).read_bytes().split(b"\r\n", 1)[0] == real


@pytest.mark.parametrize("year, train_name, shape, states, days, features", [
    ("2021", "covid.train.csv", (2700, 95), 40, 3, 18),
    ("2023", "covid_train.csv", (3009, 89), 34, 3, 18),
])
def test_real_other_years_layouts(shared_data, year, train_name, shape, states, days, features):
    folder = shared_data / f"hw1_covid_{year}"
    train, test = load_covid(folder / train_name, folder / train_name.replace("train", "test"))
    assert train.frame.shape == shape
    assert (len(train.states), train.n_days, len(train.features)) == (states, days, features)
    assert test.frame.shape[1] == shape[1] - 1


def test_real_2022_chains_follow_days(shared_data):
    train = load_covid_csv(shared_data / "hw1_covid_2022/covid.train.csv")
    chain, _ = window_chains(train)
    # 37 states; the missing id 2239 and a few gaps in the data split some states in two
    assert 37 <= chain.max() + 1 <= 60
    state = train.state_index
    assert all(len(set(state[chain == c])) == 1 for c in range(chain.max() + 1))
