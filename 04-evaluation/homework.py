"""uv run python 04-evaluation/homework.py [--json]

The 2025 homework of module 04 (lead scoring evaluation, 6 questions), computed with the
hand-written metrics of ``zoomcamp.metrics``. The solver quirk of 03 again: the homework names
``LogisticRegression(solver='liblinear')``; the published solution used lbfgs for Q2 and
liblinear for Q5-Q6. Q2-Q6 are computed with both solvers, both recorded as variants, and
``option`` follows the solver the published solution used for that question.
"""

from __future__ import annotations

from zoomcamp import homework
from zoomcamp.leads import evaluation as leads_evaluation

if __name__ == "__main__":
    homework.main(
        "04-evaluation",
        leads_evaluation.compute,
        description="Module 04 homework (2025): lead scoring evaluation",
    )
