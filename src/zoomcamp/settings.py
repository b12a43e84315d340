"""Run-time switches read from the environment, in one place."""

from __future__ import annotations

import os

FAST_ENV = "ZOOMCAMP_FAST"


def fast_mode() -> bool:
    """``ZOOMCAMP_FAST`` set to anything but "" or "0": the test suite and CI notebooks
    train tiny settings instead of the full runs that ``zoomcamp reproduce`` does."""
    return os.environ.get(FAST_ENV, "") not in ("", "0")
