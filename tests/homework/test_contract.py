"""Every module's ``homework.py --json`` follows the answers contract and gives the answers
committed in ``reports/NN-name/homework.json``: a changed answer fails here until the
report is rewritten on purpose (``uv run zoomcamp reproduce NN``).

Each homework runs once per session (some build images); the tests share its output.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from zoomcamp import homework, modules, paths

WITH_HOMEWORK = [m for m in modules.discover() if m.homework]
IDS = [m.name for m in WITH_HOMEWORK]
# The two tests of one module share its homework run (the `answers` cache is per process):
# one pytest-xdist group per module keeps them on the same worker (--dist loadgroup).
RUNS = [
    pytest.param(m, id=m.name, marks=pytest.mark.xdist_group(f"homework-{m.name}"))
    for m in WITH_HOMEWORK
]

# 08 answers from the committed PyTorch training history: the suite never trains 20 full
# epochs (the Keras variant is read from the committed Keras history by homework.py itself).
EXTRA_ARGS = {
    "08-deep-learning": ["--history", "reports/08-deep-learning/hair-torch-history.json"],
}

# Homeworks that need a model in the scratch models folder first: the fixture that makes it.
NEEDS_MODEL = {"09-serverless": "hair_torch_onnx"}

# Answers that come from a model the suite trains with tiny settings (ZOOMCAMP_FAST=1),
# so they cannot equal the full run's; each one's value is still checked by the contract.
NOT_PINNED: dict[tuple[str, str], str] = {
    ("09-serverless", "q4"): "our model's logit: the suite serves the fast-mode PyTorch export",
    ("09-serverless", "q6"): "the fast-mode model's logit through the emulator (null without "
    "Docker)",
}


@pytest.fixture(scope="session")
def answers() -> dict[str, dict]:
    return {}


@pytest.fixture
def run_homework(request, answers):
    def run(module: modules.Module) -> dict:
        if module.name in NEEDS_MODEL and module.name not in answers:
            request.getfixturevalue(NEEDS_MODEL[module.name])
        return _run(module, answers)

    return run


def _run(module: modules.Module, cache: dict[str, dict]) -> dict:
    if module.name not in cache:
        proc = subprocess.run(
            [
                sys.executable,
                str(module.folder / module.homework),
                "--json",
                *EXTRA_ARGS.get(module.name, []),
            ],
            cwd=paths.REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=1500,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        cache[module.name] = json.loads(proc.stdout)  # stdout holds the JSON and nothing else
    return cache[module.name]


def _same(got, want) -> bool:
    if isinstance(want, float) or isinstance(got, float):
        if not isinstance(got, int | float) or not isinstance(want, int | float):
            return False
        return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(want, dict) and isinstance(got, dict):
        return want.keys() == got.keys() and all(_same(got[k], want[k]) for k in want)
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(_same(g, w) for g, w in zip(got, want, strict=True))
    return got == want


@pytest.mark.slow  # every module's homework.py in a subprocess (08: trains)
@pytest.mark.parametrize("module", RUNS)
def test_homework_json_follows_contract(module, run_homework):
    result = run_homework(module)
    assert homework.validate(result) == []
    assert result["module"] == module.name


@pytest.mark.slow  # every module's homework.py in a subprocess (08: trains)
@pytest.mark.parametrize("module", RUNS)
def test_answers_are_the_committed_ones(module, run_homework):
    committed = json.loads(
        (paths.REPO_ROOT / "reports" / module.name / "homework.json").read_text(encoding="utf-8")
    )
    result = run_homework(module)
    assert sorted(result["answers"]) == sorted(committed["answers"])
    changed = []
    for q, want in committed["answers"].items():
        if (module.name, q) in NOT_PINNED:
            continue
        changed += _changes(q, result["answers"][q], want)
    assert changed == [], "answers changed (rewrite the report on purpose if intended)"


def _changes(q: str, got: dict, want: dict) -> list[str]:
    """What differs between a fresh answer and the committed one. An answer the report marks
    unstable is pinned by its options: what ``moves`` names must reach one of the options
    the committed computation saw, and everything else must be equal."""
    moves = set(want.get("stability", {}).get("moves", []))
    seen = want.get("stability", {}).get("options_seen", [])
    out = []
    for key in ("value", "option"):
        if "value" in moves:
            if key == "option" and got["option"] not in seen:
                out.append(f"{q}.option: {got['option']!r} not among {seen}")
        elif not _same(got.get(key), want.get(key)):
            out.append(f"{q}.{key}: committed {want.get(key)!r}, now {got.get(key)!r}")
    got_v, want_v = got.get("variants") or {}, want.get("variants") or {}
    if got_v.keys() != want_v.keys():
        out.append(f"{q}.variants: committed {sorted(want_v)}, now {sorted(got_v)}")
    for name in want_v.keys() & got_v.keys():
        if name in moves:
            if got_v[name]["option"] not in seen:
                out.append(f"{q}.variants.{name}: {got_v[name]['option']!r} not among {seen}")
        elif not _same(got_v[name], want_v[name]):
            out.append(f"{q}.variants.{name}: committed {want_v[name]!r}, now {got_v[name]!r}")
    return out


def test_an_unstable_answer_is_pinned_by_its_options_seen():
    want = {
        "value": 10,
        "option": "10",
        "variants": {
            "liblinear": {"value": 0.01, "option": "0.01"},
            "lbfgs": {"value": 10, "option": "10"},
        },
        "stability": {"options_seen": ["1", "10"], "why": "x", "moves": ["value", "lbfgs"]},
    }
    other_platform = {
        "value": 1,
        "option": "1",
        "variants": {
            "liblinear": {"value": 0.01, "option": "0.01"},
            "lbfgs": {"value": 1, "option": "1"},
        },
    }
    assert _changes("q6", other_platform, want) == []
    outside = {**other_platform, "option": "100"}
    assert _changes("q6", outside, want) == ["q6.option: '100' not among ['1', '10']"]
    stable_variant_moved = {
        **other_platform,
        "variants": {**other_platform["variants"], "liblinear": {"value": 0.1, "option": "0.1"}},
    }
    assert len(_changes("q6", stable_variant_moved, want)) == 1
    no_stability = {k: v for k, v in want.items() if k != "stability"}
    assert len(_changes("q6", other_platform, no_stability)) == 3


def test_the_pin_compares_numbers_strings_and_nesting():
    assert _same(0.5336072702798061, 0.5336072702798062)
    assert not _same(0.5336, 0.5340)
    assert not _same("0.84", "0.88")
    assert not _same({"lbfgs": {"value": 0.85}}, {"lbfgs": {"value": 0.7}})
    assert not _same(None, 0.1) and _same(None, None)


@pytest.mark.slow  # a subprocess, a framework import or a tool: seconds
@pytest.mark.parametrize("module", WITH_HOMEWORK, ids=IDS)
def test_homework_help(module):
    proc = subprocess.run(
        [sys.executable, str(module.folder / module.homework), "--help"],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "--json" in proc.stdout
