"""The ``zoomcamp`` command: datasets, homework answers and the end-to-end reproduction.

uv run zoomcamp --help
uv run zoomcamp reproduce                 # every module: data, training, answers, reports
uv run zoomcamp reproduce 01 02-regression
uv run zoomcamp homework 02 --json
uv run zoomcamp datasets fetch --all
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time

from rich.console import Console
from rich.table import Table

from zoomcamp import datasets, fileio, modules, paths, settings
from zoomcamp.errors import ZoomcampError

console = Console(stderr=True, soft_wrap=True)


def _run_script(module: modules.Module, script: str, *args: str, capture: bool = False) -> str:
    path = module.folder / script
    if not path.is_file():
        raise ZoomcampError(f"{module.name}: module.toml names {script}, which does not exist")
    cmd = [sys.executable, str(path), *args]
    console.print(f"[bold]{module.name}[/]: {script} {' '.join(args)}")
    proc = subprocess.run(
        cmd, cwd=paths.REPO_ROOT, stdout=subprocess.PIPE if capture else None, text=True
    )
    if proc.returncode != 0:
        raise ZoomcampError(
            f"{module.name}: {script} {' '.join(args)} failed (exit {proc.returncode})"
        )
    return proc.stdout or ""


def _homework(module: modules.Module) -> dict:
    if not module.homework:
        raise ZoomcampError(f"{module.name} has no homework")
    out = _run_script(module, module.homework, "--json", capture=True)
    try:
        return json.loads(out)
    except json.JSONDecodeError as exc:
        raise ZoomcampError(
            f"{module.name}: homework --json printed something other than JSON ({exc})"
        ) from None


def cmd_datasets(args: argparse.Namespace) -> None:
    if args.action == "list":
        table = Table("name", "status", "description", "url")
        for ds in datasets.REGISTRY.values():
            table.add_row(ds.name, datasets.status(ds.name), ds.description, ds.url)
        Console().print(table)
        return
    names = list(datasets.REGISTRY) if args.all or not args.names else args.names
    for name in names:
        ds = datasets.get(name)
        if args.action == "verify" and not ds.local_path().is_file():
            raise ZoomcampError(
                f"{name}: not downloaded yet (run: uv run zoomcamp datasets fetch {name})"
            )
        force = args.action == "fetch" and args.force
        path = (
            datasets.unpack(name, force=force)
            if ds.is_archive
            else datasets.fetch(name, force=force)
        )
        console.print(f"{name}: ok  {path}")


def cmd_modules(args: argparse.Namespace) -> None:
    table = Table("module", "title", "datasets", "steps", "homework", "groups")
    for m in modules.discover():
        table.add_row(
            m.name,
            m.title,
            ", ".join(m.datasets),
            "; ".join(" ".join(s) for s in m.steps),
            m.homework or "",
            ", ".join(m.groups),
        )
    Console().print(table)


def cmd_homework(args: argparse.Namespace) -> None:
    (module,) = modules.select([args.module])
    if args.json:
        print(json.dumps(_homework(module)))
    else:
        _run_script(module, module.homework or "homework.py")


def _check_outputs(module: modules.Module, since_ns: int) -> None:
    """Every file ``module.toml`` lists under ``outputs`` was (re)written during this run."""
    folder = paths.reports_dir() / module.name
    stale = [
        name
        for name in module.outputs
        if not (folder / name).is_file() or (folder / name).stat().st_mtime_ns < since_ns
    ]
    if stale:
        raise ZoomcampError(
            f"{module.name}: the steps did not write {', '.join(stale)} under {folder} "
            "(listed as outputs in module.toml)"
        )


def _write_run_log(timings: dict[str, float]) -> None:
    """Timings and machine load go to a git-ignored run log, never into committed reports."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    log = {
        "command": "reproduce",
        "finished_utc": stamp,
        "fast": settings.fast_mode(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "seconds": {name: round(secs, 1) for name, secs in timings.items()},
    }
    path = fileio.write_json(paths.runs_dir() / f"reproduce-{stamp}.json", log)
    console.print(f"timings written to {path}")


