"""uv run python 02-regression/homework.py [--json]

The 2025 homework of module 02 (car fuel efficiency, 6 questions), computed by
``zoomcamp.cars.fuel``; ``--json`` prints the answers contract of ``zoomcamp.homework``.
"""

from zoomcamp import homework, script
from zoomcamp.cars import fuel

if __name__ == "__main__":
    homework.main("02-regression", fuel.compute, script.description(__doc__))
