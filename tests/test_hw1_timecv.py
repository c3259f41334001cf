"""HW1: file discovery for any year, rolling-origin folds (no future day in training), the
engineered features, the blend and its weight choice."""

import shutil

import numpy as np
import pandas as pd
import pytest

from benchmarks.hw1_timecv import choose_weights_shrunk, nnls_weights, tuning_section
from common.config import build_config
from common.datasets.covid import (
    CovidTable,
    find_covid_files,
    load_covid,
    load_covid_csv,
    write_synthetic,
)
from common.datasets.covid.synthetic import FEATURES_2022, STATES_2022
from hw1_covid_regression.covid_model import (
    PRESETS,
    Config,
    engineer_features,
    epidemic_columns,
    growth_features,
    train_ensemble,
)
from hw1_covid_regression.timecv import (
    LATEST_FOLD,
    reference_predictions,
    rolling_folds,
    state_days,
    subset,
)


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("hw1tc")
    write_synthetic(out, seed=2)
    return out


# --- finding a year's files --------------------------------------------------------------------

@pytest.mark.parametrize("train_name, test_name", [
    ("covid.train.csv", "covid.test.csv"),  # 2021, 2022
    ("covid_train.csv", "covid_test.csv"),  # 2023
    ("my_train_copy.csv", "kaggle-test.csv"),  # unknown names: found by header
])
def test_find_covid_files_by_name_or_header(synthetic_dir, tmp_path, train_name, test_name):
    shutil.copy(synthetic_dir / "covid.train.csv", tmp_path / train_name)
    shutil.copy(synthetic_dir / "covid.test.csv", tmp_path / test_name)
    (tmp_path / "sampleSubmission.csv").write_text("id,tested_positive\r\n0,0.0\r\n")
    train, test = find_covid_files(tmp_path)
    assert (train.name, test.name) == (train_name, test_name)


def test_find_covid_files_wrong_folder_names_folder_and_files(synthetic_dir, tmp_path):
    shutil.copy(synthetic_dir / "covid.test.csv", tmp_path / "covid.test.csv")
    (tmp_path / "notes.csv").write_text("a,b\r\n1,2\r\n")
    with pytest.raises(FileNotFoundError) as err:
        find_covid_files(tmp_path)
    message = str(err.value)
    assert str(tmp_path) in message and "covid.test.csv (test layout)" in message
    assert "notes.csv (expected 'id', found ['a'])" in message and "expected covid.train.csv" in message
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="found no CSV files"):
        find_covid_files(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="found no such folder"):
        find_covid_files(tmp_path / "nope")


# --- rolling-origin folds ----------------------------------------------------------------------

def _table_with_known_days(n_days: int, gap_state: int = 1) -> tuple[CovidTable, np.ndarray]:
    """A 3-state table whose every feature on calendar day t equals t, rows shuffled in the
    file, ids in time order (day then state, as the real 2022 file) and one missing day in
    ``gap_state`` (its days then form two runs of windows). Returns (table, true target day)."""
    rng = np.random.default_rng(0)
    states, features = STATES_2022[:3], ["cli", "tested_positive"]
    rows = []
    for s in range(3):
        for t in range(n_days - 1, 40 + s):  # target days; states differ in length
            days = np.arange(t - n_days + 1, t + 1)
            if s == gap_state and 20 in days:
                continue  # day 20 missing: no window covers it
            onehot = np.eye(3)[s]
            values = np.stack([days + 0.5 * s, days + 100.0 * s], axis=1).reshape(-1)
            rows.append((t, s, onehot, values))
    rows.sort(key=lambda r: (r[0], r[1]))  # ids in time order
    order = rng.permutation(len(rows))  # file order shuffled
    names = ["id", *states] + [f"{f}_d{d}" for d in range(1, n_days + 1) for f in features]
    data = [[i, *rows[i][2], *rows[i][3]] for i in order]
    frame = pd.DataFrame(data, columns=names).astype(float)
    frame["id"] = frame["id"].astype(np.int64)
    truth = np.array([rows[i][0] for i in order])
    return CovidTable(None, frame, list(states), features, n_days, True), truth


