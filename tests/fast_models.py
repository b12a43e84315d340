"""The models the suite trains, each made once per test run by a session fixture in
``conftest.py``, the way ``zoomcamp reproduce`` makes it (the module's own script) but with
the fast settings, into the scratch models folder (``ZOOMCAMP_MODELS_DIR``). A folder that
already verifies (and, for an export, comes from the current source model) is reused, so a
run with ``ZOOMCAMP_TEST_SCRATCH`` set trains nothing twice across runs either. The pytest-xdist
workers share the scratch folder: a lock per model makes the second asker wait for the first
one's model instead of training it again beside it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

from zoomcamp import artifacts, paths

TIMEOUT_S = 1500


def current(folder: Path, source: Path | None = None) -> bool:
    """``folder`` verifies against its metadata and, for an export, was made from the
    files ``source`` holds now."""
    try:
        meta = artifacts.verify(folder)
        if source is not None:
            return meta.get("source", {}).get("files") == artifacts.verify(source)["files"]
        return True
    except artifacts.ArtifactError:
        return False


def ensure(name: str, *scripts: str, source: Path | None = None) -> Path:
    """``models/<name>/`` of this run: the scripts (paths from the repo root, each with its
    arguments after a space: ``"08-deep-learning/export_torch.py --fp32"``) run in order with
    ZOOMCAMP_FAST=1 unless the folder is already current; a failing script fails the test
    that asked, with the end of its stderr."""
    folder = paths.model_dir(name)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(folder.parent / f".{name}.lock", timeout=TIMEOUT_S * len(scripts)):
        return _ensure(folder, scripts, source)


def _ensure(folder: Path, scripts: tuple[str, ...], source: Path | None) -> Path:
    if current(folder, source):
        return folder
    for script in scripts:
        started = time.monotonic()
        path, *args = script.split()
        proc = subprocess.run(
            [sys.executable, str(paths.REPO_ROOT / path), *args],
            cwd=paths.REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            env={**os.environ, "ZOOMCAMP_FAST": "1"},
        )
        if proc.returncode != 0:
            pytest.fail(
                f"{script} failed with exit code {proc.returncode}:\n{proc.stderr[-3000:]}",
                pytrace=False,
            )
        print(f"{script}: {time.monotonic() - started:.1f} s")
    if not current(folder, source):
        pytest.fail(f"{' then '.join(scripts)} left no current model in {folder}", pytrace=False)
    return folder
