"""uv run python 03-classification/lesson.py

Write the churn lesson's numbers and figures (``zoomcamp.churn.lessons.classification_lesson``)
to ``reports/03-classification/``: ``lesson.json``, ``churn-rate-by-group.png``,
``feature-importance.png`` and ``coefficients.png``.
"""

from __future__ import annotations

from zoomcamp import script

MODULE = "03-classification"


def main(argv: list[str] | None = None) -> None:
    script.parser(__doc__).parse_args(argv)
    # imported here, so that --help needs neither pandas nor scikit-learn
    from zoomcamp import reports
    from zoomcamp.churn import lessons

    summary, figures = lessons.classification_lesson()
    written = [reports.save_metrics(MODULE, "lesson", summary)]
    written += [reports.save_figure(MODULE, name, fig) for name, fig in figures.items()]
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
    script.run(main)
