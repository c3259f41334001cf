"""HW1: the preset pipeline, the notebook end to end, and the real 2022 files when present."""

import json

import numpy as np
import pytest

from common.config import build_config, notebook_config
from common.datasets.covid import load_covid, write_synthetic
from common.paths import REPO_ROOT
from common.submission import validate_submission
from hw1_covid_regression.covid_model import (
    PRESETS,
    Config,
    input_columns,
    reference_scores,
    train_ensemble,
    validation_mask,
)

NOTEBOOK = REPO_ROOT / "hw1_covid_regression" / "hw1_covid_regression.ipynb"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("hw1")
    write_synthetic(out, seed=1)
    return load_covid(out / "covid.train.csv", out / "covid.test.csv")


def test_presets_are_valid_configs():
    for name in ("simple", "medium", "strong", "boss"):
        cfg = build_config(Config, PRESETS, name)
        assert cfg.preset == name
    simple = build_config(Config, PRESETS, "simple")
    # the official sample's setup, so its numbers can be reproduced
    assert (simple.seed, simple.valid_ratio, simple.hidden_layers, simple.optimizer,
            simple.learning_rate, simple.momentum, simple.batch_size, simple.n_epochs,
            simple.early_stop, simple.features, simple.split) == (
        5201314, 0.2, (16, 8), "sgd", 1e-5, 0.9, 256, 3000, 400, "all", "random")
    assert len(build_config(Config, PRESETS, "boss").ensemble_seeds) == 3
    assert simple.blend_weights == {"mlp": 1.0}  # the sample's MLP alone
    with pytest.raises(TypeError, match="no field"):
        build_config(Config, PRESETS, "simple", not_a_knob=1)


def test_simple_reads_all_117_columns_including_id(synthetic):
    train, _ = synthetic
    cols = input_columns(build_config(Config, PRESETS, "simple"), train, np.arange(10))
    assert len(cols) == 117 and cols[0] == "id" and train.target_column not in cols


def test_feature_selection_uses_training_rows_only(synthetic):
    train, _ = synthetic
    cfg = build_config(Config, PRESETS, "medium")
    valid = validation_mask(cfg, train)
    corrupted = train.frame.copy()
    # make a useless column look perfect on the validation rows only: it must not be chosen
    corrupted.loc[valid, "wearing_mask_d1"] = corrupted.loc[valid, train.target_column] * 1000
    train_bad = type(train)(train.path, corrupted, train.states, train.features, train.n_days, True)
    cols = input_columns(cfg, train_bad, np.flatnonzero(~valid))
    assert "wearing_mask_d1" not in cols and "tested_positive_d4" in cols


def test_engineered_mlp_inputs_are_the_epidemic_change_features(synthetic):
    from hw1_covid_regression.covid_model import engineer_features, epidemic_columns, prepare

    train, test = synthetic
    cfg = build_config(Config, PRESETS, "strong", n_epochs=2, early_stop=2)
    prep = prepare(cfg, train)
    feats = engineer_features(train.frame, train.features, train.n_days)
    assert prep.columns == epidemic_columns(list(feats.columns)) and "cli_change" in prep.columns
    x = feats[prep.columns].to_numpy()
    x_train = x[~prep.valid_mask]
    np.testing.assert_allclose(prep.x.numpy(), (x - x_train.mean(0)) / x_train.std(0), rtol=1e-5, atol=1e-5)
    run = train_ensemble(cfg, train)  # the test file (no target column) goes through the same path
    assert np.isfinite(run.predict(test.frame)).all() and len(run.predict(test.frame)) == len(test.frame)


def test_strong_learns_the_synthetic_signal(synthetic):
    train, _ = synthetic
    cfg = build_config(Config, PRESETS, "strong", n_epochs=150, early_stop=30)
    run = train_ensemble(cfg, train)
    refs = reference_scores(train, run.valid_mask, run.columns)
    # a trained net must be far better than predicting the mean, and close to ridge
    variance = run.valid_true.var()
    assert run.valid_mse < 0.1 * variance
    assert run.valid_mse < 1.5 * refs["ridge"]
    assert run.valid_mse == pytest.approx(np.mean((run.valid_pred - run.valid_true) ** 2))


