"""``zoomcamp reproduce``: listed outputs must be written, timings go to the run log."""

from __future__ import annotations

import argparse
import json

import pytest

from zoomcamp import cli, paths
from zoomcamp.errors import ZoomcampError

STEP = """
import os, pathlib, sys
out = pathlib.Path(os.environ["ZOOMCAMP_REPORTS_DIR"]) / "01-alpha"
out.mkdir(parents=True, exist_ok=True)
for name in sys.argv[1:]:
    (out / name).write_text("{}")
"""


@pytest.fixture
def repo(tmp_path, monkeypatch):
    module = tmp_path / "01-alpha"
    module.mkdir()
    (module / "step.py").write_text(STEP)
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path)
    monkeypatch.setenv("ZOOMCAMP_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("ZOOMCAMP_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path


def _module(repo, writes: list[str], outputs: list[str]) -> None:
    (repo / "01-alpha" / "module.toml").write_text(
        f'title = "alpha"\nsteps = [["step.py", {", ".join(json.dumps(w) for w in writes)}]]\n'
        f"outputs = {json.dumps(outputs)}\n"
    )


def _reproduce() -> None:
    cli.cmd_reproduce(argparse.Namespace(modules=[]))


def test_all_outputs_written(repo):
    _module(repo, ["a.json", "b.png"], ["a.json", "b.png"])
    _reproduce()
    logs = list((repo / "runs").glob("reproduce-*.json"))
    assert len(logs) == 1
    assert set(json.loads(logs[0].read_text())["seconds"]) == {"01-alpha"}
    assert sorted(p.name for p in (repo / "reports" / "01-alpha").iterdir()) == ["a.json", "b.png"]


def test_a_listed_output_that_was_not_written_fails(repo):
    _module(repo, ["a.json"], ["a.json", "b.png"])
    with pytest.raises(ZoomcampError, match=r"did not write b\.png"):
        _reproduce()


def test_an_output_left_by_an_earlier_run_does_not_count(repo):
    stale = repo / "reports" / "01-alpha" / "b.png"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    _module(repo, ["a.json"], ["a.json", "b.png"])
    with pytest.raises(ZoomcampError, match=r"did not write b\.png"):
        _reproduce()


def test_unknown_module_toml_key_is_a_clear_error(repo):
    (repo / "01-alpha" / "module.toml").write_text('title = "alpha"\noutput = ["a.json"]\n')
    with pytest.raises(ZoomcampError, match="unknown keys output"):
        _reproduce()
