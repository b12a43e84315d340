"""uv run python 03-classification/homework.py [--json]

The 2025 homework of module 03 (lead scoring, 6 questions), every answer computed from
the data. The solver quirk: the homework names ``LogisticRegression(solver='liblinear')``
but the course's published solution fitted the default ``lbfgs``; Q4-Q6 are computed with
both, both are recorded as variants, and ``option`` follows lbfgs (see ``NOTE``).
"""

from __future__ import annotations

from zoomcamp import homework
from zoomcamp.leads import homework as leads_homework

if __name__ == "__main__":
    homework.main(
        "03-classification",
        leads_homework.compute,
        description="Module 03 homework (2025): lead scoring",
    )
