"""uv run python 03-classification/train.py [--output DIR] [--C FLOAT]

Train the churn model that 05-deployment serves: one scikit-learn Pipeline
(DictVectorizer -> LogisticRegression) fitted on train+validation of the lesson's seed-1
split, scored on test, saved as ``models/churn/model.bin`` (the pickle) and ``model.json``
(the same model as plain data, what 05-deployment's images serve) with ``metadata.json``
next to them (the project's model schema: file sha256, library versions, data sha256,
params, features, categories, metrics). C is chosen by 5-fold cross-validated AUC unless ``--C``
is given. The test and CV scores also go to ``reports/03-classification/train.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from zoomcamp import reports
from zoomcamp.churn import model as churn
from zoomcamp.errors import ZoomcampError

MODULE = "03-classification"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[1].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"model folder (default: {churn.model_dir()})",
    )
    parser.add_argument(
        "--C",
        type=float,
        default=None,
        help=f"inverse regularisation strength (default: best 5-fold CV AUC over {churn.C_GRID})",
    )
    args = parser.parse_args(argv)
    output = args.output or churn.model_dir()
    try:
        if args.C is not None and not args.C > 0:
            raise ZoomcampError(f"--C must be positive, got {args.C}")
        if output.exists() and not output.is_dir():
            raise ZoomcampError(f"--output must be a folder, {output} is a file")
        meta, summary = churn.train(output, args.C)
        path = reports.save_metrics(MODULE, "train", summary)
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    m = meta["metrics"]
    print(f"C={summary['C']}  test AUC={m['test_auc']:.4f}  test accuracy={m['test_accuracy']:.4f}")
    print(f"saved {output}/ ({', '.join(meta['files'])} + metadata.json) and {path}")


if __name__ == "__main__":
    main()
