"""uv run python 01-intro/homework.py [--json]

The 2025 homework of module 01 (car fuel efficiency, 7 questions), computed by
``zoomcamp.cars.intro``; ``--json`` prints the answers contract of ``zoomcamp.homework``.
"""

from zoomcamp import homework, script
from zoomcamp.cars import intro

if __name__ == "__main__":
    homework.main("01-intro", intro.compute, script.description(__doc__))
