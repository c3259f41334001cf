"""Where the notebooks come from: the repository's URL and ref, written here and nowhere else.

    python -m tools.colab sync     # write them into every notebook's bootstrap cell and badge,
                                   # and into the README's "Open In Colab" badges
    python -m tools.colab check    # list what disagrees with this file (a test runs it)

The badge opens ``blob/<REF>/<notebook>`` and the notebook's first code cell (the bootstrap,
rendered from :data:`BOOTSTRAP`) clones the same ``REF``, so in Colab the notebook and the
``common/`` it imports always come from one version. On ``main`` the ref is ``main``; a release
pins both to a tag (README, "Cutting a release").
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from common.paths import REPO_ROOT

REPO_URL = "https://github.com/ml2022-solved/ml2022-homework"
REF = "main"
CLONE_DIR = "ml2022-homework"  # the folder the bootstrap clones into (Colab: /content/ml2022-homework)
README = "README.md"

# The first code cell of every notebook. It runs before `common` can be imported, so it is
# plain Python: find the repository (ML2022_REPO, the working directory and its parents, an
# installed copy), in Colab clone it first, put it on sys.path; then, in Colab, say which
# version it holds (describe_checkout). No pip: Colab's own torch and libraries are used.
BOOTSTRAP = '''\
# Colab bootstrap, written by `python -m tools.colab sync` from tools/colab.py (edit it there).
# Locally: finds this repository. In Colab: clones it once, at the ref the badge opened.
import importlib.util, os, subprocess, sys
from pathlib import Path

REPO_URL, REPO_REF = "{url}", "{ref}"
IN_COLAB = "google.colab" in sys.modules


def find_repo():
    places = [Path(os.environ["ML2022_REPO"])] if os.environ.get("ML2022_REPO") else []
    places += [Path.cwd(), *Path.cwd().parents, Path.cwd() / "{clone_dir}"]
    spec = importlib.util.find_spec("common")  # an installed copy (pip install -e .)
    places += [Path(p).parent for p in (spec.submodule_search_locations or [])] if spec else []
    return next((p.resolve() for p in places if (p / "common" / "reproduce.py").is_file()), None)


ROOT = find_repo()
if ROOT is None and IN_COLAB:
    subprocess.run(["git", "clone", "--quiet", "--depth=1", "--branch", REPO_REF, REPO_URL,
                    "{clone_dir}"], check=True)
    ROOT = find_repo()
if ROOT is None:
    raise FileNotFoundError(
        f"The {clone_dir} repository is neither in {{Path.cwd()}} nor above it. Open the notebook "
        f"from a clone (git clone --branch {{REPO_REF}} {{REPO_URL}}), or run "
        f"%env ML2022_REPO=/path/to/{clone_dir} in a cell above and run this cell again.")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if IN_COLAB:
    from common.config import describe_checkout
    print(describe_checkout(ROOT, REPO_REF))
'''


BADGE_RE = re.compile(r"https://colab\.research\.google\.com/github/([^/\s]+)/([^/\s]+)/blob/"
                      r"([^/\s]+)/([^)\s\"']+?\.ipynb)")


def notebooks() -> list[str]:
    """Every homework notebook (paths relative to the repository root)."""
    from common.reproduce import HOMEWORKS

    return [hw.notebook for hw in HOMEWORKS.values()]


def bootstrap_source(url: str | None = None, ref: str | None = None) -> str:
    """The first code cell of every notebook (default: :data:`REPO_URL` at :data:`REF`)."""
    return BOOTSTRAP.format(url=url or REPO_URL, ref=ref or REF, clone_dir=CLONE_DIR).rstrip("\n")


def badge_url(notebook: str, url: str | None = None, ref: str | None = None) -> str:
    """The "Open In Colab" link of ``notebook`` (a path relative to the repository root)."""
    owner_repo = (url or REPO_URL).removeprefix("https://github.com/").removesuffix(".git")
    return f"https://colab.research.google.com/github/{owner_repo}/blob/{ref or REF}/{notebook}"


def _fix_badges(text: str, where: str, problems: list[str], own: str | None = None) -> tuple[str, set]:
    """``text`` with every Colab badge pointing at :data:`REPO_URL` / :data:`REF`; records a
    problem per wrong badge (and per badge of a notebook other than ``own``)."""
    seen: set[str] = set()

    def repl(m: re.Match) -> str:
        path = m.group(4)
        seen.add(path)
        right = badge_url(path)
        if m.group(0) != right:
            problems.append(f"{where}: badge {m.group(0)} should be {right}")
        if own is not None and path != own:
            problems.append(f"{where}: badge opens {path}, not this notebook ({own})")
        return right

    return BADGE_RE.sub(repl, text), seen


def sync(root: Path = REPO_ROOT, write: bool = True) -> list[str]:
    """Render the bootstrap cell and the badges from this module into the notebooks and the
    README (``write=False``: only report). Returns what disagreed (empty: all in sync)."""
    import nbformat

    problems: list[str] = []
    cell_source = bootstrap_source()
    for rel in notebooks():
        path = root / rel
        nb = nbformat.read(path, as_version=4)
        changed = False
        code = [c for c in nb.cells if c.cell_type == "code"]
        if not code:
            problems.append(f"{rel}: no code cell")
            continue
        if code[0].source != cell_source:
            problems.append(f"{rel}: the first code cell is not the bootstrap of tools/colab.py")
            code[0].source, changed = cell_source, True
        badges: set[str] = set()
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                fixed, seen = _fix_badges(cell.source, rel, problems, own=rel)
                badges |= seen
                if fixed != cell.source:
                    cell.source, changed = fixed, True
        if not badges:
            problems.append(f"{rel}: no Open In Colab badge")
        if changed and write:
            nbformat.write(nb, path)
    readme = root / README
    text = readme.read_text()
    fixed, seen = _fix_badges(text, README, problems)
    missing = sorted(set(notebooks()) - seen)
    if missing:
        problems.append(f"{README}: no badge for {', '.join(missing)}")
    if fixed != text and write:
        readme.write_text(fixed)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.colab", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["sync", "check"])
    args = parser.parse_args(argv)
    problems = sync(write=args.action == "sync")
    for p in problems:
        print(("fixed: " if args.action == "sync" else "") + p)
    if args.action == "check" and problems:
        print("run `python -m tools.colab sync` to fix", file=sys.stderr)
        return 1
    print(f"{len(notebooks())} notebooks and {README}: {REPO_URL} at {REF}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
