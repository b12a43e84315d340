"""uv run python 03-classification/train.py [--output PATH] [--C FLOAT]

Train the churn model that 05-deployment serves: one scikit-learn Pipeline
(DictVectorizer -> LogisticRegression) fitted on train+validation of the lesson's seed-1
split, scored on test, pickled to ``models/churn/churn-model.bin`` with
``churn-model.json`` next to it (sha256, library versions, data sha256, C, features,
categories, metrics). C is chosen by 5-fold cross-validated AUC unless ``--C`` is given.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import churn
import numpy as np
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import KFold
from tqdm import tqdm

from zoomcamp import reports
from zoomcamp.errors import ZoomcampError

MODULE = "03-classification"
C_GRID = [0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 10.0]
N_SPLITS = 5
THRESHOLD = 0.5


def cross_validate(
    df, C_grid=C_GRID, n_splits=N_SPLITS, seed=churn.SEED
) -> dict[float, list[float]]:
    """AUC of each fold for each C (KFold(5, shuffle=True, random_state=1))."""
    kfold = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    folds = list(kfold.split(df))
    scores: dict[float, list[float]] = {}
    with tqdm(total=len(C_grid) * len(folds), desc="CV over C", file=sys.stderr) as bar:
        for C in C_grid:
            scores[C] = []
            for train_idx, val_idx in folds:
                part_train, part_val = df.iloc[train_idx], df.iloc[val_idx]
                pipeline = churn.fit(part_train, C=C)
                scores[C].append(
                    roc_auc_score(part_val[churn.TARGET], churn.predict(pipeline, part_val))
                )
                bar.update()
    return scores


def train(output: Path, C: float | None = None) -> dict:
    if C is not None and not C > 0:
        raise ZoomcampError(f"--C must be positive, got {C}")
    df = churn.load_data()
    parts = churn.split(df)
    full_train, test = parts["full_train"], parts["test"]

    cv = None
    # lbfgs on the unscaled charges hits max_iter=1000 for most C (the course's setting):
    # churn.fit silences the per-fit warning; the final model's convergence goes in the
    # metadata ("converged").
    if C is None:
        scores = cross_validate(full_train, C_GRID)
        cv = {
            str(c): {"mean": float(np.mean(s)), "std": float(np.std(s))} for c, s in scores.items()
        }
        # Best mean AUC; ties (to 1e-12) go to the smaller C, the more regularised model.
        C = max(scores, key=lambda c: (round(float(np.mean(scores[c])), 12), -c))

    pipeline = churn.fit(full_train, C=C)
    y_test = test[churn.TARGET].to_numpy()
    proba = churn.predict(pipeline, test)
    metrics = {
        "test_auc": float(roc_auc_score(y_test, proba)),
        "test_accuracy": float(accuracy_score(y_test, proba >= THRESHOLD)),
        "threshold": THRESHOLD,
        "converged": churn.converged(pipeline),
        "n_train": len(full_train),
        "n_test": len(test),
        "cv_auc": cv,
    }
    metadata = {
        "data_sha256": churn.data_sha256(),
        "C": C,
        "features": {"categorical": churn.CATEGORICAL, "numerical": churn.NUMERICAL},
        "categories": churn.categories(df),
        "notes": churn.NOTES,
        "metrics": metrics,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    meta = churn.save_model(pipeline, output, metadata)
    reports.save_metrics(MODULE, "train", {"C": C, **metrics})
    return meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[1].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=churn.default_model_path(),
        help="model file; metadata goes next to it as .json (default: %(default)s)",
    )
    parser.add_argument(
        "--C",
        type=float,
        default=None,
        help=f"inverse regularisation strength (default: best 5-fold CV AUC over {C_GRID})",
    )
    args = parser.parse_args(argv)
    try:
        meta = train(args.output, args.C)
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    m = meta["metrics"]
    print(f"C={meta['C']}  test AUC={m['test_auc']:.4f}  test accuracy={m['test_accuracy']:.4f}")
    print(f"saved {args.output} (+ {args.output.with_suffix('.json').name})")


if __name__ == "__main__":
    main()
