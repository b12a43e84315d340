"""Digests of the course files nobody publishes a digest for, pinned on first use.

``pins.json`` beside this module lists every such file by dataset name. ``null`` means
"not downloaded by anyone yet": the first verified download records its sha256 and size
there (a change to a committed file, to be reviewed and committed), and every later copy,
cached or downloaded, must match it. The pins live in the repository, not in the data
cache, so whoever can replace a cached file cannot also replace the digest that vouches
for it without the change showing in ``git status``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoomcamp import fileio
from zoomcamp.errors import ZoomcampError

PINS_FILE = Path(__file__).with_name("pins.json")
MAX_BYTES = 1 << 20  # a few hundred pins at most


def _load() -> dict[str, Any]:
    try:
        pins = json.loads(fileio.read_regular(PINS_FILE, MAX_BYTES))
    except FileNotFoundError:
        return {}
    except (ValueError, OSError) as exc:
        raise ZoomcampError(f"{PINS_FILE} is unreadable ({exc}); restore it from git") from None
    if not isinstance(pins, dict):
        raise ZoomcampError(f"{PINS_FILE} must hold one JSON object; restore it from git")
    return pins


def declared(name: str) -> bool:
    """Whether ``name`` may be trusted on first use (it has an entry, pinned or null)."""
    return name in _load()


def get(name: str) -> dict[str, Any] | None:
    """``{"sha256": ..., "size": ...}`` pinned for ``name``, or None if not pinned yet."""
    pin = _load().get(name)
    if pin is None:
        return None
    if not (
        isinstance(pin, dict)
        and isinstance(pin.get("sha256"), str)
        and len(pin["sha256"]) == 64
        and isinstance(pin.get("size"), int)
    ):
        raise ZoomcampError(f"{PINS_FILE}: the pin of {name} is malformed; restore it from git")
    return pin


def record(name: str, sha256: str, size: int) -> None:
    pins = _load()
    pins[name] = {"sha256": sha256, "size": size}
    fileio.write_json(PINS_FILE, pins)
