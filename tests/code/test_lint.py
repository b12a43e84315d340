"""The code base passes ruff (the same check as `uv run ruff check .`)."""

import subprocess
import sys

from zoomcamp import paths


def test_ruff_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
