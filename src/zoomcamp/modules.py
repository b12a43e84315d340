"""Course modules plug into the command line by carrying a ``module.toml``::

    title = "Linear regression"
    datasets = ["car-price", "car-fuel-efficiency"]   # fetched before anything runs
    steps = [["train.py"], ["export.py", "--quiet"]]  # scripts run in order (repo root as cwd)
    homework = "homework.py"                          # run with --json, answers captured
    outputs = ["metrics.json", "curve.png"]           # reports/<module>/ files the steps write
    groups = ["dl"]                                   # pyproject dependency groups it needs

``zoomcamp reproduce`` installs the listed groups before running anything and fails when a
listed output was not written during the run.
No central list to edit: a folder ``NN-name/`` with that file is a module.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from zoomcamp import paths
from zoomcamp.errors import ZoomcampError


@dataclass(frozen=True)
class Module:
    name: str
    folder: Path
    title: str
    datasets: list[str] = field(default_factory=list)
    steps: list[list[str]] = field(default_factory=list)
    homework: str | None = None
    outputs: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


KEYS = {"title", "datasets", "steps", "homework", "outputs", "groups"}


def load(folder: Path) -> Module:
    path = folder / "module.toml"
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ZoomcampError(f"{path} is not valid TOML: {exc}") from None
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise ZoomcampError(
            f"{path}: unknown keys {', '.join(unknown)} (known: {', '.join(sorted(KEYS))})"
        )
    return Module(
        name=folder.name,
        folder=folder,
        title=spec.get("title", folder.name),
        datasets=list(spec.get("datasets", [])),
        steps=[list(s) for s in spec.get("steps", [])],
        homework=spec.get("homework"),
        outputs=list(spec.get("outputs", [])),
        groups=list(spec.get("groups", [])),
    )


def discover() -> list[Module]:
    return [load(d) for d in paths.module_dirs() if (d / "module.toml").is_file()]


def select(names: list[str]) -> list[Module]:
    """Modules by name (``02-regression``) or number (``02``); all when ``names`` is empty."""
    known = discover()
    if not names:
        return known
    chosen = []
    for name in names:
        hits = [m for m in known if m.name == name or m.name.split("-", 1)[0] == name]
        if not hits:
            raise ZoomcampError(
                f"unknown module {name!r}; known: {', '.join(m.name for m in known) or 'none'}"
            )
        chosen.extend(h for h in hits if h not in chosen)
    return chosen
