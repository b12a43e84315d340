"""uv run python 03-classification/train.py [--output DIR] [--C FLOAT]

Train the churn model that 05-deployment serves (``zoomcamp.churn.model.train``):
DictVectorizer -> LogisticRegression on train+validation, C by 5-fold CV AUC unless
``--C`` is given, scored on test. Writes ``models/churn/`` (``model.bin``, ``model.json``,
``metadata.json``) and ``reports/03-classification/train.json``.
"""

from __future__ import annotations

from pathlib import Path

from zoomcamp import paths, script
from zoomcamp.errors import ZoomcampError

MODULE = "03-classification"


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    parser.add_argument(
        "--output", type=Path, help=f"model folder (default: {paths.model_dir('churn')})"
    )
    parser.add_argument(
        "--C",
        type=float,
        help="inverse regularisation strength (default: the best 5-fold CV AUC over "
        "zoomcamp.churn.model.C_GRID)",
    )
    args = parser.parse_args(argv)
    if args.C is not None and not args.C > 0:
        raise ZoomcampError(f"--C must be positive, got {args.C}")
    output = args.output or paths.model_dir("churn")
    if output.exists() and not output.is_dir():
        raise ZoomcampError(f"--output must be a folder, {output} is a file")

    # imported here, so that --help needs neither pandas nor scikit-learn
    from zoomcamp import reports
    from zoomcamp.churn import model as churn

    meta, summary = churn.train(output, args.C)
    path = reports.save_metrics(MODULE, "train", summary)
    m = meta["metrics"]
    print(f"C={summary['C']}  test AUC={m['test_auc']:.4f}  test accuracy={m['test_accuracy']:.4f}")
    print(f"saved {output}/ ({', '.join(meta['files'])} + metadata.json) and {path}")


if __name__ == "__main__":
    script.run(main)