@pytest.mark.parametrize("n_days", [3, 5])
def test_rolling_folds_never_train_on_a_future_day(n_days):
    table, truth = _table_with_known_days(n_days)
    state = table.state_index
    folds = rolling_folds(table)
    assert folds[-1].name == f"{LATEST_FOLD[0]:.3g}-{LATEST_FOLD[1]:.3g}"
    for fold in folds:
        assert not (fold.train & fold.valid).any()
        for s in range(3):
            tr, va = fold.train & (state == s), fold.valid & (state == s)
            assert tr.any() and va.any()
            # every day a training row reads (inputs and target) is before the first validation day
            assert truth[tr].max() < truth[va].min()
            # training = all rows before the cut: nothing earlier is left out
            assert truth[(state == s) & ~fold.train].min() > truth[tr].max()
    # the latest fold holds out each state's last quarter of rows, and nothing after it is lost
    latest = folds[-1]
    for s in range(3):
        n = (state == s).sum()
        assert (latest.valid & (state == s)).sum() == n - round(0.75 * n)
        assert truth[latest.valid & (state == s)].max() == truth[state == s].max()


def test_state_days_follow_time_when_file_order_and_chains_differ():
    table, truth = _table_with_known_days(5)
    state, day = state_days(table)
    for s in range(3):
        m = state == s
        assert np.array_equal(np.argsort(day[m]), np.argsort(truth[m]))
        assert sorted(day[m]) == list(range(m.sum()))


def _table_with_interleaved_ids() -> tuple[CovidTable, np.ndarray]:
    """The state with a gap gets ids that interleave its two runs: order by id is a guess."""
    table, truth = _table_with_known_days(5)
    frame = table.frame.copy()
    rows = np.flatnonzero(table.state_index == 1)
    frame.loc[rows, "id"] = np.random.default_rng(0).permutation(frame.loc[rows, "id"].to_numpy())
    return CovidTable(None, frame, table.states, table.features, 5, True), truth


def test_state_days_refuses_runs_whose_ids_interleave():
    bad, _ = _table_with_interleaved_ids()
    with pytest.raises(ValueError, match="overlapping ids"):
        state_days(bad)


def test_synthetic_files_fold_by_chain_although_ids_are_shuffled(synthetic_dir):
    train = load_covid_csv(synthetic_dir / "covid.train.csv")
    block = train.day_block()
    state, day = state_days(train)
    for s in range(0, 37, 9):  # the next day's window starts one day later
        rows = np.flatnonzero(state == s)[np.argsort(day[state == s])]
        np.testing.assert_array_equal(block[rows[1:], :-1], block[rows[:-1], 1:])


# --- features, blend, weights ------------------------------------------------------------------

@pytest.mark.parametrize("n_days", [3, 5])
def test_engineered_features_by_name(n_days):
    table, _ = _table_with_known_days(n_days)
    feats = engineer_features(table.frame, table.features, n_days)
    t = table.frame[f"cli_d{n_days}"].to_numpy()  # = target day + 0.5 * state
    np.testing.assert_allclose(feats["cli_today"], t)
    np.testing.assert_allclose(feats["cli_change"], 1.0)  # one per day
    np.testing.assert_allclose(feats["cli_trend"], 1.0)
    tp_last = table.frame[f"tested_positive_d{n_days - 1}"].to_numpy()
    np.testing.assert_allclose(feats["tested_positive_last"], tp_last)
    np.testing.assert_allclose(feats["tested_positive_mean"], tp_last - (n_days - 2) / 2)
    assert f"tested_positive_d{n_days}" not in feats and "tested_positive_today" not in feats
    assert epidemic_columns(list(feats.columns)) == list(feats.columns)  # cli and tp only


def test_engineered_features_2022_names():
    names = ["id", *STATES_2022] + [f"{f}_d{d}" for d in range(1, 6) for f in FEATURES_2022]
    frame = pd.DataFrame(np.ones((2, len(names))), columns=names)
    cols = list(engineer_features(frame, FEATURES_2022, 5).columns)
    assert len(cols) == 3 * 15 + 4
    assert set(epidemic_columns(cols)) == {f"{f}_{k}" for f in ("cli", "ili", "hh_cmnty_cli", "nohh_cmnty_cli")
                                           for k in ("today", "change", "trend")} | {
        f"tested_positive_{k}" for k in ("last", "change", "trend", "mean")}


