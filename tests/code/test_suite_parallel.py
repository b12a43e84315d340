"""The suite's own parallel run: ``--dist loadgroup`` keeps an ``xdist_group`` on one worker
(the container tests build each image once that way, and a homework's two contract tests
share one run). pytest 9.2 broke it silently for pytest-xdist 3.8.0 (pyproject.toml)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

GROUPED = """
import pytest

@pytest.mark.xdist_group("together")
@pytest.mark.parametrize("i", range(4))
def test_first(i):
    pass

@pytest.mark.xdist_group("together")
@pytest.mark.parametrize("i", range(4))
def test_second(i):
    pass
"""


@pytest.mark.slow  # a pytest session with two workers in a subprocess
def test_a_group_runs_on_one_worker(tmp_path):
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v"]
        + ["-p", "no:cacheprovider", "-c", "/dev/null", "--rootdir", str(tmp_path)]
        + [str(tmp_path / "test_grouped.py")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    workers = re.findall(r"\[(gw\d+)\] \[\s*\d+%\] PASSED \S+::test_\w+\[\d\](\S*)", proc.stdout)
    assert len(workers) == 8, proc.stdout[-3000:]
    assert {suffix for _, suffix in workers} == {"@together"}  # xdist tagged every test
    assert len({worker for worker, _ in workers}) == 1  # and ran them on one worker
