"""HW1 COVID-19 regression: presets, feature selection, the MLP and the (ensemble) trainer.

The notebook is the narrative; this module holds the code that tests and benchmarks import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.preprocessing import StandardScaler
from torch import nn

from common.datasets.covid import TARGET, CovidTable
from common.seed import set_seed
from common.train import History, TensorBatches, fit
from hw1_covid_regression.timecv import time_ordered_split, window_chains


@dataclass
class Config:
    """Every knob of a run. Names follow the official 2022 sample code where it has one."""

    preset: str = "simple"
    seed: int = 5201314
    seeds: tuple[int, ...] = ()  # ensemble members' seeds; empty = just ``seed``
    split: str = "random"  # "random" (official) | "time" (last days of every state)
    valid_ratio: float = 0.2
    # "all" (117 columns, id included, as the sample) | "selected" (the k_features best by
    # |correlation|) | "engineered" (change/trend features of tested_positive and CLI/ILI)
    features: str = "all"
    k_features: int = 16
    scale: bool = False  # standardise inputs with statistics of the training rows only
    hidden_layers: tuple[int, ...] = (16, 8)
    linear_skip: bool = False  # add a linear path beside the MLP ("wide & deep")
    predict_change: bool = False  # learn y - (last day's tested_positive), not y itself
    # Weights of a blend of the MLP with non-neural components (see COMPONENTS); None = the MLP
    # alone. The weights of strong and boss were chosen by benchmarks/hw1_timecv.py on the
    # selection folds of the rolling-origin time validation of all three years.
    blend: dict[str, float] | None = None
    # Weights for rows without the 14-day history (no earlier row chains to them, as in the
    # course's test files); None = ``blend`` for every row.
    blend_no_history: dict[str, float] | None = None
    optimizer: str = "sgd"  # "sgd" (momentum) | "adam" | "adamw"
    learning_rate: float = 1e-5
    momentum: float = 0.9
    weight_decay: float = 0.0  # L2; decoupled for adamw
    batch_size: int = 256
    n_epochs: int = 3000
    early_stop: int = 400
    # After early stopping on the validation rows, train a fresh MLP on every row for the best
    # epoch count, so the latest days (the validation rows of a time split) are learnt too.
    refit_all: bool = False
    smoke: bool = False
    data_source: str = "auto"
    out_dir: str = "outputs/hw1"

    @property
    def ensemble_seeds(self) -> list[int]:
        return list(self.seeds) or [self.seed]

    @property
    def blend_weights(self) -> dict[str, float]:
        return _checked_blend(dict(self.blend or {"mlp": 1.0}))

    @property
    def no_history_weights(self) -> dict[str, float] | None:
        return None if self.blend_no_history is None else _checked_blend(dict(self.blend_no_history))


def _checked_blend(weights: dict[str, float]) -> dict[str, float]:
    unknown = sorted(set(weights) - set(COMPONENTS))
    if unknown or abs(sum(weights.values()) - 1) > 1e-6:
        raise ValueError(f"blend {weights}: names must be in {COMPONENTS} and weights sum to 1")
    return weights


PRESETS: dict[str, dict] = {
    # The official 2022 sample code, so its numbers can be reproduced.
    "simple": {},
    # Feature selection by correlation on training rows, standardised inputs (unscaled, the
    # sample's SGD diverged for some seeds: 2021 MSE 22 +- 30 on the selection folds) and early
    # stopping on the latest days of every state (time split) instead of random rows.
    "medium": {"features": "selected", "scale": True, "split": "time", "learning_rate": 1e-3,
               "early_stop": 200},
    # A blend of two views of the same question, "how much will tested_positive change
    # from yesterday?": the MLP (scaled change/trend features of tested_positive and the CLI/ILI
    # signals, a linear path beside it, Adam, early stopping on the latest days of every state,
    # then retrained on every day for the best epoch count) and a ridge regression on every
    # engineered change/trend feature. Weights from the selection folds of the time validation.
    "strong": {"features": "engineered", "scale": True, "hidden_layers": (32, 16),
               "linear_skip": True, "predict_change": True, "optimizer": "adam",
               "learning_rate": 3e-4, "batch_size": 64, "n_epochs": 1000, "early_stop": 100,
               "split": "time", "refit_all": True, "blend": {"mlp": 0.5, "linear_change": 0.5}},
    # strong's MLP averaged over three seeds and six scikit-learn models: ridge on the raw
    # columns and five change-space models (ridge with growth-rate terms, recency-weighted ridge
    # on the epidemic signals, RBF kernel ridge, and ridge on the epidemic signals with their 7-
    # and 14-day history from the rows before, plain and recency-weighted). Weights by NNLS on
    # the selection folds' out-of-fold predictions, unshrunk (leave-one-year-out preferred that to
    # equal weights, benchmarks/RESULTS_hw1_timecv.md); three members got 0 and are kept at 0
    # so that the benchmark chooses among the same seven. Rows that no earlier row chains to
    # (almost every row of the course's test files) get the previous boss instead: the equal
    # blend of the five members without history (chosen the same way before the history members
    # existed), which the history blend's fallbacks did worse than (-0.7 % vs ridge in 2022).
    "boss": {"features": "engineered", "scale": True, "hidden_layers": (32, 16),
             "linear_skip": True, "predict_change": True, "optimizer": "adam",
             "learning_rate": 3e-4, "batch_size": 64, "n_epochs": 1000, "early_stop": 100,
             "split": "time", "refit_all": True, "seeds": (5201314, 1, 2),
             "blend": {"mlp": 0.048, "ridge": 0.0, "growth_change": 0.281, "epidemic_change": 0.0,
                       "kernel_change": 0.0, "history_change": 0.215, "history_recent_change": 0.456},
             "blend_no_history": {"mlp": 0.2, "ridge": 0.2, "growth_change": 0.2,
                                  "epidemic_change": 0.2, "kernel_change": 0.2}},
    "smoke": {"n_epochs": 3, "early_stop": 2},
}

# Blend components: the MLP trained with fit(), ridge on the raw columns (the reference)
# and the change-space models of CHANGE_COMPONENTS.
COMPONENTS = ("mlp", "ridge", "linear_change", "growth_change", "epidemic_change", "kernel_change",
              "hgb_change", "history_change", "history_recent_change")
# Survey signals that track the epidemic itself (2021/2022 and 2023 names).
EPIDEMIC = ("cli", "ili", "hh_cmnty_cli", "nohh_cmnty_cli", "wnohh_cmnty_cli")


def _trend(values: np.ndarray) -> np.ndarray:
    """[N, k] -> [N] least-squares slope per row over k equally spaced days."""
    t = np.arange(values.shape[1]) - (values.shape[1] - 1) / 2
    return values @ t / (t @ t)


def engineer_features(frame: pd.DataFrame, features: list[str], n_days: int) -> pd.DataFrame:
    """Change and trend features by name, for any number of days per row (3 or 5).

    For every survey signal ``f``: ``f_today`` (the target day's value, known at prediction
    time), ``f_change`` (today minus yesterday) and ``f_trend`` (slope over the window). For
    ``tested_positive``, known up to yesterday: ``tested_positive_last``, ``_change``
    (yesterday minus the day before), ``_trend`` and ``_mean`` over the known days.
    Returns [N, 3 * (F - 1) + 4] with ``frame``'s index.
    """
    out: dict[str, np.ndarray] = {}
    for f in features:
        days = range(1, n_days) if f == TARGET else range(1, n_days + 1)
        values = np.stack([frame[f"{f}_d{d}"].to_numpy(dtype=np.float64) for d in days], axis=1)
        if f == TARGET:
            out[f"{f}_last"] = values[:, -1]
        else:
            out[f"{f}_today"] = values[:, -1]
        out[f"{f}_change"] = values[:, -1] - values[:, -2]
        out[f"{f}_trend"] = _trend(values)
        if f == TARGET:
            out[f"{f}_mean"] = values.mean(axis=1)
    return pd.DataFrame(out, index=frame.index)


def growth_features(frame: pd.DataFrame, features: list[str], n_days: int) -> pd.DataFrame:
    """Multiplicative (growth-rate) change terms: for ``tested_positive`` and every CLI/ILI
    signal ``f``, ``f_growth = tested_positive_last * (f_last - f_previous) / max(f_previous, 0.1)``,
    the change a model of relative growth predicts (``f_last`` is today's survey value, or
    yesterday's ``tested_positive``). Returns [N, G] with ``frame``'s index."""
    last = frame[f"{TARGET}_d{n_days - 1}"].to_numpy(dtype=np.float64)
    out: dict[str, np.ndarray] = {}
    for f in [f for f in features if f in EPIDEMIC] + [TARGET]:
        d = n_days - 1 if f == TARGET else n_days
        now = frame[f"{f}_d{d}"].to_numpy(dtype=np.float64)
        before = frame[f"{f}_d{d - 1}"].to_numpy(dtype=np.float64)
        out[f"{f}_growth"] = last * (now - before) / np.maximum(before, 0.1)
    return pd.DataFrame(out, index=frame.index)


# Days of history beyond a row's own window (the windows hold 3 or 5 days).
HISTORY_SPANS = (7, 14)


def history_names(features: list[str]) -> list[str]:
    """The columns of :func:`history_features`, in order."""
    return [f"{f}_{stat}{span}" for f in [*[f for f in features if f in EPIDEMIC], TARGET]
            for span in HISTORY_SPANS for stat in ("mean", "trend", "change")]


def history_features(frame: pd.DataFrame, table: CovidTable, past: pd.DataFrame | None = None
                     ) -> tuple[pd.DataFrame, np.ndarray]:
    """Mean, slope and change over the last 7 and 14 days of ``tested_positive`` (up to
    yesterday) and of every CLI/ILI signal (up to today), for each row of ``frame``.

    A row only holds 3 or 5 days; earlier days come from the rows before it: the rows of a
    state are sliding windows, chained by their overlap (:func:`window_chains`) over ``past``
    (earlier rows, e.g. the training file's) followed by ``frame``. Only input days are read
    (never a target column), and only days up to the row's own, so no row sees its target or a
    later day. ``table`` gives the layout (states, features, days per row). Returns
    ``(features [N, H] with frame's index, complete [N] bool)``: ``complete`` is True when the
    row has all of the longest span's days; incomplete rows get NaN features.
    """
    n, target = table.n_days, table.target_column
    rows = frame.drop(columns=target, errors="ignore")
    if past is not None:  # rows of frame that are also in past count once, as frame's
        key = lambda f: map(tuple, np.round(f.drop(columns=["id", target], errors="ignore").to_numpy(), 6))  # noqa: E731
        seen = set(key(rows))
        old = past.drop(columns=target, errors="ignore")
        rows = pd.concat([old[[k not in seen for k in key(old)]], rows], ignore_index=True)
    joined = CovidTable(table.path, rows.reset_index(drop=True), table.states, table.features, n, False)
    chain, position = window_chains(joined)
    ours = np.arange(len(rows) - len(frame), len(rows))  # frame's rows in joined
    names = history_names(table.features)
    out = np.full((len(frame), len(names)), np.nan)
    longest = max(HISTORY_SPANS)
    complete = position[ours] + n - 1 >= longest  # days of tested_positive known before today
    width = position.max() + n  # days of the longest chain
    start = chain * width  # each chain's days laid out one after another
    k = 0
    for f in [*[f for f in table.features if f in EPIDEMIC], TARGET]:
        known = n - 1 if f == TARGET else n  # input days of f in a row
        series = np.full((chain.max() + 1) * width, np.nan)
        for d in range(1, known + 1):
            series[start + position + d - 1] = rows[f"{f}_d{d}"].to_numpy(dtype=np.float64)
        end = start[ours] + position[ours] + known  # one past the row's last known day of f
        for span in HISTORY_SPANS:
            idx = end[:, None] - span + np.arange(span)
            values = np.where(complete[:, None], series[np.maximum(idx, 0)], np.nan)
            out[:, k:k + 3] = np.column_stack([values.mean(axis=1), _trend(values),
                                               values[:, -1] - values[:, 0]])
            k += 3
    return pd.DataFrame(out, columns=names, index=frame.index), complete


def epidemic_columns(columns: list[str]) -> list[str]:
    """The engineered columns of tested_positive and the CLI/ILI survey signals."""
    return [c for c in columns if c.rsplit("_", 1)[0] in (TARGET, *EPIDEMIC)]


class ChangeModel:
    """A regressor of the change ``y - tested_positive(yesterday)`` on engineered features.

    ``kind``: ``"ridge"`` (standardised ridge regression; ``alpha=None`` chooses alpha by
    :func:`~hw1_covid_regression.timecv.inner_time_folds` of the training table), ``"kernel"``
    (RBF kernel ridge on standardised inputs, a smooth non-linear view) or ``"hgb"``
    (HistGradientBoosting). ``columns``: ``"all"`` engineered columns, ``"epidemic"`` ones
    (tested_positive and the CLI/ILI signals) or ``"growth"`` (all, plus
    :func:`growth_features`). ``recency``: when set, training rows are weighted
    by ``exp(-days before the state's last training day / recency)`` (normalised to mean 1).
    ``windows``: when set, one model per fraction ``f``, fitted on the latest ``f`` of every
    state's training days (alpha chosen on those rows), and their predictions averaged: a hedge
    between all of the history and its recent part. ``history``: add :func:`history_features`
    (7- and 14-day trends from the rows before each row); fitted on the rows that have the whole
    14 days, and rows to predict without them (no earlier rows of their state chain to them, as
    in the real test files) get the same model fitted without history, and so do all rows when
    fewer than 4 training rows per column have the whole 14 days."""

    def __init__(self, kind: str, table: CovidTable, columns: str = "all",
                 alpha: float | None = None, recency: float | None = None, seed: int = 0,
                 windows: tuple[float, ...] | None = None, history: bool = False):
        if kind not in ("ridge", "kernel", "hgb"):
            raise ValueError(f"kind must be 'ridge', 'kernel' or 'hgb', got {kind!r}")
        if columns not in ("all", "epidemic", "growth"):
            raise ValueError(f"columns must be 'all', 'epidemic' or 'growth', got {columns!r}")
        self.kind, self.alpha, self.recency, self.seed = kind, alpha, recency, seed
        self.args = {"kind": kind, "columns": columns, "alpha": alpha, "recency": recency, "seed": seed}
        self.windows, self.members, self.history = windows, [], history
        self.features, self.n_days, self.growth = table.features, table.n_days, columns == "growth"
        names = list(self._engineered(table.frame.iloc[:2]).columns)
        names += history_names(table.features) if history else []
        self.columns = epidemic_columns(names) if columns == "epidemic" else names

    def _model(self, alpha: float | None):
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.kernel_ridge import KernelRidge
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline

        if self.kind == "ridge":
            return make_pipeline(StandardScaler(), Ridge(alpha=alpha))
        if self.kind == "kernel":  # wide RBF: close to linear, with some curvature
            return make_pipeline(StandardScaler(), KernelRidge(alpha=1.0, kernel="rbf", gamma=0.003))
        # shallow and strongly regularised: the change is mostly noise
        return HistGradientBoostingRegressor(learning_rate=0.05, max_iter=200, max_depth=2,
                                             min_samples_leaf=80, l2_regularization=1.0,
                                             random_state=self.seed)

    def _fit(self, x: np.ndarray, z: np.ndarray, w: np.ndarray | None, alpha: float | None):
        if w is not None:
            w = w / w.mean()  # so that alpha means the same for any number of rows
        self.offset = float(np.average(z, weights=w))  # kernel ridge has no intercept
        model = self._model(alpha)
        name = model.steps[-1][0] if hasattr(model, "steps") else None
        kwargs = {} if w is None else ({f"{name}__sample_weight": w} if name else {"sample_weight": w})
        return model.fit(x, z - self.offset, **kwargs)

    def _engineered(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = engineer_features(frame, self.features, self.n_days)
        return out.join(growth_features(frame, self.features, self.n_days)) if self.growth else out

    def _x(self, frame: pd.DataFrame, history: pd.DataFrame | None = None) -> np.ndarray:
        out = self._engineered(frame)
        if history is not None:
            out = pd.concat([out, history.set_axis(out.index)], axis=1)
        return out[self.columns].to_numpy()

    def _last(self, frame: pd.DataFrame) -> np.ndarray:
        return frame[f"{TARGET}_d{self.n_days - 1}"].to_numpy(dtype=np.float64)

    def fit(self, table: CovidTable) -> ChangeModel:
        """Fit on every row of a training table (rows of several states, in any order)."""
        from hw1_covid_regression.timecv import (
            ALPHAS,
            days_before_end,
            inner_time_folds,
            recent_rows,
            subset,
        )

        if self.windows:
            self.members = [ChangeModel(table=part, **self.args).fit(part)
                            for part in (subset(table, recent_rows(table, f)) for f in self.windows)]
            return self
        hist = None
        if self.history:
            self.fallback = ChangeModel(table=table, **self.args).fit(table)
            self.layout, self.past = table, table.frame.drop(columns=table.target_column)
            hist, complete = history_features(table.frame, table)
            if complete.sum() < 4 * len(self.columns):  # too few rows with history: fallback only
                self.model = None
                return self
            table, hist = subset(table, complete), hist[complete]
        x = self._x(table.frame, hist)
        z = table.frame[table.target_column].to_numpy(dtype=np.float64) - self._last(table.frame)
        w = None if self.recency is None else np.exp(-days_before_end(table) / self.recency)
        if self.kind == "ridge" and self.alpha is None:  # alpha by time folds inside the table
            folds = inner_time_folds(table)
            sub = lambda f: None if w is None else w[f.train]  # noqa: E731
            errors = [np.mean([np.mean((self._fit(x[f.train], z[f.train], sub(f), a).predict(x[f.valid])
                                        + self.offset - z[f.valid]) ** 2) for f in folds])
                      for a in ALPHAS]
            self.alpha = float(ALPHAS[int(np.argmin(errors))])
        self.model = self._fit(x, z, w, self.alpha)
        return self

    def has_history(self, frame: pd.DataFrame) -> np.ndarray:
        """[N] bool: the rows this model predicts with their 14-day history (False: with its
        no-history fallback). Always True for a model without history features."""
        if not self.history:
            return np.ones(len(frame), dtype=bool)
        if self.model is None:
            return np.zeros(len(frame), dtype=bool)
        return history_features(frame, self.layout, self.past)[1]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if self.members:
            return np.mean([m.predict(frame) for m in self.members], axis=0)
        if not self.history:
            return self.model.predict(self._x(frame)) + self.offset + self._last(frame)
        hist, complete = history_features(frame, self.layout, self.past)
        pred = self.fallback.predict(frame)
        if complete.any() and self.model is not None:
            rows = frame[complete]
            pred[complete] = (self.model.predict(self._x(rows, hist[complete])) + self.offset
                              + self._last(rows))
        return pred

    def __repr__(self) -> str:
        if self.members:
            return (f"ChangeModel({self.kind}, {len(self.columns)} columns, mean of {len(self.members)} "
                    f"training windows {self.windows}, alphas {[m.alpha for m in self.members]})")
        extra = ", with 7/14-day history" if self.history else ""
        return f"ChangeModel({self.kind}, {len(self.columns)} columns{extra}: {self.model})"


# The blend's scikit-learn components in change space (the arguments of ChangeModel); every
# choice here was made on the selection folds of benchmarks/hw1_timecv.py.
CHANGE_COMPONENTS: dict[str, dict] = {
    # every change/trend feature; alpha by inner time folds (it varies 10..1000 between years)
    "linear_change": {"kind": "ridge", "columns": "all"},
    # the same plus growth-rate terms (tested_positive x relative change of each epidemic
    # signal), averaged over three training windows: all days, the latest 60 % and 35 %
    "growth_change": {"kind": "ridge", "columns": "growth", "windows": (1.0, 0.6, 0.35)},
    # the epidemic signals only, recent days weighted up (e-folding time 30 days)
    "epidemic_change": {"kind": "ridge", "columns": "epidemic", "recency": 30.0},
    "kernel_change": {"kind": "kernel", "columns": "epidemic"},
    "hgb_change": {"kind": "hgb", "columns": "epidemic"},
    # the epidemic signals with their 7- and 14-day history, plain and recency-weighted
    "history_change": {"kind": "ridge", "columns": "epidemic", "history": True},
    "history_recent_change": {"kind": "ridge", "columns": "epidemic", "history": True, "recency": 30.0},
}


def fit_components(cfg: Config, table: CovidTable, rows: np.ndarray) -> dict[str, object]:
    """The non-MLP components of ``cfg.blend`` fitted on ``rows`` (bool mask) of ``table``;
    each has ``predict(frame) -> [N]``."""
    from hw1_covid_regression.timecv import RidgeTimeCV, non_id_columns, subset

    part = subset(table, rows)
    out: dict[str, object] = {}
    for name in {**cfg.blend_weights, **(cfg.no_history_weights or {})}:
        if name == "ridge":
            out[name] = RidgeTimeCV(non_id_columns(part, states=False)).fit(part)
        elif name in CHANGE_COMPONENTS:
            out[name] = ChangeModel(table=part, seed=cfg.seed, **CHANGE_COMPONENTS[name]).fit(part)
    return out


def feature_scores(frame: pd.DataFrame, target: pd.Series, seed: int = 0) -> pd.DataFrame:
    """Pearson correlation and mutual information of every column with the target,
    best first. Pass training rows only, or validation leaks into the choice."""
    from sklearn.feature_selection import mutual_info_regression

    columns = [c for c in frame.columns if c != "id" and frame[c].std() > 0]
    pearson = frame[columns].corrwith(target)
    mi = mutual_info_regression(frame[columns].to_numpy(), target.to_numpy(), random_state=seed)
    table = pd.DataFrame({"pearson_r": pearson, "abs_r": pearson.abs(), "mutual_info": mi})
    return table.sort_values("abs_r", ascending=False)


def input_columns(cfg: Config, train: CovidTable, train_rows: np.ndarray) -> list[str]:
    """The columns a model reads, chosen by name (never by position)."""
    if cfg.features == "all":
        return train.input_columns
    if cfg.features == "engineered":
        names = engineer_features(train.frame.iloc[:2], train.features, train.n_days).columns
        return epidemic_columns(list(names))
    if cfg.features != "selected":
        raise ValueError(f"features must be 'all', 'selected' or 'engineered', got {cfg.features!r}")
    rows = train.frame.iloc[train_rows]
    scores = feature_scores(rows[train.input_columns], rows[train.target_column], seed=cfg.seed)
    return list(scores.index[:cfg.k_features])


def validation_mask(cfg: Config, train: CovidTable) -> np.ndarray:
    """[N] bool, True for validation rows."""
    if cfg.split == "time":
        return time_ordered_split(train, cfg.valid_ratio)
    if cfg.split != "random":
        raise ValueError(f"split must be 'random' or 'time', got {cfg.split!r}")
    # The official sample: torch random_split with a generator seeded by `seed`.
    n = len(train.frame)
    n_valid = int(cfg.valid_ratio * n)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed)).numpy()
    mask = np.zeros(n, dtype=bool)
    mask[order[n - n_valid:]] = True
    return mask


class Regressor(nn.Module):
    """[N, F] -> [N, 1]: an MLP, optionally with a linear path beside it."""

    def __init__(self, n_inputs: int, hidden_layers: tuple[int, ...], linear_skip: bool = False):
        super().__init__()
        self.mlp = make_mlp(n_inputs, hidden_layers)
        self.linear = nn.Linear(n_inputs, 1) if linear_skip else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.mlp(x)
        return out + self.linear(x) if self.linear is not None else out


def make_mlp(n_inputs: int, hidden_layers: tuple[int, ...]) -> nn.Module:
    """``n_inputs -> hidden... -> 1`` with ReLU, as the sample's 16-8-1 net generalised."""
    layers: list[nn.Module] = []
    width = n_inputs
    for h in hidden_layers:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def make_optimizer(cfg: Config, model: nn.Module) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.learning_rate, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    raise ValueError(f"optimizer must be sgd, adam or adamw, got {cfg.optimizer!r}")


@dataclass
class Prepared:
    """The MLP's inputs: chosen columns, scaled, as tensors, with the validation mask."""

    columns: list[str]
    engineered: tuple[list[str], int] | None  # (features, n_days) when columns are engineered
    baseline_column: str | None  # the MLP predicts y minus this column, when set
    valid_mask: np.ndarray  # [N] bool
    scaler: StandardScaler | None  # fitted on the training rows
    x: torch.Tensor  # [N, F] float32
    target: torch.Tensor  # [N, 1] float32: y, or y - baseline

    def inputs(self, frame: pd.DataFrame) -> np.ndarray:
        """[N, F] the unscaled inputs of ``frame``'s rows."""
        return mlp_inputs(frame, self.columns, self.engineered)

    def batches(self, rows: np.ndarray, batch_size: int, shuffle: bool = False,
                seed: int = 0) -> TensorBatches:
        return TensorBatches(self.x[rows], self.target[rows], batch_size=batch_size,
                             shuffle=shuffle, seed=seed)


def mlp_inputs(frame: pd.DataFrame, columns: list[str],
               engineered: tuple[list[str], int] | None = None) -> np.ndarray:
    """[N, F] ``columns`` of ``frame``, or of its engineered features when ``engineered`` is
    ``(features, n_days)``."""
    if engineered is not None:
        frame = engineer_features(frame, *engineered)
    return frame[columns].to_numpy(dtype=np.float64)


def prepare(cfg: Config, train: CovidTable) -> Prepared:
    """Split, choose the MLP's columns on the training rows, scale with their statistics."""
    valid = validation_mask(cfg, train)
    columns = input_columns(cfg, train, np.flatnonzero(~valid))
    engineered = (train.features, train.n_days) if cfg.features == "engineered" else None
    x = mlp_inputs(train.frame, columns, engineered)
    y = train.frame[train.target_column].to_numpy(dtype=np.float64)
    # The last day whose tested_positive is an input: the persistence forecast.
    baseline = f"{TARGET}_d{train.n_days - 1}" if cfg.predict_change else None
    target = y - train.frame[baseline].to_numpy() if baseline else y
    scaler = StandardScaler().fit(x[~valid]) if cfg.scale else None
    if scaler is not None:
        x = scaler.transform(x)
    return Prepared(columns, engineered, baseline, valid, scaler, torch.tensor(x, dtype=torch.float32),
                    torch.tensor(target, dtype=torch.float32)[:, None])


@dataclass
class Run:
    """What :func:`train_ensemble` returns."""

    prep: Prepared
    models: list[nn.Module]
    histories: list[History]
    weights: dict[str, float]
    components: dict[str, object]  # non-MLP components fitted on every training row
    valid_pred: np.ndarray = field(default_factory=lambda: np.empty(0))
    valid_true: np.ndarray = field(default_factory=lambda: np.empty(0))
    valid_mse: float = float("nan")
    member_mse: list[float] = field(default_factory=list)
    no_history_weights: dict[str, float] | None = None  # for rows without the 14-day history

    @property
    def columns(self) -> list[str]:
        return self.prep.columns

    @property
    def valid_mask(self) -> np.ndarray:
        return self.prep.valid_mask

    def predict_mlp(self, frame: pd.DataFrame, models: list[nn.Module] | None = None) -> np.ndarray:
        """[N] mean over the MLP ensemble members (``self.models`` unless given)."""
        models = self.models if models is None else models
        x = self.prep.inputs(frame)
        if self.prep.scaler is not None:
            x = self.prep.scaler.transform(x)
        xt = torch.tensor(x, dtype=torch.float32)
        with torch.no_grad():
            preds = [m.eval()(xt).squeeze(1).numpy() for m in models]
        offset = frame[self.prep.baseline_column].to_numpy() if self.prep.baseline_column else 0.0
        return np.mean(preds, axis=0) + offset

    def component_predictions(self, frame: pd.DataFrame, components: dict[str, object] | None = None,
                              models: list[nn.Module] | None = None) -> dict[str, np.ndarray]:
        """{component: [N] prediction} for every component of the blend (the final MLPs and
        components unless others are given)."""
        components = self.components if components is None else components
        return {name: self.predict_mlp(frame, models) if name == "mlp" else components[name].predict(frame)
                for name in {**self.weights, **(self.no_history_weights or {})}}

    def predict(self, frame: pd.DataFrame, components: dict[str, object] | None = None,
                models: list[nn.Module] | None = None) -> np.ndarray:
        """[N] the blend's prediction for rows that have the train file's input columns."""
        preds = self.component_predictions(frame, components, models)
        blend = sum(self.weights.get(name, 0.0) * pred for name, pred in preds.items())
        if self.no_history_weights is None:
            return blend
        components = self.components if components is None else components
        with_history = np.logical_and.reduce(
            [c.has_history(frame) for c in components.values() if getattr(c, "history", False)]
            or [np.ones(len(frame), dtype=bool)])
        fallback = sum(self.no_history_weights.get(name, 0.0) * pred for name, pred in preds.items())
        return np.where(with_history, blend, fallback)


def make_model(cfg: Config, n_inputs: int) -> Regressor:
    return Regressor(n_inputs, cfg.hidden_layers, cfg.linear_skip)


def train_ensemble(cfg: Config, train: CovidTable, progress: bool = False,
                   device: str | torch.device = "cpu") -> Run:
    """Train one MLP per seed (early stopping on the validation rows) and the blend's other
    components; score the blend on the validation rows with every component fitted on the
    training rows only, then refit the non-MLP components on all rows for prediction."""
    prep = prepare(cfg, train)
    valid = prep.valid_mask
    weights = cfg.blend_weights
    models, histories, member_mse, final = [], [], [], []
    if "mlp" in weights:
        valid_loader = prep.batches(valid, batch_size=1024)
        for seed in cfg.ensemble_seeds:
            set_seed(seed)
            model = make_model(cfg, len(prep.columns))
            history = fit(model, prep.batches(~valid, cfg.batch_size, shuffle=True, seed=seed),
                          valid_loader, optimizer=make_optimizer(cfg, model), n_epochs=cfg.n_epochs,
                          early_stop=cfg.early_stop, device=device, progress=progress,
                          config={"seed": seed, **cfg.__dict__})
            models.append(model.cpu())
            histories.append(history)
            member_mse.append(history.best_score)
            if cfg.refit_all:
                final.append(refit_on_all_rows(cfg, prep, seed, history.best_epoch + 1, device).cpu())
    return finish_run(cfg, train, prep, models, histories, member_mse, final if cfg.refit_all else None)


def refit_on_all_rows(cfg: Config, prep: Prepared, seed: int, n_epochs: int,
                      device: str | torch.device = "cpu") -> nn.Module:
    """A fresh MLP trained on every row (no validation) for ``n_epochs``."""
    set_seed(seed)
    model = make_model(cfg, len(prep.columns))
    rows = np.ones(len(prep.x), dtype=bool)
    fit(model, prep.batches(rows, cfg.batch_size, shuffle=True, seed=seed), None,
        optimizer=make_optimizer(cfg, model), n_epochs=n_epochs, device=device, progress=False)
    return model


def finish_run(cfg: Config, train: CovidTable, prep: Prepared, models: list[nn.Module],
               histories: list[History], member_mse: list[float],
               final_models: list[nn.Module] | None = None) -> Run:
    """Fit the non-MLP components, score the blend on the validation rows with everything
    fitted without them (``models``: the early-stopped MLPs), then refit the components on
    all rows; ``final_models`` (MLPs retrained on all rows), if given, predict from then on."""
    valid = prep.valid_mask
    run = Run(prep, final_models or models, histories, cfg.blend_weights, {}, member_mse=member_mse,
              no_history_weights=cfg.no_history_weights)
    held_out = fit_components(cfg, train, ~valid)
    run.valid_true = train.frame[train.target_column].to_numpy(dtype=np.float64)[valid]
    run.valid_pred = run.predict(train.frame[valid], held_out, models)
    run.valid_mse = float(np.mean((run.valid_pred - run.valid_true) ** 2))
    run.components = fit_components(cfg, train, np.ones(len(train.frame), dtype=bool))
    return run


def reference_scores(train: CovidTable, valid_mask: np.ndarray, columns: list[str]) -> dict[str, float]:
    """Validation MSE of two models any network should beat, on the same split:
    persistence (the last known day's tested_positive) and ridge regression on ``columns`` (the
    file's columns or engineered features; standardised on training rows, alpha by
    cross-validation on training rows)."""
    from sklearn.linear_model import RidgeCV

    y = train.frame[train.target_column].to_numpy(dtype=np.float64)
    last = train.frame[f"tested_positive_d{train.n_days - 1}"].to_numpy(dtype=np.float64)
    engineered = None if set(columns) <= set(train.frame.columns) else (train.features, train.n_days)
    x = mlp_inputs(train.frame, columns, engineered)  # raw or engineered columns, by name
    x = StandardScaler().fit(x[~valid_mask]).transform(x)
    ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(x[~valid_mask], y[~valid_mask])
    return {
        "persistence": float(np.mean((last[valid_mask] - y[valid_mask]) ** 2)),
        "ridge": float(np.mean((ridge.predict(x[valid_mask]) - y[valid_mask]) ** 2)),
    }


def plot_over_time(train: CovidTable, valid_mask: np.ndarray, preds: dict[str, np.ndarray],
                   n_states: int = 4, title: str = "", path=None):
    """Truth and predictions against each state's day for the ``n_states`` states with the
    most validation rows; validation days shaded. ``preds`` maps a label to [n_valid]
    predictions for the rows of ``valid_mask`` in file order; ``title`` goes above the panels."""
    import matplotlib.pyplot as plt

    from common.plotting import save_figure
    from hw1_covid_regression.timecv import state_days

    state, day = state_days(train)
    y = train.frame[train.target_column].to_numpy()
    counts = np.bincount(state[valid_mask], minlength=len(train.states))
    chosen = np.argsort(-counts, kind="stable")[:n_states]
    fig, axes = plt.subplots(1, len(chosen), figsize=(3.6 * len(chosen), 3.2), squeeze=False)
    for ax, s in zip(axes[0], chosen):
        rows = np.flatnonzero(state == s)
        rows = rows[np.argsort(day[rows])]
        ax.plot(day[rows], y[rows], "k-", lw=1.2, label="truth")
        v = valid_mask[rows]
        if v.any():
            ax.axvspan(day[rows][v].min() - 0.5, day[rows][v].max() + 0.5, color="0.92")
        pos = {r: k for k, r in enumerate(np.flatnonzero(valid_mask))}
        for label, pred in preds.items():
            vr = rows[v]
            ax.plot(day[vr], pred[[pos[r] for r in vr]], ".-", ms=3, lw=0.8, label=label)
        ax.set(title=f"{train.states[s]} (validation shaded)", xlabel="day", ylabel=TARGET)
    axes[0][0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_pred_vs_true(y_true: np.ndarray, y_pred: np.ndarray, title: str = "", path=None):
    """Scatter of predictions against targets with the y = x line."""
    import matplotlib.pyplot as plt

    from common.plotting import save_figure

    fig, ax = plt.subplots(figsize=(4.4, 4.2))
    ax.scatter(y_true, y_pred, s=6, alpha=0.6)
    lo, hi = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    ax.set(xlabel="true", ylabel="predicted", title=title)
    return save_figure(fig, path)
