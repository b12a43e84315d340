"""The homework answers contract shared by every module's ``homework.py``.

``homework.py --json`` prints exactly one JSON object to stdout::

    {"module": "01-intro", "cohort": 2025,
     "answers": {"q1": {"value": ..., "option": "..."}, ...}}

``option`` is the exact option text of the spec (``None`` for free-text questions). Where
a question has variants (the solver quirk of 03/04) the answer also carries
``"variants": {name: {"value", "option"}}`` and a ``"note"`` saying which one ``option``
follows. An answer whose computation is not stable (an unconverged solver, a value that
moves across platforms) carries ``"stability"`` (:func:`stability`): the options its
computation reaches under small perturbations, why, and the course's published option where
one exists. Without ``--json`` a readable table is printed instead.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

from zoomcamp import script

COHORT = 2025


def closest_option(value: float, options: Sequence[str]) -> str:
    """The option whose number is closest to ``value``; an exact tie picks the higher one
    (the course's rule)."""
    numbers = [float(o.split()[0]) for o in options]
    best = min(
        range(len(options)),
        key=lambda i: (round(abs(numbers[i] - value), 12), -numbers[i]),
    )
    return options[best]


def answer(
    value: Any,
    options: Sequence[str] | None = None,
    *,
    option: str | None = None,
    variants: dict[str, dict[str, Any]] | None = None,
    note: str | None = None,
    stability: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One answer: the computed value and the chosen option.

    With numeric ``options`` and no explicit ``option`` the closest option is chosen. A
    text answer passes ``option`` itself, which must be one of ``options``.
    """
    if option is None and options is not None:
        option = closest_option(float(value), options)
    if options is not None and option not in options:
        raise ValueError(f"option {option!r} is not one of {list(options)}")
    out: dict[str, Any] = {"value": _plain(value), "option": option}
    if variants:
        out["variants"] = {
            k: {"value": _plain(v["value"]), "option": v["option"]} for k, v in variants.items()
        }
    if note:
        out["note"] = note
    if stability:
        out["stability"] = stability
    return out


def stability(
    options_seen: Sequence[str],
    why: str,
    *,
    moves: Sequence[str],
    published: dict[str, Any] | None = None,
    converged: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The record of an unstable answer: ``options_seen`` are the options its computation
    gives under perturbations that stand in for other platforms (``why`` says which);
    ``moves`` names what is not pinned exactly (``"value"``: the answer itself, and/or
    variant names), each of whose options must be one of ``options_seen``;
    ``published`` is the course's published solution ({"option", "source"}) and
    ``converged`` the answer of the converged solver, where they exist."""
    out: dict[str, Any] = {
        "options_seen": sorted(set(options_seen)),
        "why": why,
        "moves": list(moves),
    }
    if published:
        out["published"] = published
    if converged:
        out["converged"] = {"value": _plain(converged["value"]), "option": converged["option"]}
    return out


def _plain(value: Any) -> Any:
    """NumPy scalars to plain Python so the JSON is portable."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"non-finite answer value {value}")
    return value


def validate(obj: Any) -> list[str]:
    """Problems with an answers object (empty list when it follows the contract)."""
    problems = []
    if not isinstance(obj, dict):
        return ["top level is not an object"]
    for key, typ in (("module", str), ("cohort", int), ("answers", dict)):
        if not isinstance(obj.get(key), typ):
            problems.append(f"{key!r} missing or not {typ.__name__}")
    if obj.get("cohort") != COHORT:
        problems.append(f"cohort is {obj.get('cohort')!r}, expected {COHORT}")
    answers = obj.get("answers") if isinstance(obj.get("answers"), dict) else {}
    if not answers:
        problems.append("no answers")
    for q, a in answers.items():
        if not (q.startswith("q") and q[1:].isdigit()):
            problems.append(f"answer key {q!r} is not q<N>")
        if not isinstance(a, dict) or "value" not in a or "option" not in a:
            problems.append(f"{q}: needs 'value' and 'option'")
            continue
        if a["option"] is not None and not isinstance(a["option"], str):
            problems.append(f"{q}: option must be a string or null")
        if "variants" in a:
            if "note" not in a:
                problems.append(f"{q}: variants without a note")
            for name, v in a["variants"].items():
                if not isinstance(v, dict) or "value" not in v or "option" not in v:
                    problems.append(f"{q}: variant {name!r} needs 'value' and 'option'")
        problems += _stability_problems(q, a)
    return problems


def _stability_problems(q: str, a: dict[str, Any]) -> list[str]:
    s = a.get("stability")
    if s is None:
        return []
    if not isinstance(s, dict) or not s.get("options_seen") or not s.get("why"):
        return [f"{q}: stability needs 'options_seen' and 'why'"]
    problems = []
    for name in s.get("moves") or ["value"]:
        moved = a if name == "value" else a.get("variants", {}).get(name)
        if moved is None:
            problems.append(
                f"{q}: stability moves {name!r}, which is neither 'value' nor a variant"
            )
        elif moved["option"] not in s["options_seen"]:
            problems.append(f"{q}: {name} option {moved['option']!r} not in {s['options_seen']}")
    return problems


def render_table(result: dict[str, Any]) -> str:
    rows = [f"{result['module']} homework ({result['cohort']})"]
    for q, a in result["answers"].items():
        value = a["value"]
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        rows.append(
            f"  {q:>3}  {shown:<24} -> {a['option'] if a['option'] is not None else '(free text)'}"
        )
        for name, v in a.get("variants", {}).items():
            vv = v["value"]
            vs = f"{vv:.6g}" if isinstance(vv, float) else str(vv)
            rows.append(f"         variant {name}: {vs} -> {v['option']}")
        if a.get("stability"):
            s = a["stability"]
            moves = ", ".join(s["moves"])
            rows.append(f"         unstable ({moves}): options seen {s['options_seen']}")
            if s.get("published"):
                rows.append(f"         published solution: {s['published']['option']}")
        if a.get("note"):
            rows.append(f"         note: {a['note']}")
    return "\n".join(rows)


def main(
    module: str,
    compute: Callable[[], dict[str, dict[str, Any]]],
    description: str | None = None,
    argv: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The command line every ``homework.py`` shares: ``--json`` or a readable table."""
    parser = argparse.ArgumentParser(description=description or f"{module} homework answers")
    parser.add_argument("--json", action="store_true", help="print the answers as one JSON object")
    args = parser.parse_args(argv)
    # the one script runner: a ZoomcampError is one line and exit 2
    result = {"module": module, "cohort": COHORT, "answers": script.run(compute)}
    problems = validate(result)
    if problems:
        raise RuntimeError("answers break the contract: " + "; ".join(problems))
    if args.json:
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(render_table(result))
    return result
