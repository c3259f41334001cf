import json

import pytest

from common.reproduce import main, results_table


def test_results_table_formats_records():
    rows = [{"preset": "boss", "metric": "valid_mse", "value": 1.07261, "seeds": [1, 2],
             "data": "real", "wall_seconds": 3.21, "versions": {"torch": "2.x", "numpy": "2.y"}}]
    assert results_table(rows).splitlines()[2] == "| boss | valid_mse | 1.0726 | 1,2 | real | 3.2 | 2.x | 2.y |"


@pytest.mark.notebook
def test_reproduce_cli_runs_a_preset_and_writes_the_table(tmp_path, check_readme_outputs):
    assert main(["hw1", "--preset", "strong", "--quick", "--data", "synthetic", "--out", str(tmp_path),
                 "--set", "seed=7"]) == 0
    metrics = json.loads((tmp_path / "hw1" / "strong" / "metrics.json").read_text())
    assert metrics["seeds"] == [7] and metrics["data"] == "synthetic"
    table = (tmp_path / "hw1" / "results.md").read_text()
    assert "**Synthetic data**" in table and "| strong | valid_mse |" in table
    assert (tmp_path / "hw1" / "strong" / "pred.csv").is_file()
    assert (tmp_path / "hw1" / "strong" / "executed.ipynb").is_file()
    check_readme_outputs("HW1", tmp_path / "hw1" / "strong")
