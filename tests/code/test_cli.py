"""The zoomcamp command: help everywhere, module discovery, clear errors."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest

from zoomcamp import cli, modules, paths


def _zoomcamp(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "zoomcamp.cli", *args],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", [[], ["datasets"], ["modules"], ["homework"], ["reproduce"]])
def test_every_command_has_help(command):
    proc = _zoomcamp(*command, "--help")
    assert proc.returncode == 0 and "usage:" in proc.stdout


def test_unknown_module_is_a_message_not_a_traceback():
    proc = _zoomcamp("reproduce", "99-nothing")
    assert proc.returncode == 2
    assert "unknown module '99-nothing'" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_dataset_is_a_message_not_a_traceback():
    proc = _zoomcamp("datasets", "fetch", "no-such-data")
    assert (
        proc.returncode == 2 and "unknown dataset" in proc.stderr and "Traceback" not in proc.stderr
    )


def test_modules_are_discovered_from_their_folders():
    found = modules.discover()
    names = [m.name for m in found]
    assert names == sorted(names)
    on_disk = sorted(d.name for d in paths.module_dirs() if (d / "module.toml").is_file())
    assert names == on_disk
    for m in found:
        for script in [s[0] for s in m.steps] + ([m.homework] if m.homework else []):
            assert (m.folder / script).is_file(), f"{m.name}/module.toml names missing {script}"


def test_select_by_number_and_name(tmp_path, monkeypatch):
    for name in ("01-alpha", "02-beta"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "module.toml").write_text(
            f'title = "{name}"\nhomework = "homework.py"\n'
        )
    (tmp_path / "03-no-toml").mkdir()
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path)
    assert [m.name for m in modules.select([])] == ["01-alpha", "02-beta"]
    assert [m.name for m in modules.select(["02", "01-alpha", "02-beta"])] == [
        "02-beta",
        "01-alpha",
    ]


def test_parser_builds():
    assert cli.build_parser().prog == "zoomcamp"


def _scripts() -> list[str]:
    """Every module script: a tracked .py file in a module folder with a __main__ guard."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "0*/*.py", "0*/**/*.py"],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(
        p for p in listed if '__name__ == "__main__"' in (paths.REPO_ROOT / p).read_text()
    )


SCRIPTS = _scripts()


def test_the_scripts_are_found():
    assert "08-deep-learning/train_torch.py" in SCRIPTS and "05-deployment/test.py" in SCRIPTS


@pytest.mark.slow  # one interpreter per script, most import torch or TensorFlow
@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_has_help(script):
    proc = subprocess.run(
        [sys.executable, script, "--help"],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("usage:"), proc.stderr[-2000:]
    # a None default means "decided at run time": the flag's own help says how
    assert "(default: None)" not in proc.stdout


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_docstring_starts_with_its_command(script):
    doc = ast.get_docstring(ast.parse((paths.REPO_ROOT / script).read_text())) or ""
    first = doc.splitlines()[0] if doc else ""
    assert first.startswith(("uv run ", "python ")) and script in first, first


def _module(name: str, groups: list[str]) -> modules.Module:
    return modules.Module(name=name, folder=paths.REPO_ROOT / name, title=name, groups=groups)


@pytest.fixture
def uv_calls(monkeypatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(cli.shutil, "which", lambda name: f"/opt/uv/bin/{name}")
    monkeypatch.setattr(cli.subprocess, "run", run)
    return calls


def test_reproduce_installs_the_groups_the_modules_declare(uv_calls):
    cli._sync_groups([_module("01-a", []), _module("08-b", ["dl"]), _module("09-c", ["dl", "x"])])
    assert uv_calls == [["/opt/uv/bin/uv", "sync", "--inexact", "--group=dl", "--group=x"]]


def test_modules_without_groups_run_no_sync(uv_calls):
    cli._sync_groups([_module("01-a", []), _module("02-b", [])])
    assert uv_calls == []


def test_a_failed_sync_stops_before_any_module_runs(monkeypatch):
    monkeypatch.setattr(cli.shutil, "which", lambda name: f"/opt/uv/bin/{name}")
    monkeypatch.setattr(
        cli.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1)
    )
    with pytest.raises(cli.ZoomcampError, match="uv sync --inexact --group=dl failed"):
        cli._sync_groups([_module("08-b", ["dl"])])


def test_without_uv_the_error_names_the_command(monkeypatch):
    monkeypatch.setattr(cli.shutil, "which", lambda name: None)
    with pytest.raises(cli.ZoomcampError, match=r"08-b need dl; install with: uv sync --inexact"):
        cli._sync_groups([_module("08-b", ["dl"])])


def _dry_sync(*flags: str) -> str:
    proc = subprocess.run(
        ["uv", "sync", "--group=dl", "--dry-run", "--locked", *flags],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_the_group_sync_keeps_what_is_installed():
    """The suite runs with the dev group (pytest is installed, and not in default + dl): the
    sync reproduce runs removes nothing, where a plain ``uv sync`` would remove pytest."""
    assert "Would uninstall" not in _dry_sync("--inexact")
    assert re.search(r"^ - pytest==", _dry_sync(), re.M)
