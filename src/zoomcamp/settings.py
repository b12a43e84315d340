"""Every environment variable the project reads, declared once with its default and meaning.

    uv run zoomcamp settings        # the table below, with the values in force

A bad value is a :class:`SettingError` (a :class:`ZoomcampError`) naming the variable, so
the command line and every script print one line instead of a traceback. The services in
05-deployment and 09-serverless are separate build contexts and read their own variables
(listed in their READMEs).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoomcamp.errors import ZoomcampError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class SettingError(ZoomcampError):
    """An environment variable holds a value the project cannot use."""


def _flag(value: str) -> bool:
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


def _folder(value: str) -> Path | None:
    if not value.strip():
        return None
    if "\0" in value:
        raise ValueError("a path cannot contain a NUL byte")
    return Path(value).expanduser().resolve()


def _text(value: str) -> str:
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    meaning: str
    parse: Callable[[str], Any]

    def raw(self) -> str:
        return os.environ.get(self.name, self.default)

    def is_set(self) -> bool:
        return self.name in os.environ

    def value(self) -> Any:
        raw = self.raw()
        try:
            return self.parse(raw)
        except ValueError as exc:
            raise SettingError(f"{self.name}={raw!r} is not valid: {exc}") from None


FAST = Setting(
    "ZOOMCAMP_FAST",
    "0",
    "1: tiny training settings (tests, smoke runs); models and reports then go to .fast/, "
    "never over the committed reports",
    _flag,
)
DATA_DIR = Setting(
    "ZOOMCAMP_DATA_DIR", "", "downloaded datasets and unpacked archives (default: data/)", _folder
)
MODELS_DIR = Setting(
    "ZOOMCAMP_MODELS_DIR",
    "",
    "trained models, one folder each (default: models/, or .fast/models/ in fast mode)",
    _folder,
)
REPORTS_DIR = Setting(
    "ZOOMCAMP_REPORTS_DIR",
    "",
    "JSON and PNG results the READMEs link to (default: reports/, or .fast/reports/ in fast mode)",
    _folder,
)
RUNS_DIR = Setting(
    "ZOOMCAMP_RUNS_DIR",
    "",
    "run logs: timings and machine load of each reproduce (default: runs/, git-ignored)",
    _folder,
)
DATA_MIRROR = Setting(
    "ZOOMCAMP_DATA_MIRROR",
    "",
    "a local folder laid out HOST/PATH that replaces the network for downloads",
    _folder,
)

SETTINGS: dict[str, Setting] = {
    s.name: s for s in (FAST, DATA_DIR, MODELS_DIR, REPORTS_DIR, RUNS_DIR, DATA_MIRROR)
}

# Kept for callers that name the variable.
FAST_ENV = FAST.name


def fast_mode() -> bool:
    """``ZOOMCAMP_FAST`` is on: train tiny settings and write to the scratch folder."""
    return FAST.value()


def check_all() -> None:
    """Parse every variable once, so a bad value fails at start-up, not halfway through."""
    for setting in SETTINGS.values():
        setting.value()
