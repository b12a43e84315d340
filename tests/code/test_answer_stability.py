"""The answers contract's ``stability`` record: an unstable answer names the options its
computation reaches, and its own option must be one of them."""

from zoomcamp import homework


def _result(answer: dict) -> dict:
    return {"module": "03-classification", "cohort": homework.COHORT, "answers": {"q6": answer}}


def _unstable(option: str, seen: list[str], moves: list[str]) -> dict:
    return homework.answer(
        float(option),
        ["0.01", "0.1", "1", "10", "100"],
        option=option,
        variants={"lbfgs": {"value": float(option), "option": option}},
        note="option follows lbfgs",
        stability=homework.stability(seen, "lbfgs stops at max_iter", moves=moves),
    )


def test_an_option_among_those_seen_follows_the_contract():
    assert homework.validate(_result(_unstable("1", ["10", "1"], ["value", "lbfgs"]))) == []


def test_options_seen_are_sorted_and_unique():
    s = homework.stability(["10", "1", "10"], "why", moves=["value"])
    assert s["options_seen"] == ["1", "10"]


def test_an_option_outside_those_seen_breaks_the_contract():
    problems = homework.validate(_result(_unstable("100", ["1", "10"], ["value"])))
    assert problems == ["q6: value option '100' not in ['1', '10']"]


def test_moves_must_name_the_answer_or_a_variant():
    problems = homework.validate(_result(_unstable("1", ["1"], ["newton"])))
    assert problems == ["q6: stability moves 'newton', which is neither 'value' nor a variant"]


def test_the_table_shows_an_unstable_answer_and_the_published_option():
    answer = _unstable("1", ["1", "10"], ["value"])
    answer["stability"]["published"] = {"option": "1", "source": "the course's solution"}
    table = homework.render_table(_result(answer))
    assert "unstable (value): options seen ['1', '10']" in table
    assert "published solution: 1" in table
