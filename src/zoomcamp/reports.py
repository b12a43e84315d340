"""Metrics as JSON and figures as PNG under ``reports/<module>/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoomcamp import fileio, paths


def report_path(module: str, name: str) -> Path:
    return paths.reports_dir() / module / name


def save_metrics(module: str, name: str, metrics: dict[str, Any]) -> Path:
    """Write ``reports/<module>/<name>.json`` atomically and return its path."""
    return fileio.write_json(report_path(module, f"{name}.json"), metrics)


def save_figure(module: str, name: str, fig: Any, dpi: int = 110) -> Path:
    """Save a matplotlib figure as ``reports/<module>/<name>.png`` and close it."""
    import matplotlib.pyplot as plt

    path = report_path(module, f"{name}.png")
    with fileio.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    plt.close(fig)
    return path
