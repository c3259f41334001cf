"""Downloading real course files: one HTTP download (progress bar, Google Drive's large-file
confirmation), one sha256, one mirror loop and the Kaggle CLI, used by every data format.

Offline every attempt fails within seconds and the caller turns the list of failed attempts
into a :class:`FetchError` that says what to do by hand.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from common.progress import progress_bar

Say = Callable[..., None]
USER_AGENT = "ml2022-homework-fetch"


class FetchError(RuntimeError):
    """The real data could not be obtained; the message says what to do instead."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set: where it goes, what it must hash to, where to get it."""

    name: str  # path relative to the data set's folder
    sha256: tuple[str, ...]  # every accepted digest (e.g. CRLF original and LF copy); () = unknown
    urls: tuple[str, ...] = ()


def gdrive(file_id: str) -> str:
    return f"https://drive.google.com/uc?export=download&id={file_id}"


def sha256sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def open_url(url: str, timeout: float) -> IO[bytes]:
    """An open HTTP response for ``url``. Google Drive answers a large file with an HTML page
    ("can't scan this file for viruses"): its download form is submitted to get the file."""
    response = urllib.request.urlopen(
        urllib.request.Request(url, headers={"User-Agent": USER_AGENT}), timeout=timeout)
    if "drive.google.com" in url and "text/html" in response.headers.get("Content-Type", ""):
        page = response.read(1 << 20).decode("utf-8", "replace")
        response.close()
        form = re.search(r'<form[^>]*id="download-form"[^>]*action="([^"]+)"', page)
        if form is None:
            raise urllib.error.URLError("Google Drive sent a page without a download form "
                                        "(quota exceeded, or the file is not shared)")
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
        target = html.unescape(form.group(1)) + "?" + urllib.parse.urlencode(fields)
        response = urllib.request.urlopen(
            urllib.request.Request(target, headers={"User-Agent": USER_AGENT}), timeout=timeout)
    return response


def download(url: str, dest: Path, timeout: float) -> None:
    """Stream ``url`` into ``dest`` with a progress bar (bytes, from Content-Length)."""
    with open_url(url, timeout) as response, open(dest, "wb") as f:
        total = int(response.headers.get("Content-Length") or 0) or None
        with progress_bar(total=total, unit="B", unit_scale=True, desc=dest.name, mininterval=1.0) as bar:
            while block := response.read(1 << 20):
                f.write(block)
                bar.update(len(block))


def from_mirrors(urls: tuple[str, ...] | list[str], dest: Path, timeout: float,
                 failures: list[str], accept: Callable[[Path], str | None]) -> str | None:
    """Try each mirror in turn until ``accept(dest)`` returns None (the file is right; else it
    returns why not). Returns the URL that worked, or None; each failed attempt is appended to
    ``failures``. Without a network the first failure ends the loop (the others fail alike)."""
    for url in urls:
        try:
            download(url, dest, timeout)
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            failures.append(f"{url}: {reason}")
            if isinstance(reason, OSError):  # no network, DNS failure, timeout
                return None
            continue
        problem = accept(dest)
        if problem is None:
            return url
        failures.append(f"{url}: {problem}")
    return None


def digest_check(f: RemoteFile) -> Callable[[Path], str | None]:
    """An ``accept`` for :func:`from_mirrors`: the file's sha256 must be one of ``f.sha256``."""
    def accept(path: Path) -> str | None:
        digest = sha256sum(path)
        if not f.sha256 or digest in f.sha256:
            return None
        return f"sha256 {digest} is not the real {f.name}'s (a quota or login page?)"
    return accept


def kaggle_configured() -> bool:
    has_key = (Path.home() / ".kaggle" / "kaggle.json").is_file() or (
        os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"))
    return bool(has_key) and shutil.which("kaggle") is not None


def kaggle_download(competition: str, workdir: Path, timeout: float) -> list[str]:
    """``kaggle competitions download`` into ``workdir`` and unzip there; failed attempts."""
    if not kaggle_configured():
        return ["Kaggle CLI: not configured (pip install kaggle; ~/.kaggle/kaggle.json)"]
    try:
        subprocess.run(["kaggle", "competitions", "download", "-c", competition, "-p", str(workdir)],
                       check=True, timeout=max(timeout, 600), capture_output=True, text=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as err:
        detail: Any = getattr(err, "stderr", "") or err
        return [f"kaggle competitions download -c {competition}: {str(detail).strip()[:300]}"]
    for archive in workdir.glob("*.zip"):
        shutil.unpack_archive(archive, workdir)
    return []
