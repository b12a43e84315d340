"""uv run python 01-intro/figures.py

Writes the figure the README shows: ``reports/01-intro/mpg-by-origin.png``, the
distribution of ``fuel_efficiency_mpg`` per origin (``zoomcamp.cars.intro.plot_mpg_by_origin``).
``homework.ipynb`` displays the same plot without writing it.
"""

from __future__ import annotations

import argparse
import sys

from zoomcamp import reports
from zoomcamp.cars import intro
from zoomcamp.errors import ZoomcampError

MODULE = "01-intro"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.parse_args(argv)
    try:
        path = reports.save_figure(
            MODULE, "mpg-by-origin", intro.plot_mpg_by_origin(intro.load_data())
        )
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"figure saved: {path}")


if __name__ == "__main__":
    main()
