"""uv run python 01-intro/figures.py

Write ``reports/01-intro/mpg-by-origin.png``, the distribution of ``fuel_efficiency_mpg``
per origin (``zoomcamp.cars.intro.plot_mpg_by_origin``), the figure the README shows.
"""

from __future__ import annotations

from zoomcamp import script

MODULE = "01-intro"


def main(argv: list[str] | None = None) -> None:
    script.parser(__doc__).parse_args(argv)
    # imported here, so that --help needs neither pandas nor matplotlib
    from zoomcamp import reports
    from zoomcamp.cars import intro

    fig = intro.plot_mpg_by_origin(intro.load_data())
    print(f"figure saved: {reports.save_figure(MODULE, 'mpg-by-origin', fig)}")


if __name__ == "__main__":
    script.run(main)