def _sync_groups(chosen: list[modules.Module]) -> None:
    """Add the dependency groups the modules declare (``groups`` in module.toml, e.g. 08's
    ``dl``) to the project environment before anything runs. ``--inexact`` removes nothing,
    and a later plain ``uv run`` does not remove them either (it syncs inexactly too)."""
    groups = sorted({g for m in chosen for g in m.groups})
    if not groups:
        return
    flags = [f"--group={g}" for g in groups]
    command = " ".join(["uv sync --inexact", *flags])
    needed_by = ", ".join(m.name for m in chosen if m.groups)
    uv = shutil.which("uv")
    if not uv:
        raise ZoomcampError(f"{needed_by} need {', '.join(groups)}; install with: {command}")
    console.print(f"[bold]{needed_by}[/] need the {', '.join(groups)} group: {command}")
    proc = subprocess.run([uv, "sync", "--inexact", *flags], cwd=paths.REPO_ROOT)
    if proc.returncode != 0:
        raise ZoomcampError(f"{command} failed (exit {proc.returncode})")


def cmd_reproduce(args: argparse.Namespace) -> None:
    chosen = modules.select(args.modules)
    _sync_groups(chosen)
    if settings.fast_mode():
        console.print(
            f"[yellow]fast mode[/] ({settings.FAST.name}): tiny settings, "
            f"reports to {paths.reports_dir()}, models to {paths.models_dir()}"
        )
    results, timings = [], {}
    for module in chosen:
        start = time.perf_counter()
        since_ns = time.time_ns()
        for name in module.datasets:
            ds = datasets.get(name)
            datasets.unpack(name) if ds.is_archive else datasets.fetch(name)
        for step in module.steps:
            _run_script(module, *step)
        if module.homework:
            result = _homework(module)
            fileio.write_json(paths.reports_dir() / module.name / "homework.json", result)
            results.append(result)
        _check_outputs(module, since_ns)
        timings[module.name] = time.perf_counter() - start
    table = Table("module", "q", "value", "option", title="Homework answers (2025)")
    for result in results:
        for q, a in result["answers"].items():
            v = a["value"]
            table.add_row(
                result["module"],
                q,
                f"{v:.6g}" if isinstance(v, float) else str(v),
                str(a["option"]),
            )
    Console().print(table)
    for name, secs in timings.items():
        console.print(f"{name}: {secs:.1f} s")
    _write_run_log(timings)


def cmd_settings(args: argparse.Namespace) -> None:
    table = Table("variable", "value in force", "meaning")
    for setting in settings.SETTINGS.values():
        shown = setting.raw() if setting.is_set() else f"(default) {setting.default}"
        table.add_row(setting.name, shown, setting.meaning)
    Console().print(table)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoomcamp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("datasets", help="list, fetch or verify the registered datasets")
    p.add_argument("action", choices=["list", "fetch", "verify"])
    p.add_argument("names", nargs="*", help="dataset names (default: all)")
    p.add_argument("--all", action="store_true", help="every registered dataset")
    p.add_argument("--force", action="store_true", help="with fetch: download again even if cached")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("modules", help="list the course modules and what reproduce runs for each")
    p.set_defaults(func=cmd_modules)

    p = sub.add_parser("homework", help="print one module's homework answers")
    p.add_argument("module", help="module name or number, e.g. 02-regression or 02")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(func=cmd_homework)

    p = sub.add_parser("reproduce", help="fetch data, train, answer the homework and write reports")
    p.add_argument("modules", nargs="*", help="modules by name or number (default: all)")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("settings", help="the environment variables the project reads")
    p.set_defaults(func=cmd_settings)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command != "settings":
            settings.check_all()
        args.func(args)
    except ZoomcampError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
