"""HW2-2 Hessian: the exact Hessian against torch.func and finite differences, Lanczos against a
dense eigendecomposition, the course procedure against a straightforward re-implementation on
the real checkpoints, the data.pth loader and the synthetic writer."""

from __future__ import annotations

import zipfile
from collections.abc import Callable

import numpy as np
import pytest
import torch
from scipy.sparse.linalg import LinearOperator, eigsh
from torch import nn

from common.data import FORMATS, resolve_data_dir
from common.datasets.sinc import (
    CheckpointFormatError,
    MathRegressor,
    load_checkpoints,
    sinc,
    train_sinc_checkpoint,
    write_synthetic,
)
from common.datasets.sinc.load import REAL_X0
from common.fetch import sha256sum
from hw2_hessian.hessian import (
    SADDLE,
    affine_regime,
    analyse,
    course_verdict,
    entry_index,
    exact_hessian,
    flat_params,
    gauss_newton_blocks,
    gradient_norm,
    hessian_verdict,
    lanczos,
    loss_of_flat,
    make_hvp,
    minimum_ratio,
    mse,
)


def eigsh_extremes(matvec: Callable[[torch.Tensor], torch.Tensor], n: int, k: int = 1,
                   tol: float = 1e-6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Reference for :func:`lanczos`: (k smallest algebraic, k largest) eigenvalues with scipy's
    ARPACK ``eigsh`` on a ``LinearOperator`` wrapping ``matvec`` (float64 numpy <-> torch)."""
    dtype = torch.float64

    def mv(v: np.ndarray) -> np.ndarray:
        return matvec(torch.from_numpy(np.ascontiguousarray(v).reshape(-1)).to(dtype)).double().numpy()

    op = LinearOperator((n, n), matvec=mv, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(n)
    lo = eigsh(op, k=k, which="SA", tol=tol, v0=v0, return_eigenvectors=False)
    hi = eigsh(op, k=k, which="LA", tol=tol, v0=v0, return_eigenvectors=False)
    return np.sort(lo), np.sort(hi)


def _mlp(sizes, act, seed):
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers[:-1]).double()


def _problem(sizes, seed, n=7):
    g = torch.Generator().manual_seed(seed + 100)
    return (torch.randn(n, sizes[0], generator=g, dtype=torch.float64),
            torch.randn(n, sizes[-1], generator=g, dtype=torch.float64))


def _rel(a, b):
    return float(((a - b).norm() / b.norm()).detach())


CASES = [((1, 8, 1), nn.ReLU, 0), ((3, 5, 2), nn.Tanh, 1), ((2, 4, 4, 1), nn.ReLU, 2),
         ((1, 128, 1), nn.ReLU, 3)]


@pytest.mark.parametrize("sizes,act,seed", CASES)
def test_exact_hessian_matches_torch_func_hessian(sizes, act, seed):
    model = _mlp(sizes, act, seed)
    x, y = _problem(sizes, seed)
    h = exact_hessian(model, x, y, chunk=17)  # chunk smaller than P: exercises the batching
    ref = torch.func.hessian(loss_of_flat(model, x, y))(flat_params(model))
    assert h.shape == ref.shape == (flat_params(model).numel(),) * 2
    assert _rel(h, ref) < 1e-10  # both are exact up to float64 round-off
    assert _rel(h, h.T) < 1e-12


@pytest.mark.parametrize("sizes,act,seed", CASES[:3])
def test_exact_hessian_matches_central_finite_differences(sizes, act, seed):
    """4-point central differences of the loss alone (no autograd at all): O(h^2) error."""
    model = _mlp(sizes, act, seed)
    x, y = _problem(sizes, seed)
    f = loss_of_flat(model, x, y)
    theta = flat_params(model)
    n, step = theta.numel(), 1e-4
    eye = torch.eye(n, dtype=torch.float64) * step
    fd = torch.empty(n, n, dtype=torch.float64)
    with torch.no_grad():
        for i in range(n):
            for j in range(i, n):
                fd[i, j] = fd[j, i] = (f(theta + eye[i] + eye[j]) - f(theta + eye[i] - eye[j])
                                       - f(theta - eye[i] + eye[j]) + f(theta - eye[i] - eye[j])
                                       ) / (4 * step * step)
    assert _rel(exact_hessian(model, x, y), fd) < 1e-4


class _Quadratic(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.theta = nn.Parameter(torch.randn(n, dtype=torch.float64))


def _quadratic_case(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    eig = torch.linspace(-3, 10, n, dtype=torch.float64)
    a = q @ torch.diag(eig) @ q.T
    b = torch.randn(n, generator=g, dtype=torch.float64)

    def loss(m, x, y):  # 0.5 theta^T A theta + b^T theta: Hessian A everywhere
        return 0.5 * m.theta @ a @ m.theta + b @ m.theta

    return _Quadratic(n), loss, a, eig


def test_quadratic_with_known_hessian():
    model, loss, a, eig = _quadratic_case()
    unused = torch.zeros(1)  # the quadratic reads no data
    h = exact_hessian(model, unused, unused, loss=loss)
    assert _rel(h, a) < 1e-12
    hvp = make_hvp(model, unused, unused, loss=loss)
    v = torch.randn(40, dtype=torch.float64)
    assert _rel(hvp(v), a @ v) < 1e-12
    res = lanczos(hvp, 40, m=40, dtype=torch.float64, vectors=True)
    assert res.values[0] == pytest.approx(-3, abs=1e-9)
    assert res.values[-1] == pytest.approx(10, abs=1e-9)
    top = res.vectors[:, -1]
    assert _rel(a @ top, 10 * top) < 1e-8  # a Ritz vector is an eigenvector at convergence


def test_lanczos_extremes_match_dense_eigvalsh():
    """A ReLU MLP on sinc data with 337 parameters: 60 Lanczos steps vs the full spectrum."""
    model = _mlp((1, 48, 4, 1), nn.ReLU, 5)
    x = torch.linspace(0.05, 1, 40, dtype=torch.float64).unsqueeze(1)
    y = sinc(x)
    dense = torch.linalg.eigvalsh(exact_hessian(model, x, y))
    hvp = make_hvp(model, x, y)
    n = flat_params(model).numel()
    res = lanczos(hvp, n, m=60, dtype=torch.float64)
    scale = float(dense.abs().max())
    assert abs(res.values[-1] - dense[-1]) < 1e-8 * scale
    assert abs(res.values[0] - dense[0]) < 1e-6 * scale
    assert dense[0] < -1e-4 * scale  # the test has teeth: a clearly indefinite Hessian
    lo, hi = eigsh_extremes(hvp, n, k=2)
    np.testing.assert_allclose(hi, dense[-2:].numpy(), rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(lo, dense[:2].numpy(), rtol=0, atol=1e-6 * scale)


def test_lanczos_float32_basis_is_close_enough():
    model = _mlp((1, 48, 4, 1), nn.ReLU, 5).float()
    x = torch.linspace(0.05, 1, 40).unsqueeze(1)
    dense = torch.linalg.eigvalsh(exact_hessian(model, x, sinc(x)))
    res = lanczos(make_hvp(model, x, sinc(x)), dense.numel(), m=60)
    assert abs(res.values[-1] - dense[-1]) < 1e-4 * dense.abs().max()


def test_gauss_newton_block_is_j_transpose_j():
    """The hook construction equals J^T J of the per-sample outputs w.r.t. each weight matrix,
    hence PSD with rank <= N (6)."""
    model = MathRegressor(16).double()
    x = torch.linspace(0.3, 0.35, 6, dtype=torch.float64).unsqueeze(1)
    blocks = gauss_newton_blocks(model, x)
    for name, block in zip(("regressor.0.weight", "regressor.2.weight"), blocks):
        def out(w, name=name):  # per-sample network output as a function of one weight matrix
            return torch.func.functional_call(model, {name: w}, (x,)).sum(1)
        weight = model.get_parameter(name).detach()
        jac = torch.func.jacrev(out)(weight).reshape(6, -1)  # [N, out*in], row-major like the block
        assert _rel(block, jac.T @ jac) < 1e-12
        eig = torch.linalg.eigvalsh(block)
        assert eig.min() > -1e-10 * eig.max()
        assert int((eig > 1e-8 * eig.max()).sum()) <= 6


def test_verdict_thresholds():
    assert course_verdict(5e-4, 0.51) == "local minima like"
    assert course_verdict(5e-4, 0.5) == SADDLE
    assert course_verdict(1e-3, 0.9) == "none of the above"
    eig = torch.tensor([-1e-9, 0.0, 1.0])  # below the relative tolerance: not negative curvature
    assert hessian_verdict(1e-4, eig) == "local minima like"
    assert hessian_verdict(1e-4, torch.tensor([-1e-3, 0.0, 1.0])) == SADDLE
    assert hessian_verdict(2e-3, torch.tensor([-1e-3, 0.0, 1.0])) == "none of the above"


def test_student_id_mapping():
    assert entry_index("b09901042") == 2
    assert entry_index("R10942100") == 0
    assert entry_index("r1094210a") == ord("a") % 10 == 7
    assert entry_index("b0990104h") == 4
    with pytest.raises(ValueError, match="empty"):
        entry_index("")


# --- real data.pth ------------------------------------------------------------------------------

@pytest.fixture
def real_file(shared_data):
    path = shared_data / "hw2_hessian" / "data.pth"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


def test_real_file_format_and_mapping(real_file):
    assert sha256sum(real_file) == FORMATS["hw2_2"].files[0].sha256[0]
    ckpts = load_checkpoints(real_file)
    assert len(ckpts) == 10
    for i, c in enumerate(ckpts):
        assert c.x.shape == c.y.shape == (6, 1)
        assert c.x[0, 0].item() == pytest.approx(REAL_X0[i], abs=1e-6)
        torch.testing.assert_close(c.y, sinc(c.x.double()).float(), atol=1e-6, rtol=0)
    # the student-id rule lands on the documented grids: 'h' -> 104 % 10 = 4 -> x from 0.24
    assert ckpts[entry_index("b0990104h")].x[0, 0].item() == pytest.approx(0.24)
    assert ckpts[entry_index("b09901045")].x[0, 0].item() == pytest.approx(0.30)


def test_real_gradient_norms_match_a_straightforward_implementation(real_file):
    """Independent re-implementation of the official compute_gradient_norm: a plain nn.Sequential,
    nn.MSELoss, loss.backward(), the weight .grad of each Linear; relative error < 1e-6."""
    raw = torch.load(real_file, weights_only=True)
    ckpts = load_checkpoints(real_file)
    for i, entry in enumerate(raw):
        net = nn.Sequential(nn.Linear(1, 128), nn.ReLU(), nn.Linear(128, 1))
        net.load_state_dict({k.removeprefix("regressor."): v for k, v in entry["model"].items()})
        x, y = entry["data"]
        nn.MSELoss()(net(x), y).backward()
        expected = (net[0].weight.grad.norm(2).item() + net[2].weight.grad.norm(2).item()) / 2
        got = gradient_norm(ckpts[i].model(), ckpts[i].x, ckpts[i].y)
        assert got == pytest.approx(expected, rel=1e-6), i


def test_real_minimum_ratio_measures_round_off(real_file):
    """On every real entry each 128x128 Gauss-Newton block has at most 6 eigenvalues above
    float64 round-off, so an exact ratio would be <= 6/128; the course's ratios near 0.5 count
    round-off, and they change with the precision."""
    ratios = []
    for c in load_checkpoints(real_file):
        for block in gauss_newton_blocks(c.model(torch.float64), c.x.double()):
            eig = torch.linalg.eigvalsh(block)
            assert int((eig > 1e-10 * eig.max()).sum()) <= 6
        ratios.append((minimum_ratio(c.model(), c.x), minimum_ratio(c.model(), c.x, torch.float64)))
    assert all(r32 > 0.4 for r32, _ in ratios)
    assert any(r32 != r64 for r32, r64 in ratios)


def test_real_negative_curvature_matches_the_closed_form(real_file):
    """Entries whose units never change state on their 6 points: the smallest exact eigenvalue
    is -sqrt(alpha^2 + beta^2) (an independent check of the exact Hessian on real data), and
    beta is the output-bias gradient."""
    checked = 0
    for c in load_checkpoints(real_file):
        regime = affine_regime(c)
        if not regime.constant_pattern:
            continue
        checked += 1
        m = c.model(torch.float64)
        evals = torch.linalg.eigvalsh(exact_hessian(m, c.x.double(), c.y.double()))
        assert float(evals[0]) == pytest.approx(regime.closed_form_eig, rel=1e-8)
        assert regime.n_active >= 3
        grad_b = torch.autograd.grad(mse(m, c.x.double(), c.y.double()), [m.regressor[2].bias])[0]
        assert float(grad_b) == pytest.approx(regime.beta, rel=1e-10)
    assert checked == 7


def test_real_exact_hessian_sees_negative_curvature(real_file):
    """Entry 7 has the smallest gradient: its exact Hessian has clearly negative eigenvalues."""
    report, evals, _ = analyse(load_checkpoints(real_file)[7], 7)
    assert report.n_params == 385 and report.grad_norm < 1e-3
    assert evals[0] < -5e-6 * evals[-1] and report.hessian_verdict == SADDLE


# --- loader errors and synthetic data -------------------------------------------------------------

def test_loader_names_file_and_entry(tmp_path):
    good = {"model": MathRegressor(4).state_dict(),
            "data": (torch.zeros(6, 1), torch.zeros(6, 1))}
    bad = {"model": MathRegressor(4).state_dict(), "data": (torch.zeros(6, 2), torch.zeros(6, 2))}
    path = tmp_path / "data.pth"
    torch.save([good, bad], path)
    with pytest.raises(CheckpointFormatError, match=r"data.pth entry 1: x, y should be float tensors \[N, 1\]"):
        load_checkpoints(path)
    state = dict(good["model"])
    state["regressor.2.weight"] = torch.zeros(2, 4)
    torch.save([{"model": state, "data": good["data"]}], path)
    with pytest.raises(CheckpointFormatError, match="entry 0: regressor.2.weight has shape"):
        load_checkpoints(path)
    path.write_text("<html>Google Drive quota exceeded</html>")
    with pytest.raises(CheckpointFormatError, match=r"data.pth: not a torch.save file .*an HTML page"):
        load_checkpoints(path)
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_checkpoints(tmp_path / "missing.pth")


def test_loader_refuses_foreign_pickled_objects(tmp_path):
    """weights_only=True: a pickle that would construct an arbitrary class is rejected."""
    path = tmp_path / "data.pth"
    torch.save([{"model": {}, "data": zipfile.ZipInfo("x")}], path)
    with pytest.raises(CheckpointFormatError, match="objects other than tensors"):
        load_checkpoints(path)


def test_synthetic_writer_is_deterministic_and_in_format(tmp_path):
    write_synthetic(tmp_path / "a", seed=3, smoke=True)
    write_synthetic(tmp_path / "b", seed=3, smoke=True)
    a, b = load_checkpoints(tmp_path / "a"), load_checkpoints(tmp_path / "b")
    assert len(a) == 10
    for ca, cb, x0 in zip(a, b, REAL_X0):
        assert ca.x[0, 0].item() == pytest.approx(x0)
        for k in ca.state_dict:
            assert torch.equal(ca.state_dict[k], cb.state_dict[k])
    source = resolve_data_dir("hw2_2", "synthetic", smoke=True)
    folder, synthetic = source.folder, source.synthetic
    assert synthetic and len(load_checkpoints(folder)) == 10


def test_gradient_norm_minimisation_reaches_a_critical_point():
    """The lecture's method as the synthetic writer uses it: minimising ||grad||^2 after 30 Adam
    steps drives the course's gradient norm from > 1e-3 to < 1e-5."""
    start = train_sinc_checkpoint(0.30, seed=2, adam_steps=30)
    end = train_sinc_checkpoint(0.30, seed=2, adam_steps=30, gradnorm_steps=500)
    assert gradient_norm(start.model(), start.x, start.y) > 1e-3
    assert gradient_norm(end.model(), end.x, end.y) < 1e-5


def test_loss_helper_matches_mse():
    model = MathRegressor(8).double()
    x = torch.rand(6, 1, dtype=torch.float64)
    y = sinc(x)
    assert loss_of_flat(model, x, y)(flat_params(model)).item() == pytest.approx(
        nn.MSELoss()(model(x), y).item(), rel=1e-14)
    assert mse(model, x, y).item() == pytest.approx(nn.MSELoss()(model(x), y).item(), rel=1e-14)
