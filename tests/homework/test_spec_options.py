"""Every committed answer picks an option written exactly as the course writes it: the
specs in ``../shared/specs`` quote the homework's option texts, and they are the independent
source (the homework scripts carry their own copies)."""

from __future__ import annotations

import json

import pytest

from zoomcamp import modules, paths

SPECS = paths.REPO_ROOT.parent / "shared" / "specs"
WITH_HOMEWORK = [m.name for m in modules.discover() if m.homework]


def spec_options(module: str) -> dict[str, list[str] | None]:
    """``{"q1": [option, ...]}`` from the questions table of the module's spec; ``None`` for
    a free-text question. Backticks (code formatting) are not part of an option."""
    options: dict[str, list[str] | None] = {}
    for line in (SPECS / f"{module}.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            texts = [o.strip().strip("`") for o in cells[2].split(" / ")]
            options[f"q{cells[0]}"] = None if texts == ["free text"] else texts
    return options


def test_the_spec_table_parses_code_options_and_free_text():
    options = spec_options("08-deep-learning")
    assert options["q1"][1] == "nn.BCEWithLogitsLoss()"
    assert spec_options("01-intro")["q1"] is None


@pytest.mark.parametrize("module", WITH_HOMEWORK)
def test_committed_answers_use_the_course_option_texts(module):
    if not SPECS.is_dir():
        pytest.fail(f"no specs folder at {SPECS}: the course's option texts are missing")
    spec = spec_options(module)
    result = json.loads((paths.REPO_ROOT / "reports" / module / "homework.json").read_text())
    assert sorted(result["answers"]) == sorted(spec)
    wrong = []
    for q, a in result["answers"].items():
        allowed = spec[q]
        chosen = [("answer", a["option"])] + [
            (name, v["option"]) for name, v in a.get("variants", {}).items()
        ]
        for who, option in chosen:
            if option is None:
                continue  # not computed here (the note says why) or free text
            if allowed is None or option not in allowed:
                wrong.append(f"{q} {who}: {option!r} not in {allowed}")
    assert wrong == []
