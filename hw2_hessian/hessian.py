"""HW2-2 Hessian: the course's procedure (without autograd-lib), the exact Hessian, Hessian-vector
products and Lanczos for models far too large for a dense Hessian.

Everything works on a model, a loss and one full batch; shapes: x [N, d_in], y [N, d_out],
P = number of parameters.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from common.datasets.sinc import FILE_NAME, N_ENTRIES, CheckpointFormatError, SincCheckpoint


def entry_index(student_id: str) -> int:
    """The course's rule: the last character of the student id if it is a digit, else ord(c) % 10."""
    if not student_id:
        raise ValueError("student_id is empty; the entry is chosen by its last character")
    c = student_id[-1]
    return int(c) if c.isdigit() else ord(c) % 10


def entry_for_student(checkpoints: list[SincCheckpoint], student_id: str,
                      path: str | os.PathLike = FILE_NAME) -> int:
    """The index of ``student_id``'s entry, checked against the number of entries in ``path``."""
    i = entry_index(student_id)
    if i >= len(checkpoints):
        raise CheckpointFormatError(
            f"{path}: has {len(checkpoints)} entries, but student id {student_id!r} selects entry "
            f"{i} (the real file has {N_ENTRIES}); use the course's data.pth or another id")
    return i


# --- configuration (the notebook's presets) ---------------------------------------------------

@dataclass
class Config:
    """Notebook settings. HW2-2 trains nothing, so the presets choose how far past the course's
    procedure the notebook goes (see PRESETS)."""

    preset: str = "boss"
    smoke: bool = False
    seed: int = 0
    student_id: str = "b09901000"  # the last character picks the entry (0 here)
    exact_hessian: bool = True  # exact 385 x 385 Hessian of the chosen entry, plots
    all_entries: bool = True  # both procedures side by side for all 10 entries
    lanczos_toy: bool = True  # HVP + Lanczos on the toy, checked against the dense spectrum
    lanczos_big: bool = True  # HVP + Lanczos on a ~1M-parameter model
    big_hidden: int = 1000  # wide_mlp(1000, depth 2): 1,004,001 parameters
    big_depth: int = 2
    big_samples: int = 512
    batch_size: int = 64
    n_epochs: int = 30
    learning_rate: float = 1e-3
    lanczos_steps: int = 40


PRESETS: dict[str, dict] = {
    "simple": dict(exact_hessian=False, all_entries=False, lanczos_toy=False, lanczos_big=False),
    "medium": dict(lanczos_toy=False, lanczos_big=False),
    "strong": dict(lanczos_big=False),
    "boss": {},
    "smoke": dict(big_hidden=64, big_samples=64, n_epochs=2, lanczos_steps=15),
}

GRAD_TOL = 1e-3  # the course's "gradient is (almost) zero" threshold
RATIO_TOL = 0.5  # the course's minimum-ratio threshold
EIG_RTOL = 1e-6  # exact Hessian: an eigenvalue counts as negative below -EIG_RTOL * max|eig|

LOCAL_MIN, SADDLE, NONE = "local minima like", "saddle point", "none of the above"


def mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """nn.MSELoss() (mean over all elements), the course's criterion."""
    return ((model(x) - y) ** 2).mean()


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


# --- the course's procedure -----------------------------------------------------------------

