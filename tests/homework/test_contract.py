"""Every module's ``homework.py --json`` prints one JSON object that follows the contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from zoomcamp import homework, modules, paths

WITH_HOMEWORK = [m for m in modules.discover() if m.homework]


@pytest.mark.parametrize("module", WITH_HOMEWORK, ids=[m.name for m in WITH_HOMEWORK])
def test_homework_json_follows_contract(module):
    proc = subprocess.run(
        [sys.executable, str(module.folder / module.homework), "--json"],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)  # stdout holds the JSON object and nothing else
    assert homework.validate(result) == []
    assert result["module"] == module.name


@pytest.mark.parametrize("module", WITH_HOMEWORK, ids=[m.name for m in WITH_HOMEWORK])
def test_homework_help(module):
    proc = subprocess.run(
        [sys.executable, str(module.folder / module.homework), "--help"],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "--json" in proc.stdout
