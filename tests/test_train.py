import copy

import pytest
import torch
from torch import nn

from common.seed import set_seed
from common.train import NonFiniteLossError, TensorBatches, evaluate, fit, long_run_warning


def _problem(seed=0, n=203):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.1 * torch.randn(n, generator=g)
    return x, y.unsqueeze(1)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 1))

    def forward(self, x):
        return self.net(x)


def _setup(seed=0):
    set_seed(seed)
    model = Mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    x, y = _problem()
    train = TensorBatches(x[:150], y[:150], batch_size=32, shuffle=True, seed=seed)
    valid = TensorBatches(x[150:], y[150:], batch_size=16)
    return model, opt, sched, train, valid


def test_evaluate_is_sample_weighted_not_batch_mean():
    x, y = _problem(n=33)  # batches of 16, 16, 1: a batch-mean average would over-weight the last
    model = Mlp().eval()
    got = evaluate(model, TensorBatches(x, y, batch_size=16), nn.MSELoss())["loss"]
    with torch.no_grad():
        exact = nn.functional.mse_loss(model(x), y).item()
    assert got == pytest.approx(exact, rel=1e-6)


def test_fit_returns_best_weights_not_last(tmp_path):
    model, opt, sched, train, valid = _setup()
    history = fit(model, train, valid, optimizer=opt, scheduler=sched, n_epochs=40,
                  device="cpu", progress=False)
    assert history.best_epoch >= 0
    assert min(history.valid_metric) == history.best_score
    rescored = evaluate(model, valid, nn.MSELoss())["loss"]
    assert rescored == pytest.approx(history.best_score, rel=1e-6)
    assert history.valid_metric[-1] != history.best_score or history.best_epoch == 39


def test_best_state_is_a_copy_not_a_reference():
    model, _, _, train, valid = _setup()
    # lr so large that later epochs are worse than the first: the kept weights must be old ones
    opt = torch.optim.SGD(model.parameters(), lr=0.3)  # best at epoch 1 of 6, never non-finite
    history = fit(model, train, valid, optimizer=opt, n_epochs=6, device="cpu", progress=False)
    assert history.best_epoch < 5
    assert history.best_score == pytest.approx(evaluate(model, valid, nn.MSELoss())["loss"], rel=1e-6)


def test_early_stopping_stops():
    model, _, _, train, valid = _setup()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # nothing ever improves after epoch 0
    history = fit(model, train, valid, optimizer=opt, n_epochs=50, early_stop=3, device="cpu",
                  progress=False)
    assert history.stopped_early and len(history.train_loss) == 4 and history.best_epoch == 0


def test_resume_matches_uninterrupted_run(tmp_path):
    model, opt, sched, train, valid = _setup()
    straight = fit(model, train, valid, optimizer=opt, scheduler=sched, n_epochs=12,
                   device="cpu", progress=False)
    expected = copy.deepcopy(model.state_dict())

    ckpt = tmp_path / "run.ckpt"
    model, opt, sched, train, valid = _setup()
    fit(model, train, valid, optimizer=opt, scheduler=sched, n_epochs=5, checkpoint_path=ckpt,
        device="cpu", progress=False)  # "Colab disconnects" after 5 epochs
    torch.manual_seed(999)  # a fresh kernel has other RNG state
    model, opt, sched, train, valid = _setup(seed=0)
    torch.manual_seed(12345)
    resumed = fit(model, train, valid, optimizer=opt, scheduler=sched, n_epochs=12,
                  checkpoint_path=ckpt, resume=True, device="cpu", progress=False)
    assert resumed.valid_metric == straight.valid_metric
    assert resumed.best_epoch == straight.best_epoch
    for k, v in expected.items():
        assert torch.equal(model.state_dict()[k], v), k


def test_accuracy_metric_for_classification():
    set_seed(0)
    x = torch.randn(300, 4)
    y = (x[:, 0] > 0).long()
    model = nn.Linear(4, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    h = fit(model, TensorBatches(x[:200], y[:200], batch_size=50, shuffle=True),
            TensorBatches(x[200:], y[200:], batch_size=64), optimizer=opt, n_epochs=20,
            criterion=nn.CrossEntropyLoss(), metric="accuracy", device="cpu", progress=False)
    assert h.best_score > 0.9
    assert h.best_score == max(h.valid_metric)


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path):
    model, opt, sched, train, valid = _setup()
    fit(model, train, valid, optimizer=opt, n_epochs=1, checkpoint_path=tmp_path / "c.ckpt",
        config={"lr": 0.05}, device="cpu", progress=False)
    with pytest.raises(ValueError, match="c.ckpt: written by a run with another config"):
        fit(model, train, valid, optimizer=opt, n_epochs=2, checkpoint_path=tmp_path / "c.ckpt",
            config={"lr": 0.1}, resume=True, device="cpu", progress=False)


def test_non_finite_loss_stops_with_epoch_and_batch(tmp_path):
    model, opt, _, _, valid = _setup()
    x, y = _problem()
    x[70, 2] = float("nan")  # one bad value in the third batch of 32
    train = TensorBatches(x[:150], y[:150], batch_size=32)
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, batch 3"):
        fit(model, train, valid, optimizer=opt, n_epochs=2, checkpoint_path=ckpt, progress=False)
    assert not ckpt.exists()  # no epoch finished, so no checkpoint was written


def test_long_run_warning_estimates_the_remaining_time(capsys):
    assert long_run_warning(10.0, 300, torch.device("cpu")) is None  # 50 minutes: no warning
    message = long_run_warning(20.0, 360, torch.device("cpu"))
    assert "about 2.0 h on cpu" in message and message in capsys.readouterr().err


def test_resuming_a_run_that_stopped_early_trains_no_more(tmp_path):
    model, _, _, train, valid = _setup()
    ckpt = tmp_path / "run.ckpt"
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # nothing improves: stops after epoch 4
    done = fit(model, train, valid, optimizer=opt, n_epochs=50, early_stop=3, checkpoint_path=ckpt,
               device="cpu", progress=False)
    model, _, _, train, valid = _setup()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    again = fit(model, train, valid, optimizer=opt, n_epochs=50, early_stop=3, checkpoint_path=ckpt,
                resume=True, device="cpu", progress=False)
    assert done.stopped_early and len(again.train_loss) == len(done.train_loss) == 4
