"""Feed every broken input of ``tests/bad_inputs.py`` to the homeworks and tabulate what
happened: the error each one got (does it name the file?), and, for the cases run through a
notebook, whether any earlier output was replaced.

    python benchmarks/bad_inputs.py --out benchmarks/RESULTS_bad_inputs.md
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from bad_inputs import CASES, broken_copy, load_all  # noqa: E402

from benchmarks.harness import write_report  # noqa: E402
from common.reproduce import HOMEWORKS  # noqa: E402


def notebook_run(case, folder: Path, out_dir: Path, work: Path) -> tuple[str, int]:
    """(error, outputs replaced or added) of running the homework's notebook on ``folder``."""
    import papermill as pm

    out_dir.mkdir()
    before = {f"{n}": f"earlier good {n}\n".encode() for n in ("pred.csv", "prediction.csv",
              "submission.csv", "metrics.json", "model.ckpt", "model0.ckpt", "learning_curves.png")}
    for name, content in before.items():
        (out_dir / name).write_bytes(content)
    params = {"smoke": True, "data_source": str(folder), "out_dir": str(out_dir), **case.params}
    try:
        pm.execute_notebook(str(REPO / HOMEWORKS[case.hw].notebook), str(work / "run.ipynb"),
                            parameters=params, kernel_name="python3", cwd=str(REPO),
                            progress_bar=False, extra_arguments=["--IPKernelApp.log_level=ERROR"])
        error = "(no error: the run finished)"
    except pm.PapermillExecutionError as err:
        error = f"{err.ename}: {err.evalue}"
    after = {p.name: p.read_bytes() for p in out_dir.iterdir() if p.is_file()}
    changed = sum(after.get(n) != c for n, c in before.items()) + len(set(after) - set(before))
    return error, changed


def shorten(message: str, tmp: str) -> str:
    first = next((ln for ln in message.splitlines() if ln.strip()), "")
    return re.sub(re.escape(tmp) + r"[^\s:']*/", "", first).replace("|", "\\|")[:170]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=None, help="markdown file for the table")
    args = parser.parse_args()
    rows, named, lost = [], 0, 0
    for case in CASES:
        with tempfile.TemporaryDirectory(prefix="bad-input-") as tmp:
            folder = broken_copy(case, Path(tmp))
            if case.notebook:
                error, changed = notebook_run(case, folder, Path(tmp) / "out", Path(tmp))
            else:
                changed = None
                try:
                    load_all(case.hw, folder, **{k: v for k, v in case.params.items() if k == "student_id"})
                    error = "(accepted)"
                except (ValueError, FileNotFoundError) as err:
                    error = f"{type(err).__name__}: {err}"
            ok = all(re.search(p, error, re.S) for p in case.expect) if case.expect else error == "(accepted)"
            named += ok
            lost += changed or 0
            where = "notebook" if case.notebook else "loader"
            rows.append(f"| {case.name} | {where} | {shorten(error, tmp)} | {'yes' if ok else '**no**'} | "
                        f"{'-' if changed is None else changed} |")
            print(rows[-1], flush=True)
    lines = ["# Bad inputs: named errors, outputs lost", "",
             f"Command: `python benchmarks/bad_inputs.py --out {args.out}`", "",
             "Each input is a copy of the smoke-sized synthetic data with one thing broken "
             "(`tests/bad_inputs.py`; the same cases are the parametrised tests in "
             "`tests/test_bad_inputs.py`). *Expected error* = the message matches what the case "
             "requires: the file's name, the line/column, utterance, entry or epoch/batch, and what "
             "was wrong (or, for the Excel case, the file is accepted). For the notebook cases the "
             "output folder first holds files of an earlier good run; *outputs replaced or added* "
             "counts those changed and any new file published beside them.", "",
             f"**{len(CASES)} inputs tried, {named} with the expected error, "
             f"{lost} outputs replaced or added.**", "",
             "| input | run through | error (first line; temporary folder removed) | expected error | outputs replaced or added |",
             "|---|---|---|---|---|", *rows]
    write_report(args.out, lines)
    return 0 if named == len(CASES) and lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
