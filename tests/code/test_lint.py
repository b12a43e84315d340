"""The code base passes ruff: lint and format (`uv run --group dev ruff check .`, `... ruff format
--check .`), notebooks included: they are code a learner reads."""

import subprocess
import sys

import pytest

from zoomcamp import paths


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]])
def test_ruff_clean(command):
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", *command],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_notebooks_are_linted():
    """Every module notebook is among the files ruff checks (pyproject excludes none)."""
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--show-files", "."],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
    )
    listed = proc.stdout.splitlines()
    notebooks = sorted(str(p) for p in paths.REPO_ROOT.glob("[0-9][0-9]-*/*.ipynb"))
    assert notebooks and all(nb in listed for nb in notebooks)
