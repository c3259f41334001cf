"""Broken inputs a student may feed the homeworks, each made from a copy of the smoke-sized
synthetic data, with what the error must say. Used by ``test_bad_inputs.py`` and by
``benchmarks/bad_inputs.py`` (the results table)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from common.data import synthetic_data_dir
from common.datasets.covid import find_covid_files, load_covid
from common.datasets.libriphone import load_libriphone
from common.datasets.sinc import load_checkpoints
from common.datasets.voxceleb import load_dataset, load_features
from hw2_hessian.hessian import entry_for_student


@dataclass(frozen=True)
class Case:
    name: str
    hw: str
    corrupt: Callable[[Path], None]  # changes a copy of the smoke data folder in place
    expect: tuple[str, ...]  # regexes the error message must match (file, place, what); () = accepted
    notebook: bool = False  # also run the notebook on it and check no output is replaced
    stage: str = "load"  # where it is caught: "load" (the loaders) or "train" (fit's guard)
    params: dict = field(default_factory=dict)  # extra notebook parameters


def _first(folder: Path, pattern: str) -> Path:
    return sorted(folder.glob(pattern))[0]


def _edit_csv(name: str, edit: Callable[[list[str]], list[str]], newline: str = "\r\n") -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        path = folder / name
        lines = path.read_text().splitlines()
        path.write_bytes(newline.join(edit(lines)).encode() + newline.encode())
    return corrupt


def _set_cell(row: int, col: int, value: str) -> Callable[[list[str]], list[str]]:
    def edit(lines: list[str]) -> list[str]:
        cells = lines[row].split(",")
        cells[col] = value
        return [*lines[:row], ",".join(cells), *lines[row + 1:]]
    return edit


def _tensor_edit(pattern: str, edit: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        path = _first(folder, pattern)
        torch.save(edit(torch.load(path, weights_only=True)), path)
    return corrupt


def _poke(t: torch.Tensor, value: float) -> torch.Tensor:
    t = t.clone()
    t[len(t) // 2, 3] = value
    return t


def _bytes(pattern: str, edit: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        path = _first(folder, pattern)
        path.write_bytes(edit(path.read_bytes()))
    return corrupt


class Foreign:  # a class a pickle may reference: never unpickled by the loaders
    pass


def _foreign_pickle(pattern: str) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        torch.save({"x": Foreign()}, _first(folder, pattern))
    return corrupt


def _json_edit(name: str, edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        obj = json.loads((folder / name).read_text())
        edit(obj)
        (folder / name).write_text(json.dumps(obj))
    return corrupt


def _sinc_edit(edit: Callable[[list], list]) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        entries = torch.load(folder / "data.pth", weights_only=True)
        torch.save(edit(entries), folder / "data.pth")
    return corrupt


def _sinc_state(key: str, change: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[list], list]:
    def edit(entries: list) -> list:
        entries[0]["model"][key] = change(entries[0]["model"][key])
        return entries
    return edit


def _nan_x(entries: list) -> list:
    x, y = entries[3]["data"]
    x = x.clone()
    x[2, 0] = float("nan")
    entries[3]["data"] = (x, y)
    return entries


def _labels_one_short(folder: Path) -> None:
    path = folder / "train_labels.txt"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].rsplit(" ", 1)[0]
    path.write_text("\n".join(lines) + "\n")


def _rm(pattern: str) -> Callable[[Path], None]:
    return lambda folder: _first(folder, pattern).unlink()


HW2_FEAT = "feat/train/*.pt"
NOT_WEIGHTS_ONLY_FALSE = r"^(?![\s\S]*weights_only=False)"  # the message never suggests it

CASES = (
    # HW1 COVID CSVs
    Case("hw1 train file with only a header", "hw1", _edit_csv("covid.train.csv", lambda ls: ls[:1]),
         (r"covid\.train\.csv: only a header, no data rows",), notebook=True),
    Case("hw1 empty train file", "hw1", lambda f: (f / "covid.train.csv").write_bytes(b""),
         (r"covid\.train\.csv: empty file",)),
    Case("hw1 'nan' in a cell", "hw1", _edit_csv("covid.train.csv", _set_cell(5, 40, "nan")),
         (r"covid\.train\.csv line 6, column '\w+': 'nan' is not a finite number",)),
    Case("hw1 text in a numeric cell", "hw1", _edit_csv("covid.test.csv", _set_cell(3, 60, "n/a")),
         (r"covid\.test\.csv line 4, column '\w+': 'n/a' is not a finite number",)),
    Case("hw1 saved by Excel (UTF-8 BOM, CRLF)", "hw1",
         _bytes("covid.train.csv", lambda b: b"\xef\xbb\xbf" + b), ()),
    Case("hw1 not a text file", "hw1", _bytes("covid.test.csv", lambda b: b"\x89PNG\r\n\x1a\n\xff\xfe" + b[:50]),
         (r"covid\.test\.csv: not a UTF-8 text file",)),
    Case("hw1 test columns differ from train", "hw1",
         _edit_csv("covid.test.csv", lambda ls: [ls[0].rsplit(",", 1)[0] + ",wrong_name", *ls[1:]]),
         (r"covid\.test\.csv line 1, column \d+: expected '\w+' \(day 5\), found 'wrong_name'",)),
    Case("hw1 folder without the CSVs", "hw1", lambda f: (f / "covid.test.csv").rename(f / "test.txt"),
         (r"expected covid\.train\.csv \+ covid\.test\.csv or covid_train\.csv \+ covid_test\.csv "
          r"\(or one train and one test CSV with the course header\); found covid\.train\.csv \(train layout\)",)),
    Case("hw1 training diverges (learning_rate 1e12)", "hw1", lambda f: None,
         (r"loss is (nan|inf) at epoch \d+, batch \d+",), notebook=True, stage="train",
         params={"learning_rate": 1e12, "preset": "simple"}),
    # HW2 libriphone
    Case("hw2 NaN in one feature file", "hw2", _tensor_edit(HW2_FEAT, lambda t: _poke(t, float("nan"))),
         (r"100-1000-0000\.pt: frame \d+, coefficient 3 is nan",), notebook=True),
    Case("hw2 inf in one feature file", "hw2", _tensor_edit(HW2_FEAT, lambda t: _poke(t, float("inf"))),
         (r"100-1000-0000\.pt: frame \d+, coefficient 3 is inf",)),
    Case("hw2 truncated feature file", "hw2", _bytes(HW2_FEAT, lambda b: b[: len(b) // 2]),
         (r"100-1000-0000\.pt: not a torch\.save file \(truncated", NOT_WEIGHTS_ONLY_FALSE)),
    Case("hw2 zero-byte feature file", "hw2", _bytes(HW2_FEAT, lambda b: b""),
         (r"100-1000-0000\.pt: empty file \(0 bytes\)",)),
    Case("hw2 an HTML page saved as a feature file", "hw2",
         _bytes(HW2_FEAT, lambda b: b"<html>quota exceeded</html>"),
         (r"100-1000-0000\.pt: not a torch\.save file .*an HTML page", NOT_WEIGHTS_ONLY_FALSE)),
    Case("hw2 feature file with a pickled object", "hw2", _foreign_pickle(HW2_FEAT),
         (r"100-1000-0000\.pt: holds Python objects other than tensors",
          NOT_WEIGHTS_ONLY_FALSE)),
    Case("hw2 feature file of the wrong width", "hw2", _tensor_edit(HW2_FEAT, lambda t: t[:, :38]),
         (r"100-1000-0000\.pt: expected a tensor \[T, 39\] with T >= 1, got \(\d+, 38\)",)),
    Case("hw2 one label fewer than frames", "hw2", _labels_one_short,
         (r"utterance 101-1000-0001: \d+ labels in train_labels\.txt but \d+ frames in .*101-1000-0001\.pt",)),
    Case("hw2 empty split list", "hw2", lambda f: (f / "test_split.txt").write_text(""),
         (r"test_split\.txt: no utterance ids",)),
    Case("hw2 missing feature file", "hw2", _rm(HW2_FEAT), (r"100-1000-0000\.pt: file not found",)),
    # HW2-2 data.pth
    Case("hw2_2 5 entries, student id ending in 7", "hw2_2", _sinc_edit(lambda e: e[:5]),
         (r"data\.pth: has 5 entries, but student id 'b09901007' selects entry 7",), notebook=True,
         params={"student_id": "b09901007"}),
    Case("hw2_2 one weight reshaped", "hw2_2",
         _sinc_edit(_sinc_state("regressor.0.weight", lambda t: t.reshape(1, -1))),
         (r"data\.pth entry 0: regressor\.0\.weight has shape \(1, 128\), expected \(128, 1\)",)),
    Case("hw2_2 NaN weight", "hw2_2",
         _sinc_edit(_sinc_state("regressor.2.bias", lambda t: t * float("nan"))),
         (r"data\.pth entry 0: regressor\.2\.bias holds non-finite values",)),
    Case("hw2_2 NaN in the training points", "hw2_2", _sinc_edit(_nan_x),
         (r"data\.pth entry 3: 'data' x holds non-finite values",)),
    Case("hw2_2 truncated data.pth", "hw2_2", _bytes("data.pth", lambda b: b[:1000]),
         (r"data\.pth: not a torch\.save file \(truncated", NOT_WEIGHTS_ONLY_FALSE)),
    # HW4 Dataset/
    Case("hw4 metadata.json with no speakers", "hw4",
         _json_edit("metadata.json", lambda m: m.update(speakers={})),
         (r"metadata\.json: 'speakers' holds no utterances",)),
    Case("hw4 testdata.json with no utterances", "hw4",
         _json_edit("testdata.json", lambda m: m.update(utterances=[])),
         (r"testdata\.json: 'utterances' is empty",)),
    Case("hw4 NaN in one utterance", "hw4", _tensor_edit("uttr-*.pt", lambda t: _poke(t, float("nan"))),
         (r"uttr-[0-9a-f]+\.pt: frame \d+, mel bin 3 is nan",), notebook=True),
    Case("hw4 truncated utterance file", "hw4", _bytes("uttr-*.pt", lambda b: b[: len(b) // 3]),
         (r"uttr-[0-9a-f]+\.pt: not a torch\.save file \(truncated", NOT_WEIGHTS_ONLY_FALSE)),
    Case("hw4 zero-byte utterance file", "hw4", _bytes("uttr-*.pt", lambda b: b""),
         (r"uttr-[0-9a-f]+\.pt: empty file \(0 bytes\)",)),
    Case("hw4 mel_len does not match the file", "hw4",
         _tensor_edit("uttr-*.pt", lambda t: t[:-3]),
         (r"uttr-[0-9a-f]+\.pt: \d+ frames but mel_len says \d+",)),
)


def broken_copy(case: Case, root: Path) -> Path:
    """A corrupted copy of ``case.hw``'s smoke-sized synthetic data under ``root``."""
    folder = root / "data"
    shutil.copytree(synthetic_data_dir(case.hw, smoke=True), folder)
    (folder / "SYNTHETIC").unlink()  # a folder of the student's, not one this repo generated
    case.corrupt(folder)
    return folder


def load_all(hw: str, folder: Path, student_id: str = "b09901000") -> None:
    """Everything the homework's notebook reads, through the loaders."""
    if hw == "hw1":
        load_covid(*find_covid_files(folder))
    elif hw == "hw2":
        load_libriphone(folder, "train")
        load_libriphone(folder, "test")
    elif hw == "hw2_2":
        entry_for_student(load_checkpoints(folder), student_id, folder / "data.pth")
    else:
        data = load_dataset(folder)
        for name, length, *_ in (*data.train, *data.test):
            load_features(folder / name, data.n_mels, length)
