"""Every path the project uses, anchored at the repository root (never the working directory).

The data, models and reports folders can be moved with environment variables, which the
tests use to keep their files out of the checkout.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULE_DIR_PATTERN = re.compile(r"^\d\d-[a-z0-9-]+$")


def _dir(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """Downloaded datasets and unpacked archives (git-ignored)."""
    return _dir("ZOOMCAMP_DATA_DIR", REPO_ROOT / "data")


def models_dir() -> Path:
    """Trained models with their metadata (git-ignored)."""
    return _dir("ZOOMCAMP_MODELS_DIR", REPO_ROOT / "models")


def reports_dir() -> Path:
    """Metrics (JSON) and figures (PNG) that the README links to (committed)."""
    return _dir("ZOOMCAMP_REPORTS_DIR", REPO_ROOT / "reports")


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


def load_script(module: str, name: str) -> ModuleType:
    """Import ``<module>/<name>.py`` under a unique name (``m02_regression.train``).

    Several modules have a ``train.py`` or ``homework.py``; importing them by their plain
    names in one process would make them shadow each other. The module folder is put on
    ``sys.path`` so the script's own sibling imports keep working.
    """
    folder = module_dir(module)
    path = folder / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(path)
    unique = "m" + module.replace("-", "_") + "." + name
    if unique in sys.modules:
        return sys.modules[unique]
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(unique, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[unique] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[unique]
        raise
    return mod
