"""uv run python 03-classification/lesson.py

Write the churn lesson's numbers and figures to ``reports/03-classification/``:
``lesson.json`` (split sizes, churn rate, mutual information, correlations, validation and
test accuracy, whether lbfgs converged, the ``OneHotEncoder`` + ``StandardScaler`` variant's
validation accuracy and convergence, one scored customer), ``churn-rate-by-group.png``, ``feature-importance.png``
and ``coefficients.png``. ``churn.ipynb`` walks through the same steps
(``zoomcamp.churn.lessons.classification_lesson``).
"""

from __future__ import annotations

import argparse
import sys

from zoomcamp import reports
from zoomcamp.churn import lessons as churn_lessons
from zoomcamp.errors import ZoomcampError

MODULE = "03-classification"


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[1].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).parse_args(argv)
    try:
        summary, figures = churn_lessons.classification_lesson()
        written = [reports.save_metrics(MODULE, "lesson", summary)]
        written += [reports.save_figure(MODULE, name, fig) for name, fig in figures.items()]
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    variant = summary["onehot_scaled"]
    print(
        f"validation accuracy {summary['validation_accuracy']:.3f} "
        f"(DictVectorizer, lbfgs converged: {summary['validation_converged']}), "
        f"{variant['validation_accuracy']:.3f} (OneHotEncoder + StandardScaler, "
        f"converged: {variant['converged']}, {variant['n_iter']} iterations), "
        f"test accuracy {summary['test_accuracy_full_train']:.3f}"
    )
    for path in written:
        print(f"saved {path}")


if __name__ == "__main__":
    main()
