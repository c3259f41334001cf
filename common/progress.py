"""One progress bar for the training loop and the downloads.

``tqdm.auto`` picks the notebook widget bar inside a Jupyter kernel, but without ``ipywidgets``
(a local Jupyter with only ``requirements.txt`` installed) it warns ``TqdmWarning: IProgress not
found`` on every bar and falls back to text anyway. Here the widget bar is used only where it can
render (Colab ships ``ipywidgets``), and the plain text bar everywhere else, without the warning.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from typing import Any


def progress_bar(iterable: Iterable | None = None, **kwargs: Any) -> Any:
    """``tqdm(iterable, **kwargs)``: the notebook widget bar when ``ipywidgets`` is installed
    (Colab, a Jupyter with widgets), else the text bar (which Jupyter redraws in place)."""
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm(iterable, **kwargs)
