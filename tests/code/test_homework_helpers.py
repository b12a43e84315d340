"""The homework answers contract: option choice and validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zoomcamp import homework, paths


@pytest.mark.parametrize(
    ("value", "options", "expected"),
    [
        (0.52, ["0.051", "0.51", "5.1", "51"], "0.51"),
        (3.0, ["1", "2", "3", "4"], "3"),
        (0.0055, ["0.001", "0.006", "0.060", "0.600"], "0.006"),
        (1.5, ["1", "2", "3"], "2"),  # exact tie: the higher option, as the course rules
        (-2.0, ["-1.0", "-0.10", "0.10", "1.0"], "-1.0"),
        (330.0, ["45 MB", "121 MB", "245 MB", "330 MB"], "330 MB"),
    ],
)
def test_closest_option(value, options, expected):
    assert homework.closest_option(value, options) == expected


def test_answer_converts_numpy_and_rejects_unknown_text_option():
    a = homework.answer(np.float64(0.25), ["0.1", "0.3"])
    assert a == {"value": 0.25, "option": "0.3"} and type(a["value"]) is float
    with pytest.raises(ValueError):
        homework.answer("x", ["With 0", "With mean"], option="With zero")
    with pytest.raises(ValueError):
        homework.answer(float("nan"), ["1", "2"])
    assert homework.answer("2.2.3") == {"value": "2.2.3", "option": None}


def test_validate_accepts_a_good_result_and_names_problems():
    good = {
        "module": "01-intro",
        "cohort": 2025,
        "answers": {
            "q1": homework.answer("2.2.3"),
            "q2": homework.answer(
                0.7,
                ["0.64", "0.74"],
                variants={
                    "lbfgs": {"value": 0.7, "option": "0.74"},
                    "liblinear": {"value": 0.6, "option": "0.64"},
                },
                note="follows lbfgs",
            ),
        },
    }
    assert homework.validate(good) == []
    bad = {
        "module": "01-intro",
        "cohort": 2024,
        "answers": {"one": {"value": 1}, "q2": {"value": 1, "option": None, "variants": {}}},
    }
    problems = homework.validate(bad)
    assert any("cohort" in p for p in problems)
    assert any("'one'" in p for p in problems)
    assert any("needs 'value' and 'option'" in p for p in problems)
    assert any("variants without a note" in p for p in problems)
    assert homework.validate([]) == ["top level is not an object"]


def test_main_prints_json_only(capsys):
    homework.main("01-intro", lambda: {"q1": homework.answer(3.0, ["1", "3"])}, argv=["--json"])
    out = capsys.readouterr().out
    assert json.loads(out) == {
        "module": "01-intro",
        "cohort": 2025,
        "answers": {"q1": {"value": 3.0, "option": "3"}},
    }


SPECS = paths.REPO_ROOT.parent / "shared" / "specs"


def _spec_options(module: str) -> dict[str, list[str]]:
    """``{"q1": [option, ...]}`` from the questions table of the module's spec."""
    options = {}
    for line in (SPECS / f"{module}.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            options[f"q{cells[0]}"] = [o.strip() for o in cells[2].split(" / ")]
    return options


@pytest.mark.parametrize("module", ["03-classification", "04-evaluation"])
def test_committed_answers_pick_the_specs_options(module):
    # The spec is the independent source of the option texts (the homework scripts carry
    # their own copies); every chosen option and every variant's must be one of them.
    if not SPECS.is_dir():
        pytest.skip(f"no specs folder at {SPECS}")
    spec = _spec_options(module)
    result = json.loads((paths.REPO_ROOT / "reports" / module / "homework.json").read_text())
    assert sorted(result["answers"]) == sorted(spec) and len(spec) == 6
    for q, a in result["answers"].items():
        assert a["option"] in spec[q], (q, a["option"], spec[q])
        for name, v in a.get("variants", {}).items():
            assert v["option"] in spec[q], (q, name, v["option"], spec[q])
