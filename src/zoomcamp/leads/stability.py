"""How sure an lbfgs answer of the lead-scoring homework is.

lbfgs stops at the course's ``max_iter=1000`` before it converges (``annual_income`` is not
scaled), so where it stops depends on the CPU's floating-point rounding: another machine
gives other values, sometimes another option. Answering the same question with ``max_iter``
10 % lower and higher moves the stopping point the way another platform does; the options
reached are the answer's ``options_seen`` (:func:`zoomcamp.homework.stability`). The
converged fit (``max_iter`` 10,000) is recorded beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from zoomcamp import homework

PERTURBED_MAX_ITER = (900, 1000, 1100)
CONVERGED_MAX_ITER = 10_000

WHY = (
    "lbfgs stops at max_iter=1000 before converging (annual_income is not scaled), so its "
    "result depends on floating-point rounding and moves across CPUs; answered with max_iter "
    "900 / 1000 / 1100 it gives {values}"
)


def record(
    answer_at: Callable[[int], dict[str, Any]],
    moves: Sequence[str],
    published: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The stability record of an lbfgs answer (``answer_at(max_iter)`` gives its
    ``{"value", "option"}``), or ``None`` when the perturbed fits all agree."""
    results = [answer_at(m) for m in PERTURBED_MAX_ITER]
    if all(r["value"] == results[0]["value"] for r in results) and published is None:
        return None
    values = " / ".join(f"{_short(r['value'])} ({r['option']})" for r in results)
    return homework.stability(
        [r["option"] for r in results],
        WHY.format(values=values),
        moves=moves,
        published=published,
        converged=answer_at(CONVERGED_MAX_ITER),
    )


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
