"""uv run python 04-evaluation/lesson.py

Write the evaluation lesson's numbers and figures (``zoomcamp.churn.lessons.evaluation_lesson``)
to ``reports/04-evaluation/``: ``lesson.json``, ``accuracy-thresholds.png``,
``roc-curve.png`` and ``precision-recall.png``.
"""

from __future__ import annotations

from zoomcamp import script

MODULE = "04-evaluation"


def main(argv: list[str] | None = None) -> None:
    script.parser(__doc__).parse_args(argv)
    # imported here, so that --help needs neither pandas nor scikit-learn
    from zoomcamp import reports
    from zoomcamp.churn import lessons

    summary, figures = lessons.evaluation_lesson()
    written = [reports.save_metrics(MODULE, "lesson", summary)]
    written += [reports.save_figure(MODULE, name, fig) for name, fig in figures.items()]
    print(
        f"validation accuracy {summary['validation_accuracy']:.3f}, AUC {summary['auc']:.3f}; "
        f"final model (C = {summary['final_C']}) test AUC {summary['test_auc']:.3f}"
    )
    for path in written:
        print(f"saved {path}")


if __name__ == "__main__":
    script.run(main)