def gradient_norm(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean over the Linear layers of ||dL/dW||_2 (weights only, biases excluded), after one
    full-batch MSE backward: the official ``compute_gradient_norm``."""
    weights = [m.weight for m in linear_layers(model)]
    grads = torch.autograd.grad(mse(model, x, y), weights)
    return float(np.mean([g.norm(2).item() for g in grads]))


def gauss_newton_blocks(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Per Linear layer (in forward order), the weight block the official hooks accumulated:
    sum over samples n of vec(B_n A_n^T) vec(B_n A_n^T)^T, shape [out*in, out*in].

    A_n [in] is the layer's input and B_n [out] the derivative of the network output w.r.t. the
    layer's output, i.e. what autograd-lib's ``backward_hessian(output, loss='LeastSquares')``
    backpropagated (the identity square root of the squared loss's output Hessian, one backward
    per output unit). This is the Gauss-Newton matrix J^T J of the weights; MSELoss's factor 2/N
    is missing, which rescales the eigenvalues but never changes their signs.
    """
    acts: dict[nn.Module, torch.Tensor] = {}
    outs: dict[nn.Module, torch.Tensor] = {}

    def keep(layer: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        acts[layer], outs[layer] = inputs[0].detach(), output

    layers = linear_layers(model)
    handles = [m.register_forward_hook(keep) for m in layers]
    try:
        out = model(x)
    finally:
        for h in handles:
            h.remove()
    blocks: list[torch.Tensor | float] = [0.0] * len(layers)
    for k in range(out.shape[1]):  # one backward per output unit, as backward_hessian did
        seed = torch.zeros_like(out)
        seed[:, k] = 1
        backprops = torch.autograd.grad(out, [outs[m] for m in layers], grad_outputs=seed,
                                        retain_graph=True)
        for j, (m, b) in enumerate(zip(layers, backprops)):
            ba = torch.einsum("nl,ni->nli", b, acts[m])  # per-sample weight Jacobian [N, out, in]
            blocks[j] = blocks[j] + torch.einsum("nli,nkj->likj", ba, ba)
    # [out, in, out, in] -> [out*in, out*in], row-major like the official reshape
    return [h.detach().reshape(h.shape[0] * h.shape[1], -1) for h in blocks]


def minimum_ratio(model: nn.Module, x: torch.Tensor, dtype: torch.dtype | None = None) -> float:
    """Mean over the Linear layers of the fraction of positive eigenvalues of the layer's
    Gauss-Newton block (the official ``compute_minimum_ratio``; ``torch.symeig`` -> ``eigvalsh``).

    The block is PSD with rank <= N, so all but <= N of its eigenvalues are zero up to round-off:
    the result mostly counts the signs of round-off (float32 by default, as the official code).
    """
    if dtype is not None:  # build the blocks in that precision, not just their eigenvalues
        model, x = copy.deepcopy(model).to(dtype), x.to(dtype)
    ratios = []
    for h in gauss_newton_blocks(model, x):
        eig = symmetric_eigenvalues(h)
        ratios.append(int((eig > 0).sum()) / len(eig))
    return float(np.mean(ratios))


def symmetric_eigenvalues(h: torch.Tensor) -> np.ndarray:
    """Eigenvalues of a symmetric [n, n] matrix (lower triangle read) with LAPACK ``?syev``, the
    routine behind the removed ``torch.symeig``, in h's precision.

    Not ``torch.linalg.eigvalsh`` (``?syevd``): on these rank-deficient float32 blocks it can
    stop with "failed to converge" (it does on one of the real file's entries; which one depends
    on the thread count).
    """
    from scipy.linalg import eigh

    return eigh(h.cpu().numpy(), lower=True, eigvals_only=True, driver="ev")


def course_verdict(grad_norm: float, ratio: float) -> str:
    """The course's thresholds: gradient < 1e-3, then minimum ratio > 0.5 -> local minima like."""
    if grad_norm < GRAD_TOL:
        return LOCAL_MIN if ratio > RATIO_TOL else SADDLE
    return NONE


# --- exact Hessian --------------------------------------------------------------------------

def flat_params(model: nn.Module) -> torch.Tensor:
    """[P] all parameters concatenated in ``model.parameters()`` order."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def loss_of_flat(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 loss: Callable[..., torch.Tensor] = mse) -> Callable[[torch.Tensor], torch.Tensor]:
    """theta [P] -> loss, a pure function for torch.func (the model's own weights are untouched)."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    sizes = [s.numel() for s in shapes]

    def f(theta: torch.Tensor) -> torch.Tensor:
        chunks = theta.split(sizes)
        params = {n: c.view(s) for n, c, s in zip(names, chunks, shapes)}
        return loss(lambda inp: torch.func.functional_call(model, params, (inp,)), x, y)

    return f


def exact_hessian(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                  dtype: torch.dtype = torch.float64, chunk: int = 512,
                  loss: Callable[..., torch.Tensor] = mse) -> torch.Tensor:
    """[P, P] Hessian of the full-batch loss w.r.t. all parameters by double backward.

    One reverse pass with ``create_graph=True`` gives the gradient g(theta); then row i of H
    is the gradient of g_i, computed for ``chunk`` rows at a time with a batched backward.
    Computed in ``dtype`` (float64 by default) on a copy of the model.
    """
    m = copy.deepcopy(model).to(dtype)
    params = list(m.parameters())
    g = torch.autograd.grad(loss(m, x.to(dtype), y.to(dtype)), params, create_graph=True)
    g = torch.cat([t.reshape(-1) for t in g])
    n = g.numel()
    hess = torch.zeros(n, n, dtype=dtype)
    for start in range(0, n, chunk):
        rows = torch.arange(start, min(start + chunk, n))
        seeds = torch.zeros(len(rows), n, dtype=dtype)
        seeds[torch.arange(len(rows)), rows] = 1  # the unit vectors e_start .. e_(start+chunk-1)
        hs = torch.autograd.grad(g, params, grad_outputs=seeds, retain_graph=True,
                                 is_grads_batched=True, allow_unused=True)
        col = 0
        for h, p in zip(hs, params):
            if h is not None:  # None: g does not depend on p (e.g. a last-layer bias)
                hess[rows, col:col + p.numel()] = h.reshape(len(rows), -1)
            col += p.numel()
    return hess


def hessian_verdict(grad_norm: float, eigenvalues: torch.Tensor, rtol: float = EIG_RTOL) -> str:
    """Same gradient test as the course; then any eigenvalue < -rtol * max|eig| -> saddle point,
    otherwise (positive semi-definite up to round-off) local minima like."""
    if grad_norm >= GRAD_TOL:
        return NONE
    return SADDLE if n_negative(eigenvalues, rtol) > 0 else LOCAL_MIN


def n_negative(eigenvalues: torch.Tensor, rtol: float = EIG_RTOL) -> int:
    return int((eigenvalues < -rtol * eigenvalues.abs().max()).sum())


def n_positive(eigenvalues: torch.Tensor, rtol: float = EIG_RTOL) -> int:
    return int((eigenvalues > rtol * eigenvalues.abs().max()).sum())


# --- Hessian-vector products and Lanczos ----------------------------------------------------

def make_hvp(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
             loss: Callable[..., torch.Tensor] = mse) -> Callable[[torch.Tensor], torch.Tensor]:
    """v [P] -> H v [P] at the model's current weights, without forming H.

    The gradient graph is built once (``create_graph=True``); each product is one extra
    backward through it (Pearlmutter's trick): cost ~ 2-3 gradient evaluations, memory O(P).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    g = torch.autograd.grad(loss(model, x, y), params, create_graph=True)
    g = torch.cat([t.reshape(-1) for t in g])

    def hvp(v: torch.Tensor) -> torch.Tensor:
        hv = torch.autograd.grad(g, params, grad_outputs=v.to(g.dtype), retain_graph=True)
        return torch.cat([t.reshape(-1) for t in hv])

    return hvp


@dataclass
class LanczosResult:
    """Ritz values [m] (ascending) and, if asked for, Ritz vectors [P, m] of the Krylov space."""

    values: torch.Tensor
    vectors: torch.Tensor | None
    n_matvec: int
    alphas: list[float]
    betas: list[float]

    def extremes_per_step(self) -> tuple[np.ndarray, np.ndarray]:
        """(smallest, largest) Ritz value after each step k = 1..n_matvec, [n_matvec] each."""
        lo, hi = [], []
        for k in range(1, self.n_matvec + 1):
            theta = torch.linalg.eigvalsh(_tridiagonal(self.alphas[:k], self.betas[:k - 1]))
            lo.append(float(theta[0]))
            hi.append(float(theta[-1]))
        return np.array(lo), np.array(hi)


def _tridiagonal(alphas: Sequence[float], betas: Sequence[float]) -> torch.Tensor:
    t = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if len(betas):
        off = torch.tensor(betas, dtype=torch.float64)
        t += torch.diag(off, 1) + torch.diag(off, -1)
    return t


def lanczos(matvec: Callable[[torch.Tensor], torch.Tensor], n: int, m: int = 60, *,
            seed: int = 0, dtype: torch.dtype = torch.float32, vectors: bool = False) -> LanczosResult:
    """m steps of Lanczos with full re-orthogonalisation on a symmetric operator of size n.

    The extreme Ritz values converge first, so a few dozen products give the largest and the
    most negative eigenvalue of a Hessian with millions of parameters. The basis is stored in
    ``dtype`` ([m, n]: 4 MB per step at n = 1M in float32); the tridiagonal problem is solved
    in float64.
    """
    m = min(m, n)
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(n, generator=g, dtype=torch.float64).to(dtype)
    q /= q.norm()
    basis = torch.empty(m, n, dtype=dtype)
    alphas, betas = [], []
    k = 0
    for k in range(m):
        basis[k] = q
        w = matvec(q).to(dtype)
        alpha = float(torch.dot(w, q))
        alphas.append(alpha)
        # two passes of classical Gram-Schmidt against the whole basis: without them the Ritz
        # values of a long run duplicate ("ghost" eigenvalues).
        for _ in range(2):
            w -= basis[:k + 1].T @ (basis[:k + 1] @ w)
        beta = float(w.norm())
        if k == m - 1 or beta < 1e-10 * max(1.0, abs(alpha)):
            break
        betas.append(beta)
        q = w / beta
    betas = betas[:len(alphas) - 1]
    theta, s = torch.linalg.eigh(_tridiagonal(alphas, betas))
    vecs = basis[:len(alphas)].T.double() @ s if vectors else None
    return LanczosResult(theta, vecs, len(alphas), alphas, betas)


# --- analysis of checkpoints ----------------------------------------------------------------

@dataclass
class EntryReport:
    """Both procedures' numbers for one checkpoint."""

    index: int
    loss: float
    grad_norm: float  # the course's: mean weight-gradient norm over the Linear layers
    grad_norm_all: float  # L2 norm of the gradient w.r.t. all P parameters (float64)
    minimum_ratio: float
    course_verdict: str
    eig_min: float
    eig_max: float
    n_negative: int
    n_positive: int
    n_params: int
    hessian_verdict: str

    @property
    def agree(self) -> bool:
        return self.course_verdict == self.hessian_verdict


def analyse(ckpt: SincCheckpoint, index: int = -1) -> tuple[EntryReport, torch.Tensor, torch.Tensor]:
    """Course procedure in float32 (as the official notebook), exact Hessian in float64.

    Returns the report, the Hessian's eigenvalues [P] (ascending) and eigenvectors [P, P].
    """
    model = ckpt.model(torch.float32)
    grad = gradient_norm(model, ckpt.x, ckpt.y)
    ratio = minimum_ratio(model, ckpt.x)
    m64 = ckpt.model(torch.float64)
    x64, y64 = ckpt.x.double(), ckpt.y.double()
    h = exact_hessian(m64, x64, y64)
    evals, evecs = torch.linalg.eigh(0.5 * (h + h.T))
    g_all = torch.autograd.grad(mse(m64, x64, y64), list(m64.parameters()))
    report = EntryReport(
        index=index, loss=mse(m64, x64, y64).item(), grad_norm=grad,
        grad_norm_all=float(torch.cat([t.reshape(-1) for t in g_all]).norm()),
        minimum_ratio=ratio, course_verdict=course_verdict(grad, ratio),
        eig_min=float(evals[0]), eig_max=float(evals[-1]), n_negative=n_negative(evals),
        n_positive=n_positive(evals), n_params=len(evals),
        hessian_verdict=hessian_verdict(grad, evals))
    return report, evals, evecs


@dataclass
class AffineRegime:
    """The 1-hidden-layer ReLU net on one entry's points, when no ReLU kink lies among them."""

    constant_pattern: bool  # every hidden unit is active on all points or on none
    n_active: int
    linear_fit_mse: float  # the lowest loss reachable without moving a kink into the data
    closed_form_eig: float  # -sqrt(alpha^2 + beta^2), the Hessian's smallest eigenvalue
    alpha: float  # (2/N) sum_n r_n x_n
    beta: float  # (2/N) sum_n r_n = dL/d(output bias)


def affine_regime(ckpt: SincCheckpoint) -> AffineRegime:
    """Closed form of the negative curvature of a ``MathRegressor`` checkpoint (float64).

    If no hidden unit changes its ReLU state across the N points, the net is affine on them,
    f(x) = sum_j v_j (w_j x + c_j) + b. The residual part of the Hessian,
    (2/N) sum_n r_n d^2 f_n, then only couples each active unit's (w_j, c_j) to its v_j with the
    same numbers alpha = (2/N) sum r_n x_n and beta = (2/N) sum r_n for every unit; each such 3x3
    block has eigenvalues +-sqrt(alpha^2 + beta^2) and 0. The Gauss-Newton part has rank <= 2
    (J_n is affine in x_n) and is PSD, so with >= 3 active units the smallest Hessian eigenvalue
    is exactly -sqrt(alpha^2 + beta^2). Since beta = dL/db and alpha = (dL/dw_j) / v_j, it
    vanishes together with the gradient: here negative curvature is a first-order effect of not
    being at a critical point.
    """
    m = ckpt.model(torch.float64)
    x, y = ckpt.x.double(), ckpt.y.double()
    z = x @ m.regressor[0].weight.detach().T + m.regressor[0].bias.detach()  # [N, h]
    active, inactive = (z > 0).all(0), (z <= 0).all(0)
    with torch.no_grad():
        r = (m(x) - y).flatten()
    n = len(r)
    alpha = float(2 / n * (r * x.flatten()).sum())
    beta = float(2 / n * r.sum())
    design = torch.cat([x, torch.ones_like(x)], 1)
    fit = torch.linalg.lstsq(design, y).solution
    return AffineRegime(bool((active | inactive).all()), int(active.sum()),
                        float(((design @ fit - y) ** 2).mean()), -math.hypot(alpha, beta), alpha, beta)


def loss_along(model: nn.Module, x: torch.Tensor, y: torch.Tensor, direction: torch.Tensor,
               alphas: Sequence[float]) -> np.ndarray:
    """Loss at theta + alpha * direction for each alpha (direction [P], unit norm recommended)."""
    f = loss_of_flat(model, x, y)
    theta = flat_params(model).to(direction.dtype)
    with torch.no_grad():
        return np.array([float(f(theta + a * direction)) for a in alphas])


# --- beyond the toy: a ~1M-parameter sinc regressor -----------------------------------------

def wide_mlp(hidden: int, depth: int = 2) -> nn.Sequential:
    """``Linear(1, h) -> ReLU -> (Linear(h, h) -> ReLU) * (depth-1) -> Linear(h, 1)``;
    hidden = 1000, depth = 2 has 1,004,001 parameters."""
    layers: list[nn.Module] = [nn.Linear(1, hidden), nn.ReLU()]
    for _ in range(depth - 1):
        layers += [nn.Linear(hidden, hidden), nn.ReLU()]
    layers.append(nn.Linear(hidden, 1))
    return nn.Sequential(*layers)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def sinc_batch(n: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """n points x ~ U(0.05, 1) with targets sin(5 pi x) / (5 pi x): x, y [n, 1]."""
    g = torch.Generator().manual_seed(seed)
    x = 0.05 + 0.95 * torch.rand(n, 1, generator=g, dtype=torch.float64)
    return x.to(dtype), (torch.sin(5 * math.pi * x) / (5 * math.pi * x)).to(dtype)
