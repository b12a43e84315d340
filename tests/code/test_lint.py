"""The code base passes ruff: lint and format (`uv run --group dev ruff check .`, `... ruff format --check .`)."""

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