@pytest.mark.notebook
def test_notebook_smoke_run(tmp_path, check_readme_outputs):
    import papermill as pm

    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), kernel_name="python3",
                        cwd=str(REPO_ROOT), progress_bar=False,
                        parameters={"preset": "boss", "smoke": True, "data_source": "synthetic",
                                    "out_dir": str(tmp_path)})
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["data"] == "synthetic" and metrics["preset"] == "boss"
    assert len(metrics["seeds"]) == 3 and np.isfinite(metrics["value"])
    assert set(metrics["blend"]) == set(PRESETS["boss"]["blend"]) and len(metrics["blend"]) >= 4
    assert validate_submission(tmp_path / "pred.csv", "hw1", n_rows=37 * 4) == 37 * 4
    for plot in ("learning_curves.png", "pred_vs_true.png", "valid_over_time.png"):
        assert (tmp_path / plot).stat().st_size > 1000
    check_readme_outputs("HW1", tmp_path)  # exactly the files README's "What a run writes" lists


@pytest.mark.notebook
def test_notebook_answers_with_the_test_files_own_ids(tmp_path):
    """A test file whose ids are not 0..N-1 (a time hold-out cut from a train file keeps the
    train file's ids): pred.csv answers every id of the test file, in its order."""
    import pandas as pd
    import papermill as pm

    data = tmp_path / "data"
    write_synthetic(data, seed=2)
    header, *rows = (data / "covid.test.csv").read_text().splitlines()  # lines: the header repeats names
    ids = [int(r.split(",", 1)[0]) * 3 + 1000 for r in rows]
    (data / "covid.test.csv").write_text("\n".join(
        [header] + [f"{i},{r.split(',', 1)[1]}" for i, r in zip(ids, rows)]) + "\n")
    out = tmp_path / "out"
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), kernel_name="python3",
                        cwd=str(REPO_ROOT), progress_bar=False,
                        parameters={"preset": "boss", "smoke": True, "data_source": str(data),
                                    "out_dir": str(out)})
    assert validate_submission(out / "pred.csv", "hw1", expected_ids=ids) == len(ids)
    assert pd.read_csv(out / "pred.csv")["id"].tolist() == ids


def test_committed_notebooks_carry_no_outputs():
    for nb_path in REPO_ROOT.glob("*/*.ipynb"):
        nb = json.loads(nb_path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, nb_path
        assert "widgets" not in nb["metadata"] and "colab" not in nb["metadata"], nb_path


# --- real 2022 files ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_2022(shared_data):
    folder = shared_data / "hw1_covid_2022"
    return load_covid(folder / "covid.train.csv", folder / "covid.test.csv")


def test_real_boss_beats_ridge_and_persistence_on_time_holdout(real_2022):
    train, _ = real_2022
    run = train_ensemble(build_config(Config, PRESETS, "boss"), train)
    refs = reference_scores(train, run.valid_mask, run.columns)
    assert run.valid_mse < refs["ridge"] < refs["persistence"]


@pytest.mark.notebook
@pytest.mark.parametrize("year, train_file, test_file", [
    ("2022", "covid.train.csv", "covid.test.csv"),
    ("2021", "covid.train.csv", "covid.test.csv"),
    ("2023", "covid_train.csv", "covid_test.csv"),
])
def test_notebook_unchanged_on_each_years_real_folder(shared_data, tmp_path, year, train_file, test_file):
    """Only the folder is passed: the notebook finds the files and reads the layout itself."""
    import papermill as pm

    folder = shared_data / f"hw1_covid_{year}"
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), kernel_name="python3",
                        cwd=str(REPO_ROOT), progress_bar=False,
                        parameters={"preset": "boss", "smoke": True, "data_source": str(folder),
                                    "out_dir": str(tmp_path)})
    n_test = len(load_covid(folder / train_file, folder / test_file)[1].frame)
    assert validate_submission(tmp_path / "pred.csv", "hw1", n_rows=n_test) == n_test
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["data"] == "real" and metrics["files"] == [train_file, test_file]


def test_notebook_config_takes_parameters_cell_names_once():
    namespace = {"preset": "strong", "n_epochs": 7, "learning_rate": None, "smoke": False,
                 "unrelated_global": object()}
    cfg = notebook_config(Config, PRESETS, namespace)
    assert cfg.n_epochs == 7 and cfg.preset == "strong"
    assert cfg.learning_rate == build_config(Config, PRESETS, "strong").learning_rate  # None = preset's
