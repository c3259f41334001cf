"""HW1 COVID-19 regression: presets, feature selection, the MLP and the (ensemble) trainer.

The notebook is the narrative; this module holds the code that tests and benchmarks import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from common.datasets.covid import CovidTable, time_ordered_split
from common.seed import set_seed
from common.train import History, TensorBatches, fit


@dataclass
class Config:
    """Every knob of a run. Names follow the official 2022 sample code where it has one."""

    preset: str = "simple"
    seed: int = 5201314
    seeds: tuple[int, ...] = ()  # ensemble members' seeds; empty = just ``seed``
    split: str = "random"  # "random" (official) | "time" (last days of every state)
    valid_ratio: float = 0.2
    features: str = "all"  # "all" (117 columns, id included, as the sample) | "selected"
    k_features: int = 16  # with features="selected": the k best by |correlation|
    scale: bool = False  # standardise inputs with statistics of the training rows only
    hidden_layers: tuple[int, ...] = (16, 8)
    linear_skip: bool = False  # add a linear path beside the MLP ("wide & deep")
    predict_change: bool = False  # learn y - (last day's tested_positive), not y itself
    optimizer: str = "sgd"  # "sgd" (momentum) | "adam" | "adamw"
    learning_rate: float = 1e-5
    momentum: float = 0.9
    weight_decay: float = 0.0  # L2; decoupled for adamw
    batch_size: int = 256
    n_epochs: int = 3000
    early_stop: int = 400
    smoke: bool = False
    data_source: str = "auto"
    out_dir: str = "outputs/hw1"

    @property
    def ensemble_seeds(self) -> list[int]:
        return list(self.seeds) or [self.seed]


PRESETS: dict[str, dict] = {
    # The official 2022 sample code, so its numbers can be reproduced.
    "simple": {},
    # Feature selection by correlation on training rows; the sample's optimiser otherwise.
    "medium": {"features": "selected", "learning_rate": 1e-4},
    # Scaled inputs, a wider net and Adam; validation on the latest days of every state.
    # Scaled inputs, more selected features, a linear path beside the MLP, learning the change
    # from the last known day, and Adam; validated on the latest days of every state.
    "strong": {"features": "selected", "k_features": 32, "scale": True, "hidden_layers": (32, 16),
               "linear_skip": True, "predict_change": True, "optimizer": "adam",
               "learning_rate": 3e-4, "batch_size": 64, "n_epochs": 1000, "early_stop": 100,
               "split": "time"},
    # + L2 (decoupled weight decay) and an average over five seeds: the single-seed spread is
    # as large as the gap between strong and boss.
    "boss": {"features": "selected", "k_features": 32, "scale": True, "hidden_layers": (32, 16),
             "linear_skip": True, "predict_change": True, "optimizer": "adamw",
             "learning_rate": 3e-4, "weight_decay": 0.1, "batch_size": 64, "n_epochs": 1000,
             "early_stop": 100, "split": "time", "seeds": (5201314, 1, 2, 3, 4)},
    "smoke": {"n_epochs": 3, "early_stop": 2},
}


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
    if cfg.features != "selected":
        raise ValueError(f"features must be 'all' or 'selected', got {cfg.features!r}")
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


class Standardizer:
    """Per-column mean/std fitted on training rows; constant columns are left unscaled."""

    def __init__(self, x: np.ndarray) -> None:
        self.mean, std = x.mean(axis=0), x.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std


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
class Run:
    """What :func:`train_ensemble` returns."""

    columns: list[str]
    baseline_column: str | None  # the model predicts y minus this column, when set
    valid_mask: np.ndarray
    models: list[nn.Module]
    histories: list[History]
    scaler: Standardizer | None
    valid_pred: np.ndarray  # ensemble mean on the validation rows
    valid_true: np.ndarray
    valid_mse: float
    member_mse: list[float] = field(default_factory=list)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """[N] ensemble-mean prediction for rows that have ``self.columns``."""
        x = frame[self.columns].to_numpy(dtype=np.float64)
        if self.scaler is not None:
            x = self.scaler(x)
        xt = torch.tensor(x, dtype=torch.float32)
        with torch.no_grad():
            preds = [m.eval()(xt).squeeze(1).numpy() for m in self.models]
        offset = frame[self.baseline_column].to_numpy() if self.baseline_column else 0.0
        return np.mean(preds, axis=0) + offset


def train_ensemble(cfg: Config, train: CovidTable, progress: bool = False,
                   device: str | torch.device = "cpu") -> Run:
    """Split, select features, scale, and train one model per seed; score the mean."""
    valid = validation_mask(cfg, train)
    train_rows = np.flatnonzero(~valid)
    columns = input_columns(cfg, train, train_rows)
    x = train.frame[columns].to_numpy(dtype=np.float64)
    y = train.frame[train.target_column].to_numpy(dtype=np.float64)
    # The last day whose tested_positive is an input: the persistence forecast.
    baseline = f"tested_positive_d{train.n_days - 1}" if cfg.predict_change else None
    target = y - train.frame[baseline].to_numpy() if baseline else y
    scaler = Standardizer(x[~valid]) if cfg.scale else None
    if scaler is not None:
        x = scaler(x)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(target, dtype=torch.float32)[:, None]
    valid_loader = TensorBatches(xt[valid], yt[valid], batch_size=1024)

    models, histories, member_mse = [], [], []
    for seed in cfg.ensemble_seeds:
        set_seed(seed)
        model = Regressor(len(columns), cfg.hidden_layers, cfg.linear_skip)
        history = fit(model, TensorBatches(xt[~valid], yt[~valid], batch_size=cfg.batch_size,
                                           shuffle=True, seed=seed),
                      valid_loader, optimizer=make_optimizer(cfg, model), n_epochs=cfg.n_epochs,
                      early_stop=cfg.early_stop, device=device, progress=progress,
                      config={"seed": seed, **cfg.__dict__})
        models.append(model.cpu())
        histories.append(history)
        member_mse.append(history.best_score)
    run = Run(columns, baseline, valid, models, histories, scaler, np.empty(0), y[valid], float("nan"),
              member_mse)
    run.valid_pred = run.predict(train.frame[valid])
    run.valid_mse = float(np.mean((run.valid_pred - run.valid_true) ** 2))
    return run


def reference_scores(train: CovidTable, valid_mask: np.ndarray, columns: list[str]) -> dict[str, float]:
    """Validation MSE of two models any network should beat, on the same split:
    persistence (the last known day's tested_positive) and ridge regression on ``columns``
    (standardised on training rows, alpha by cross-validation on training rows)."""
    from sklearn.linear_model import RidgeCV

    y = train.frame[train.target_column].to_numpy(dtype=np.float64)
    last = train.frame[f"tested_positive_d{train.n_days - 1}"].to_numpy(dtype=np.float64)
    x = train.frame[columns].to_numpy(dtype=np.float64)
    x = Standardizer(x[~valid_mask])(x)
    ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(x[~valid_mask], y[~valid_mask])
    return {
        "persistence": float(np.mean((last[valid_mask] - y[valid_mask]) ** 2)),
        "ridge": float(np.mean((ridge.predict(x[valid_mask]) - y[valid_mask]) ** 2)),
    }
