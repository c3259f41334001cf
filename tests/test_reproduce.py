import json

import pytest

from common.config import build_config
from common.reproduce import main, results_table
from hw1_covid_regression.covid_model import PRESETS, Config


def test_results_table_formats_records():
    rows = [{"preset": "boss", "metric": "valid_mse", "value": 1.07261, "seeds": [1, 2],
             "data": "real", "wall_seconds": 3.21, "versions": {"torch": "2.x", "numpy": "2.y"}}]
    assert results_table(rows).splitlines()[2] == "| boss | valid_mse | 1.0726 | 1,2 | real | 3.2 | 2.x | 2.y |"


def test_unknown_parameter_is_an_error_listing_the_valid_ones(tmp_path):
    with pytest.raises(SystemExit, match=r"no parameter 'n_epoch'.*n_epochs"):
        main(["hw1", "--quick", "--out", str(tmp_path), "--set", "n_epoch=5"])
    assert not any(tmp_path.iterdir())


def test_explicit_values_win_over_smoke_sizes():
    assert build_config(Config, PRESETS, "strong", smoke=True).n_epochs == PRESETS["smoke"]["n_epochs"]
    assert build_config(Config, PRESETS, "strong", smoke=True, n_epochs=7).n_epochs == 7


@pytest.mark.notebook
def test_reproduce_cli_runs_a_preset_and_writes_the_table(tmp_path, capsys, check_readme_outputs):
    (tmp_path / "hw1" / "results.md").parent.mkdir()
    (tmp_path / "hw1" / "results.md").write_text("the full run's table\n")
    assert main(["hw1", "--preset", "strong", "--quick", "--data", "synthetic", "--out", str(tmp_path),
                 "--set", "seed=7", "--set", "n_epochs=4"]) == 0
    quick = tmp_path / "quick" / "hw1"
    metrics = json.loads((quick / "strong" / "metrics.json").read_text())
    assert metrics["seeds"] == [7] and metrics["data"] == "synthetic"
    assert metrics["config"]["n_epochs"] == 4  # --set applies under --quick
    table = (quick / "results.md").read_text()
    assert "**Synthetic data**" in table and "| strong | valid_mse |" in table
    assert (quick / "strong" / "pred.csv").is_file()
    assert (quick / "strong" / "executed.ipynb").is_file()
    check_readme_outputs("HW1", quick / "strong")
    assert (tmp_path / "hw1" / "results.md").read_text() == "the full run's table\n"  # untouched
    assert capsys.readouterr().err.count("without encryption") == 0
