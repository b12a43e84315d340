"""uv run python 03-classification/homework.py [--json]

The 2025 homework of module 03 (lead scoring, 6 questions), computed by
``zoomcamp.leads.homework``; Q4-Q6 with both solvers (the solver quirk, see the README).
"""

from zoomcamp import homework, script
from zoomcamp.leads import homework as leads_homework

if __name__ == "__main__":
    homework.main("03-classification", leads_homework.compute, script.description(__doc__))
