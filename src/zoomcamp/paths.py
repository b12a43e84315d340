"""Every path the project uses, anchored at the repository root (never the working directory).

The data, models, reports and run-log folders can be moved with the environment variables
declared in :mod:`zoomcamp.settings`; the tests use them to keep their files out of the
checkout. In fast mode (``ZOOMCAMP_FAST=1``) models and reports default to ``.fast/``, so a
smoke run never overwrites the committed reports.
"""

from __future__ import annotations

import re
from pathlib import Path

from zoomcamp import settings

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULE_DIR_PATTERN = re.compile(r"^\d\d-[a-z0-9-]+$")
FAST_ROOT = REPO_ROOT / ".fast"


def _dir(setting: settings.Setting, name: str) -> Path:
    value = setting.value()
    if value is not None:
        return value
    return (FAST_ROOT if settings.fast_mode() else REPO_ROOT) / name


def data_dir() -> Path:
    """Downloaded datasets and unpacked archives (git-ignored, shared by fast and full runs)."""
    value = settings.DATA_DIR.value()
    return value if value is not None else REPO_ROOT / "data"


def models_dir() -> Path:
    """Trained models, one folder ``models/<name>/`` each (git-ignored)."""
    return _dir(settings.MODELS_DIR, "models")


def model_dir(name: str) -> Path:
    """The one location of a model: ``models/<name>/``."""
    return models_dir() / name


def reports_dir() -> Path:
    """Metrics (JSON) and figures (PNG) that the READMEs link to (committed)."""
    return _dir(settings.REPORTS_DIR, "reports")


def runs_dir() -> Path:
    """Run logs: timings and machine load (git-ignored)."""
    return _dir(settings.RUNS_DIR, "runs")


def module_dir(module: str) -> Path:
    """The folder of a course module, e.g. ``module_dir("02-regression")``."""
    path = REPO_ROOT / module
    if not MODULE_DIR_PATTERN.match(module) or not path.is_dir():
        known = ", ".join(p.name for p in module_dirs())
        raise ValueError(f"unknown module {module!r}; known modules: {known}")
    return path


def module_dirs() -> list[Path]:
    """All module folders (``NN-name``) in course order."""
    return sorted(p for p in REPO_ROOT.iterdir() if p.is_dir() and MODULE_DIR_PATTERN.match(p.name))
