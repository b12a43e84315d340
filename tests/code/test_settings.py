"""Configuration lives in one place: every variable declared once, bad values one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from zoomcamp import paths, settings


def test_the_package_reads_the_environment_only_through_settings():
    readers = re.compile(r"os\.environ|os\.getenv|getenv\(")
    offenders = [
        str(p.relative_to(paths.REPO_ROOT))
        for p in sorted((paths.REPO_ROOT / "src" / "zoomcamp").glob("*.py"))
        if p.name != "settings.py" and readers.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_variable_is_listed_in_the_readme():
    readme = (paths.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in settings.SETTINGS if name not in readme]
    assert missing == []


@pytest.mark.parametrize(
    ("value", "fast"),
    [(None, False), ("", False), ("0", False), ("no", False), ("1", True), ("true", True)],
)
def test_fast_flag_values(monkeypatch, value, fast):
    if value is None:
        monkeypatch.delenv("ZOOMCAMP_FAST", raising=False)
    else:
        monkeypatch.setenv("ZOOMCAMP_FAST", value)
    assert settings.fast_mode() is fast


def test_a_bad_flag_names_the_variable(monkeypatch):
    monkeypatch.setenv("ZOOMCAMP_FAST", "maybe")
    with pytest.raises(settings.SettingError, match=r"^ZOOMCAMP_FAST='maybe' is not valid"):
        settings.fast_mode()


def test_fast_mode_never_writes_over_the_committed_reports(monkeypatch):
    monkeypatch.delenv("ZOOMCAMP_REPORTS_DIR", raising=False)
    monkeypatch.delenv("ZOOMCAMP_MODELS_DIR", raising=False)
    monkeypatch.setenv("ZOOMCAMP_FAST", "1")
    assert paths.reports_dir() == paths.REPO_ROOT / ".fast" / "reports"
    assert paths.models_dir() == paths.REPO_ROOT / ".fast" / "models"
    monkeypatch.setenv("ZOOMCAMP_FAST", "0")
    assert paths.reports_dir() == paths.REPO_ROOT / "reports"
    assert paths.model_dir("churn") == paths.REPO_ROOT / "models" / "churn"


def test_an_explicit_folder_wins_over_fast_mode(monkeypatch, tmp_path):
    monkeypatch.setenv("ZOOMCAMP_FAST", "1")
    monkeypatch.setenv("ZOOMCAMP_REPORTS_DIR", str(tmp_path))
    assert paths.reports_dir() == tmp_path


def test_cli_turns_a_bad_value_into_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "zoomcamp.cli", "modules"],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ZOOMCAMP_FAST": "maybe"},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: ZOOMCAMP_FAST='maybe' is not valid: expected 1/0, true/false, yes/no or on/off"
    ]
