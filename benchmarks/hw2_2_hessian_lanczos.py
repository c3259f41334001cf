"""HW2-2: extreme Hessian eigenvalues by Lanczos on Hessian-vector products vs the dense Hessian
(double backward + eigvalsh): wall time and peak memory, side by side, at sizes where both fit;
then Lanczos alone on a ~1M-parameter model.

    python benchmarks/hw2_2_hessian_lanczos.py                 # writes benchmarks/RESULTS_hw2_2.md
    python benchmarks/hw2_2_hessian_lanczos.py --quick         # small sizes only, prints the table

Every (model, method) runs in a fresh subprocess (so peak RSS is that method's), with one torch
thread and an address-space cap (``--mem-cap-gb``, default 6) so that a too-large size fails
cleanly instead of pushing a shared machine into swap. Both methods work in float64 on the
full-batch MSE of 128 sinc points, at PyTorch's default initialisation (seed 0).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the repository's packages are importable

from benchmarks.harness import machine, run_child, write_report  # noqa: E402

# (hidden, depth) of wide_mlp: 385, 1537, 4353, 8461 and 1,004,001 parameters
DENSE_SIZES = [(128, 1), (512, 1), (64, 2), (90, 2)]
BIG = (1000, 2)


def _child(method: str, hidden: int, depth: int, steps: int) -> dict:
    import torch

    from hw2_hessian.hessian import exact_hessian, lanczos, make_hvp, n_params, sinc_batch, wide_mlp

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = wide_mlp(hidden, depth).double()
    x, y = sinc_batch(128, seed=0, dtype=torch.float64)
    p = n_params(model)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    if method == "dense":
        evals = torch.linalg.eigvalsh(exact_hessian(model, x, y))
        lo, hi, n_mv = float(evals[0]), float(evals[-1]), p
    else:
        res = lanczos(make_hvp(model, x, y), p, m=steps, dtype=torch.float64)
        lo, hi, n_mv = float(res.values[0]), float(res.values[-1]), res.n_matvec
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"method": method, "hidden": hidden, "depth": depth, "params": p, "seconds": seconds,
            "peak_rss_mb": peak, "extra_rss_mb": peak - base, "eig_min": lo, "eig_max": hi,
            "products": n_mv}


def _run(method: str, hidden: int, depth: int, steps: int, cap_gb: float) -> dict:
    child = run_child(__file__, [method, hidden, depth, "--steps", steps], mem_cap_gb=cap_gb,
                      env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    if not child.ok:
        return {"method": method, "hidden": hidden, "depth": depth, "error": child.error}
    return child.record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "HIDDEN", "DEPTH"), help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=60, help="Lanczos steps (Hessian-vector products)")
    parser.add_argument("--quick", action="store_true", help="the two smallest sizes, no 1M model")
    parser.add_argument("--mem-cap-gb", type=float, default=6.0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS_hw2_2.md"))
    args = parser.parse_args(argv)
    if args.child:
        method, hidden, depth = args.child
        print(json.dumps(_child(method, int(hidden), int(depth), args.steps)))
        return 0

    sizes = DENSE_SIZES[:2] if args.quick else DENSE_SIZES
    rows = []
    for hidden, depth in sizes:
        pair = {m: _run(m, hidden, depth, args.steps, args.mem_cap_gb) for m in ("dense", "lanczos")}
        print(json.dumps(pair), flush=True)
        rows.append(pair)
    big = None if args.quick else _run("lanczos", *BIG, args.steps, args.mem_cap_gb)
    if big:
        print(json.dumps(big), flush=True)

    lines = [
        "# HW2-2 Hessian: Lanczos (Hessian-vector products) vs the dense Hessian",
        "",
        f"Command: `python benchmarks/hw2_2_hessian_lanczos.py{' --quick' if args.quick else ''}"
        f"{'' if args.steps == 60 else f' --steps {args.steps}'}`",
        "",
        f"Machine: {machine()}; one torch thread per run. The machine was shared with other jobs "
        "during the run, so times are noisy; both methods of a row ran back to back.",
        "",
        "Model: `wide_mlp(hidden, depth)` (ReLU MLP, 1 input, 1 output) at its default "
        "initialisation, full-batch MSE on 128 sinc points, float64. Dense = double backward "
        f"for all P rows + `eigvalsh`; Lanczos = {args.steps} Hessian-vector products with full "
        "re-orthogonalisation. Peak RSS is the subprocess's high-water mark; 'extra' is its "
        "growth during the method (the rest is Python + torch + data).",
        "",
        "| P (params) | dense time (s) | Lanczos time (s) | time ratio dense/Lanczos | dense peak RSS (MB) | "
        "Lanczos peak RSS (MB) | dense extra (MB) | Lanczos extra (MB) | extra ratio | "
        "Lanczos error on (min, max) eigenvalue, relative to the largest absolute eigenvalue |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for pair in rows:
        d, lz = pair["dense"], pair["lanczos"]
        if "error" in d or "error" in lz:
            lines.append(f"| {d.get('params', '?')} | {d.get('error', '')} | {lz.get('error', '')} "
                         "| | | | | | | |")
            continue
        scale = max(abs(d["eig_min"]), abs(d["eig_max"]))
        err_lo = abs(lz["eig_min"] - d["eig_min"]) / scale
        err_hi = abs(lz["eig_max"] - d["eig_max"]) / scale
        lines.append(
            f"| {d['params']:,} | {d['seconds']:.2f} | {lz['seconds']:.2f} | "
            f"{d['seconds'] / lz['seconds']:.1f}x | {d['peak_rss_mb']:.0f} | {lz['peak_rss_mb']:.0f} | "
            f"{d['extra_rss_mb']:.0f} | {lz['extra_rss_mb']:.0f} | "
            f"{d['extra_rss_mb'] / max(lz['extra_rss_mb'], 1):.1f}x | {err_lo:.1e}, {err_hi:.1e} |")
    if big is not None:
        lines += ["", "Beyond the dense sizes (Lanczos only; a dense float64 Hessian would need "
                  f"{big.get('params', 0) ** 2 * 8 / 1e12:.1f} TB):", ""]
        if "error" in big:
            lines.append(f"- wide_mlp{BIG}: failed: {big['error']}")
        else:
            lines.append(
                f"- P = {big['params']:,}: {big['products']} Hessian-vector products in "
                f"{big['seconds']:.1f} s, peak RSS {big['peak_rss_mb']:.0f} MB (extra "
                f"{big['extra_rss_mb']:.0f} MB); eigenvalue range [{big['eig_min']:.4g}, "
                f"{big['eig_max']:.4g}]")
    write_report(None if args.quick else args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
