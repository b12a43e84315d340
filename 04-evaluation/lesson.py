"""uv run python 04-evaluation/lesson.py

Write the evaluation lesson's numbers and figures to ``reports/04-evaluation/``:
``lesson.json`` (accuracy and the dummy baseline, confusion matrix, precision, recall, AUC
four ways, 5-fold CV AUC per C, and ``test_auc``: the final model, C = 1, fitted on
train+validation and scored on test), ``accuracy-thresholds.png``, ``roc-curve.png`` and
``precision-recall.png``. ``evaluation.ipynb`` walks through the same steps
(``zoomcamp.churn.lessons.evaluation_lesson``).
"""

from __future__ import annotations

import argparse
import sys

from zoomcamp import reports
from zoomcamp.churn import lessons as churn_lessons
from zoomcamp.errors import ZoomcampError

MODULE = "04-evaluation"


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[1].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).parse_args(argv)
    try:
        summary, figures = churn_lessons.evaluation_lesson()
        written = [reports.save_metrics(MODULE, "lesson", summary)]
        written += [reports.save_figure(MODULE, name, fig) for name, fig in figures.items()]
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(
        f"validation accuracy {summary['validation_accuracy']:.3f}, AUC {summary['auc']:.3f}; "
        f"final model (C = {summary['final_C']}) test AUC {summary['test_auc']:.3f}"
    )
    for path in written:
        print(f"saved {path}")


if __name__ == "__main__":
    main()