@pytest.mark.parametrize("n_days", [3, 5])
def test_growth_features_against_numpy(n_days):
    table, _ = _table_with_known_days(n_days)
    frame = table.frame
    got = growth_features(frame, table.features, n_days)
    last = frame[f"tested_positive_d{n_days - 1}"].to_numpy()
    for f, d in (("cli", n_days), ("tested_positive", n_days - 1)):  # today / yesterday
        now, before = frame[f"{f}_d{d}"].to_numpy(), frame[f"{f}_d{d - 1}"].to_numpy()
        np.testing.assert_allclose(got[f"{f}_growth"], last * (now - before) / np.maximum(before, 0.1),
                                   rtol=1e-12, atol=1e-12)
    assert list(got.columns) == ["cli_growth", "tested_positive_growth"]  # epidemic signals only


def test_growth_change_ridge_equals_sklearn_on_engineered_plus_growth_columns(synthetic_dir):
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    from hw1_covid_regression.covid_model import CHANGE_COMPONENTS, ChangeModel

    part, frame, _, _, z, last_v = _change_problem(synthetic_dir)

    def inputs(f):
        return pd.concat([engineer_features(f, part.features, 5), growth_features(f, part.features, 5)],
                         axis=1).to_numpy()

    x, xv = inputs(part.frame), inputs(frame)
    scaler = StandardScaler().fit(x)
    direct = Ridge(alpha=3.0).fit(scaler.transform(x), z)
    model = ChangeModel("ridge", part, columns="growth", alpha=3.0).fit(part)
    assert len(model.columns) == x.shape[1] == 3 * 15 + 4 + 5
    np.testing.assert_allclose(model.predict(frame), direct.predict(scaler.transform(xv)) + last_v,
                               rtol=1e-8, atol=1e-8)
    assert CHANGE_COMPONENTS["growth_change"]["columns"] == "growth"


def test_recent_rows_are_each_states_latest_days():
    from hw1_covid_regression.timecv import days_before_end, recent_rows

    table, truth = _table_with_known_days(5)
    rows = recent_rows(table, 0.35)
    for s in range(3):
        m = table.state_index == s
        n = int(np.round(0.35 * m.sum()))
        assert rows[m].sum() == n  # the latest n days of the state, by true calendar day
        assert set(truth[m & rows]) == set(np.sort(truth[m])[-n:])
    assert recent_rows(table, 1.0).all() and (days_before_end(table)[recent_rows(table, 1e-6)] == 0).all()
    with pytest.raises(ValueError, match="fraction"):
        recent_rows(table, 0.0)


def test_windowed_change_model_averages_models_fitted_on_recent_days(synthetic_dir):
    from hw1_covid_regression.covid_model import ChangeModel
    from hw1_covid_regression.timecv import recent_rows

    part, frame, *_ = _change_problem(synthetic_dir)
    model = ChangeModel("ridge", part, columns="growth", windows=(1.0, 0.5)).fit(part)
    expected = [ChangeModel("ridge", p, columns="growth").fit(p).predict(frame)
                for p in (part, subset(part, recent_rows(part, 0.5)))]
    np.testing.assert_allclose(model.predict(frame), np.mean(expected, axis=0), rtol=1e-12)
    assert not np.allclose(expected[0], expected[1])


