"""uv run python 04-evaluation/homework.py [--json]

The 2025 homework of module 04 (lead scoring evaluation, 6 questions), computed by
``zoomcamp.leads.evaluation``; Q2-Q6 with both solvers (the solver quirk, see the README).
"""

from zoomcamp import homework, script
from zoomcamp.leads import evaluation

if __name__ == "__main__":
    homework.main("04-evaluation", evaluation.compute, script.description(__doc__))
