import math

import pytest

from common.submission import SubmissionError, validate_submission, write_submission


def test_hw1_round_trip(tmp_path):
    path = write_submission(tmp_path / "pred.csv", "hw1", range(4), [1.5, 2.0, 3.25, 0.0])
    assert path.read_text().splitlines() == ["id,tested_positive", "0,1.5", "1,2.0", "2,3.25", "3,0.0"]
    assert validate_submission(path, "hw1", n_rows=4) == 4


def test_hw2_and_hw4_formats(tmp_path):
    p2 = write_submission(tmp_path / "hw2.csv", "hw2", range(3), [0, 40, 7])
    assert p2.read_text().splitlines()[0] == "Id,Class"
    ids = ["uttr-a.pt", "uttr-b.pt"]
    p4 = write_submission(tmp_path / "hw4.csv", "hw4", ids, ["id10001", "id10002"], expected_ids=ids)
    assert p4.read_text().splitlines() == ["Id,Category", "uttr-a.pt,id10001", "uttr-b.pt,id10002"]
    assert validate_submission(p4, "hw4", expected_ids=ids) == 2


@pytest.mark.parametrize("ids, values, match", [
    (range(3), [1.0, math.nan, 2.0], "not finite"),
    (range(3), [1.0, math.inf, 2.0], "not finite"),
    (range(3), [1.0, "x", 2.0], "not a number"),
    (range(2), [1.0, 2.0], "2 rows, expected 3"),
    ([0, 1, 1], [1.0, 2.0, 3.0], "duplicate id '1'"),
    ([0, 1, 5], [1.0, 2.0, 3.0], "missing id \\['2'\\]"),
    (range(3), [1.0, 2.0], "3 ids but 2 values"),
])
def test_writer_refuses_bad_hw1_rows_and_writes_nothing(tmp_path, ids, values, match):
    path = tmp_path / "pred.csv"
    with pytest.raises(SubmissionError, match=match):
        write_submission(path, "hw1", ids, values, expected_ids=range(3))
    assert list(tmp_path.iterdir()) == []  # nothing half-written, no temp file left


def test_writer_keeps_previous_file_on_failure(tmp_path):
    path = write_submission(tmp_path / "pred.csv", "hw1", range(2), [1.0, 2.0])
    before = path.read_text()
    with pytest.raises(SubmissionError):
        write_submission(path, "hw1", range(2), [1.0, math.nan])
    assert path.read_text() == before


@pytest.mark.parametrize("value, match", [(41, "not a class"), (-1, "not a class"), (1.5, "not a class"),
                                          ("a", "not an integer")])
def test_hw2_class_range(tmp_path, value, match):
    with pytest.raises(SubmissionError, match=match):
        write_submission(tmp_path / "p.csv", "hw2", range(2), [0, value])


def test_hw4_label_must_be_clean(tmp_path):
    with pytest.raises(SubmissionError, match="clean label"):
        write_submission(tmp_path / "p.csv", "hw4", ["a.pt"], [""], expected_ids=["a.pt"])


@pytest.mark.parametrize("text, match", [
    ("Id,tested_positive\n0,1.0\n", "header"),
    ("id,tested_positive\n0,1.0,3\n", "3 fields"),
    ("id,tested_positive\n0,1.0\n0,2.0\n", "duplicate"),
    ("id,tested_positive\n0,nan\n1,2.0\n", "not finite"),
    ("id,tested_positive\n0,1.0\n", "1 rows, expected 2"),
])
def test_validator_rejects_malformed_files(tmp_path, text, match):
    path = tmp_path / "pred.csv"
    path.write_text(text)
    with pytest.raises(SubmissionError, match=match):
        validate_submission(path, "hw1", n_rows=2)