def _mix_records(weights, n_records=6, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    records = []
    for k in range(n_records):
        parts = {c: rng.normal(size=300) for c in weights}
        y = sum(w * parts[c] for c, w in weights.items()) + noise * rng.normal(size=300)
        records.append({"y": y, **parts, "ridge_ref": y + rng.normal(size=300), "year": str(k % 3)})
    return records


def test_nnls_weights_recover_a_known_mix_and_match_scipy():
    from scipy.optimize import nnls

    records = _mix_records({"a": 0.3, "b": 0.7, "c": 0.0})
    w = nnls_weights(records, ("a", "b", "c"))
    np.testing.assert_allclose(w, [0.3, 0.7, 0.0], atol=1e-6)
    # with noise: the same as scipy's NNLS on rows scaled by 1/sqrt(ridge MSE * rows), once
    # its weights sum to one (they nearly do: the mix's weights already sum to 1)
    records = _mix_records({"a": 0.3, "b": 0.7, "c": 0.0}, noise=0.5, seed=1)
    scale = [1 / np.sqrt(np.mean((r["ridge_ref"] - r["y"]) ** 2) * len(r["y"])) for r in records]
    a = np.vstack([np.column_stack([r[c] for c in "abc"]) * s for r, s in zip(records, scale)])
    b = np.concatenate([r["y"] * s for r, s in zip(records, scale)])
    ref, _ = nnls(a, b)
    np.testing.assert_allclose(nnls_weights(records, ("a", "b", "c")), ref / ref.sum(), atol=0.02)
    assert nnls_weights(records, ("a", "b", "c")).sum() == pytest.approx(1.0)


def test_shrinkage_is_chosen_by_leave_one_year_out():
    # a mix that holds in every year: no shrinkage is best, the weights are the mix's
    records = _mix_records({"a": 0.2, "b": 0.8})
    weights, score, loyo = choose_weights_shrunk(records, ("a", "b"))
    assert weights == {"a": 0.2, "b": 0.8} and min(loyo, key=loyo.get) == 0.0
    assert score == pytest.approx(0.0, abs=1e-9)
    # the best mix differs from year to year (a in one year, b in the next, c in the third):
    # weights fitted on two years fail on the third, and equal weights win
    rng = np.random.default_rng(3)
    records = []
    for k, best in enumerate("abc"):
        for _ in range(2):
            parts = {c: rng.normal(size=300) for c in "abc"}
            y = parts[best] + 0.5 * sum(parts.values())
            records.append({"y": y, **parts, "ridge_ref": y + rng.normal(size=300), "year": str(k)})
    weights, _, loyo = choose_weights_shrunk(records, ("a", "b", "c"))
    assert min(loyo, key=loyo.get) == 1.0 and weights == {c: pytest.approx(1 / 3, abs=1e-3) for c in "abc"}


def test_blend_weights_must_be_known_and_sum_to_one():
    assert build_config(Config, PRESETS, "simple").blend_weights == {"mlp": 1.0}
    for name in ("strong", "boss"):
        assert sum(build_config(Config, PRESETS, name).blend_weights.values()) == pytest.approx(1)
    with pytest.raises(ValueError, match="sum to 1"):
        _ = build_config(Config, PRESETS, "simple", blend={"mlp": 0.5, "ridge": 0.4}).blend_weights
    with pytest.raises(ValueError, match="names must be in"):
        _ = build_config(Config, PRESETS, "simple", blend={"mlp": 0.5, "forest": 0.5}).blend_weights
    with pytest.raises(ValueError, match="sum to 1"):
        _ = build_config(Config, PRESETS, "boss", blend_no_history={"mlp": 0.5}).no_history_weights


def test_boss_prediction_is_the_weighted_sum_of_its_components(synthetic_dir):
    train, test = load_covid(synthetic_dir / "covid.train.csv", synthetic_dir / "covid.test.csv")
    cfg = build_config(Config, PRESETS, "boss", n_epochs=5, early_stop=5)
    run = train_ensemble(cfg, train)
    # rows of the test file, and training rows (which chain to 14 days of history)
    frame = pd.concat([test.frame, train.frame.drop(columns=train.target_column)], ignore_index=True)
    parts = run.component_predictions(frame)
    assert set(parts) == set(cfg.blend_weights) | set(cfg.no_history_weights) and len(run.models) == 3
    with_history = np.logical_and.reduce([run.components[k].has_history(frame)
                                          for k in ("history_change", "history_recent_change")])
    assert with_history.any() and (~with_history).any()
    expected = np.where(with_history, sum(cfg.blend_weights[k] * v for k, v in parts.items()),
                        sum(cfg.no_history_weights.get(k, 0.0) * v for k, v in parts.items()))
    np.testing.assert_allclose(run.predict(frame), expected, rtol=1e-12)
    # rows without history get exactly the previous boss: the equal blend of five members
    assert set(cfg.no_history_weights) == {"mlp", "ridge", "growth_change", "epidemic_change", "kernel_change"}
    # the validation score uses components fitted without the validation rows
    assert run.valid_mse == pytest.approx(np.mean((run.valid_pred - run.valid_true) ** 2))
    assert not np.allclose(run.valid_pred, run.predict(train.frame[run.valid_mask]))


def test_references_on_synthetic_folds(synthetic_dir):
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    from hw1_covid_regression.timecv import ALPHAS, RidgeTimeCV, non_id_columns

    train = load_covid_csv(synthetic_dir / "covid.train.csv")
    fold = rolling_folds(train)[-1]
    part, frame = subset(train, fold.train), train.frame[fold.valid]
    preds = reference_predictions(part, frame)
    y = frame[train.target_column].to_numpy()
    np.testing.assert_allclose(preds["persistence"], frame["tested_positive_d4"])
    for name, pred in preds.items():  # all far better than the training mean
        assert np.mean((pred - y) ** 2) < 0.1 * np.mean((part.frame[train.target_column].mean() - y) ** 2), name
    # ridge: no state or id column, alpha from the grid, then refitted on every training row
    cols = non_id_columns(part, states=False)
    assert "id" not in cols and not set(train.states) & set(cols)
    ridge = RidgeTimeCV(cols).fit(part)
    assert ridge.alpha in ALPHAS
    x = part.frame[cols].to_numpy()
    scaler = StandardScaler().fit(x)
    direct = Ridge(alpha=ridge.alpha).fit(scaler.transform(x), part.frame[train.target_column])
    np.testing.assert_allclose(preds["ridge"], direct.predict(scaler.transform(frame[cols].to_numpy())))


def test_real_files_of_every_year_are_found_and_fold(shared_data):
    for year, n_states in (("2021", 40), ("2022", 37), ("2023", 34)):
        train_path, test_path = find_covid_files(shared_data / f"hw1_covid_{year}")
        train, test = load_covid(train_path, test_path)
        assert len(train.states) == n_states
        latest = rolling_folds(train)[-1]
        state, day = state_days(train)
        for s in range(n_states):
            m = state == s
            assert day[latest.valid & m].min() == round(0.75 * m.sum())



def test_refit_on_all_rows_changes_the_submission_not_the_validation_score(synthetic_dir):
    train, test = load_covid(synthetic_dir / "covid.train.csv", synthetic_dir / "covid.test.csv")
    runs = [train_ensemble(build_config(Config, PRESETS, "strong", n_epochs=6, early_stop=6,
                                        refit_all=refit), train) for refit in (False, True)]
    # validation is scored with the early-stopped nets (they never saw the validation rows) ...
    assert runs[0].valid_mse == pytest.approx(runs[1].valid_mse, rel=1e-12)
    # ... the submission with nets retrained on every row
    assert not np.allclose(runs[0].predict_mlp(test.frame), runs[1].predict_mlp(test.frame))


def test_ridge_alpha_falls_back_to_the_end_of_every_run_when_runs_cannot_be_ordered():
    from hw1_covid_regression.timecv import inner_time_folds

    bad, truth = _table_with_interleaved_ids()
    folds = inner_time_folds(bad)
    assert len(folds) == 1
    chain_end = {}  # within every run of consecutive days, validation rows come after training rows
    from hw1_covid_regression.timecv import window_chains

    chain, _ = window_chains(bad)
    for c in np.unique(chain):
        m = chain == c
        if (m & folds[0].train).any():
            assert truth[m & folds[0].train].max() < truth[m & folds[0].valid].min()
            chain_end[c] = True
    assert chain_end


# --- change-space components, each against scikit-learn called directly -------------------------

def _change_problem(synthetic_dir):
    from hw1_covid_regression.covid_model import ChangeModel

    train, test = load_covid(synthetic_dir / "covid.train.csv", synthetic_dir / "covid.test.csv")
    fold = rolling_folds(train)[0]
    part, frame = subset(train, fold.train), train.frame[fold.valid]
    probe = ChangeModel("ridge", part, columns="epidemic")
    x = engineer_features(part.frame, part.features, part.n_days)[probe.columns].to_numpy()
    xv = engineer_features(frame, part.features, part.n_days)[probe.columns].to_numpy()
    last, last_v = part.frame["tested_positive_d4"].to_numpy(), frame["tested_positive_d4"].to_numpy()
    return part, frame, x, xv, part.frame[part.target_column].to_numpy() - last, last_v


def test_days_before_end_counts_back_from_each_states_last_day():
    from hw1_covid_regression.timecv import days_before_end

    table, truth = _table_with_known_days(5)
    got = days_before_end(table)
    for s in range(3):
        m = table.state_index == s
        # day ranks within the state: the missing day of gap_state is not counted
        assert sorted(got[m]) == list(range(m.sum())) and got[m][np.argmax(truth[m])] == 0
    assert np.all(np.diff(got[np.argsort(truth)][table.state_index[np.argsort(truth)] == 0]) == -1)


def test_change_ridge_equals_sklearn_with_recency_weights(synthetic_dir):
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    from hw1_covid_regression.covid_model import ChangeModel
    from hw1_covid_regression.timecv import days_before_end

    part, frame, x, xv, z, last_v = _change_problem(synthetic_dir)
    w = np.exp(-days_before_end(part) / 30.0)
    w = w / w.mean()
    scaler = StandardScaler().fit(x)
    direct = Ridge(alpha=10.0).fit(scaler.transform(x), z, sample_weight=w)
    model = ChangeModel("ridge", part, columns="epidemic", alpha=10.0, recency=30.0).fit(part)
    np.testing.assert_allclose(model.predict(frame), direct.predict(scaler.transform(xv)) + last_v,
                               rtol=1e-8, atol=1e-8)
    unweighted = ChangeModel("ridge", part, columns="epidemic", alpha=10.0).fit(part)
    assert not np.allclose(unweighted.predict(frame), model.predict(frame))


def test_change_ridge_alpha_minimises_the_inner_time_fold_error(synthetic_dir):
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    from hw1_covid_regression.covid_model import ChangeModel
    from hw1_covid_regression.timecv import ALPHAS, inner_time_folds

    part, frame, x, _, z, _ = _change_problem(synthetic_dir)
    errors = []
    for a in ALPHAS:
        err = []
        for f in inner_time_folds(part):
            s = StandardScaler().fit(x[f.train])
            m = Ridge(alpha=a).fit(s.transform(x[f.train]), z[f.train])
            err.append(np.mean((m.predict(s.transform(x[f.valid])) - z[f.valid]) ** 2))
        errors.append(np.mean(err))
    model = ChangeModel("ridge", part, columns="epidemic").fit(part)
    assert model.alpha == ALPHAS[int(np.argmin(errors))]


def test_change_kernel_equals_sklearn_kernel_ridge_on_the_centred_change(synthetic_dir):
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.preprocessing import StandardScaler

    from hw1_covid_regression.covid_model import ChangeModel

    part, frame, x, xv, z, last_v = _change_problem(synthetic_dir)
    scaler = StandardScaler().fit(x)
    direct = KernelRidge(alpha=1.0, kernel="rbf", gamma=0.003).fit(scaler.transform(x), z - z.mean())
    model = ChangeModel("kernel", part, columns="epidemic").fit(part)
    np.testing.assert_allclose(model.predict(frame),
                               direct.predict(scaler.transform(xv)) + z.mean() + last_v, rtol=1e-7, atol=1e-7)
    with pytest.raises(ValueError, match="kind must be"):
        ChangeModel("forest", part)


# --- history beyond a row's window ---------------------------------------------------------------

def _expected_complete(table: CovidTable, truth: np.ndarray) -> np.ndarray:
    """Rows with 14 known days of tested_positive before their target day in their run of
    consecutive days (gap_state's second run starts at day 21)."""
    start = np.where((table.state_index == 1) & (truth > 20), 21, 0)
    return truth - start >= 14


@pytest.mark.parametrize("n_days", [3, 5])
def test_history_features_are_means_and_trends_of_past_days_only(n_days):
    from hw1_covid_regression.covid_model import history_features, history_names

    table, truth = _table_with_known_days(n_days)
    hist, complete = history_features(table.frame, table)
    assert list(hist.columns) == history_names(table.features)
    np.testing.assert_array_equal(complete, _expected_complete(table, truth))
    assert hist[~complete].isna().all().all()
    s, t = table.state_index[complete], truth[complete].astype(float)
    h = hist[complete]
    # tested_positive (day + 100 * state) up to yesterday; cli (day + 0.5 * state) up to today
    for span in (7, 14):
        np.testing.assert_allclose(h[f"tested_positive_mean{span}"], t - (span + 1) / 2 + 100 * s)
        np.testing.assert_allclose(h[f"cli_mean{span}"], t - (span - 1) / 2 + 0.5 * s)
        for f in ("tested_positive", "cli"):
            np.testing.assert_allclose(h[f"{f}_trend{span}"], 1.0)
            np.testing.assert_allclose(h[f"{f}_change{span}"], span - 1.0)


@pytest.mark.parametrize("n_days", [3, 5])
def test_history_features_ignore_targets_and_later_rows(n_days):
    from hw1_covid_regression.covid_model import history_features

    table, truth = _table_with_known_days(n_days)
    before, _ = history_features(table.frame, table)
    frame = table.frame.copy()
    rng = np.random.default_rng(1)
    frame[table.target_column] = rng.normal(size=len(frame))  # every target changed
    later = truth > 30  # and every value of the rows after day 30 (their windows overlap the past)
    cols = [c for c in frame.columns if "_d" in c]
    frame.loc[later, cols] = rng.normal(size=(later.sum(), len(cols)))
    after, _ = history_features(frame, CovidTable(None, frame, table.states, table.features, n_days, True))
    pd.testing.assert_frame_equal(after[truth <= 30], before[truth <= 30])


@pytest.mark.parametrize("n_days", [3, 5])
def test_history_of_rows_to_predict_chains_to_the_end_of_the_past_rows(n_days):
    from hw1_covid_regression.covid_model import history_features

    table, truth = _table_with_known_days(n_days)
    whole, _ = history_features(table.frame, table)
    past, later = table.frame[truth < 25], table.frame[truth >= 25].drop(columns=table.target_column)
    got, complete = history_features(later, table, past)
    pd.testing.assert_frame_equal(got, whole[truth >= 25])
    np.testing.assert_array_equal(complete, _expected_complete(table, truth)[truth >= 25])
    # rows given as past as well count once; without the past rows, the first days lack history
    again, _ = history_features(later, table, table.frame)
    pd.testing.assert_frame_equal(again, got)
    _, alone = history_features(later, table)  # known days from 25 - n_days + 1 to yesterday
    np.testing.assert_array_equal(alone, truth[truth >= 25] - 25 + n_days - 1 >= 14)
    assert alone.sum() < complete.sum()


def test_history_model_falls_back_on_rows_without_history(synthetic_dir):
    from hw1_covid_regression.covid_model import ChangeModel, history_features

    train, _ = load_covid(synthetic_dir / "covid.train.csv", synthetic_dir / "covid.test.csv")
    fold = rolling_folds(train)[-1]
    part = subset(train, fold.train)
    state, day = state_days(train)
    first = np.array([day[fold.valid & (state == s)].min() for s in state])
    frame = train.frame[fold.valid & (day != first)]  # a missing day: later rows' past is cut
    model = ChangeModel("ridge", part, columns="epidemic", alpha=1.0, history=True).fit(part)
    _, complete = history_features(frame, part, model.past)
    assert complete.any() and (~complete).any()
    pred, fallback = model.predict(frame), model.fallback.predict(frame)
    np.testing.assert_allclose(pred[~complete], fallback[~complete])
    assert not np.allclose(pred[complete], fallback[complete])
    plain = ChangeModel("ridge", part, columns="epidemic", alpha=1.0).fit(part)
    np.testing.assert_allclose(fallback, plain.predict(frame))


def test_rewritten_report_keeps_its_hand_written_tuning_section(tmp_path):
    path = tmp_path / "report.md"
    assert tuning_section(path) == []
    path.write_text("## measured\n\n| a |\n\n### Tuning (by hand)\n\n- tried x: 1.0\n")
    assert tuning_section(path) == ["### Tuning (by hand)", "", "- tried x: 1.0"]
    path.write_text("## measured, no tuning section\n")
    assert tuning_section(path) == []


def test_holdout_folder_is_the_latest_fold_in_the_real_files_format(shared_data, tmp_path):
    """benchmarks.hw1_holdout's folder: the latest fold's rows as a test file (no target, the
    real ids), the earlier rows as the train file; both load, and the truth is aligned."""
    from benchmarks.hw1_holdout import write_holdout

    folder = shared_data / "hw1_covid_2022"
    truth, refs = write_holdout(folder, tmp_path)
    real, _ = load_covid(folder / "covid.train.csv", folder / "covid.test.csv")
    train, test = load_covid(tmp_path / "covid.train.csv", tmp_path / "covid.test.csv")
    fold = rolling_folds(real, (LATEST_FOLD,))[0]
    assert len(train.frame) == fold.train.sum() and len(test.frame) == fold.valid.sum() == len(truth)
    assert not test.has_target and test.input_columns == real.input_columns
    held = real.frame[fold.valid]
    np.testing.assert_array_equal(test.frame["id"], held["id"])  # not renumbered
    np.testing.assert_array_equal(truth, held[real.target_column])
    assert set(refs) == {"ridge", "linreg", "persistence"} and all(len(v) == len(truth) for v in refs.values())
