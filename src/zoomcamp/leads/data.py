"""The lead-scoring data of the 2025 homeworks of 03 and 04: gaps filled as the homework
says (``'NA'``, ``0.0``), the split, and ``DictVectorizer`` + ``LogisticRegression`` with
either solver (the solver quirk: see ``SOLVERS``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import mutual_info_score
from sklearn.pipeline import Pipeline

from zoomcamp import classification, datasets
from zoomcamp.errors import ZoomcampError

DATASET = "lead-scoring"
TARGET = "converted"
CATEGORICAL = ["lead_source", "industry", "employment_status", "location"]
NUMERICAL = ["number_of_courses_viewed", "annual_income", "interaction_count", "lead_score"]
FEATURES = CATEGORICAL + NUMERICAL
# "liblinear": what the homework text asks for; "lbfgs": scikit-learn's default, what the
# course's published solution actually fitted.
SOLVERS = ("liblinear", "lbfgs")


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Fill the gaps: ``'NA'`` in categorical columns, ``0.0`` in numeric ones."""
    missing = [c for c in FEATURES + [TARGET] if c not in df.columns]
    if missing:
        raise ZoomcampError(f"lead-scoring data lacks columns {missing}")
    df = df.copy()
    df[CATEGORICAL] = df[CATEGORICAL].fillna("NA")
    df[NUMERICAL] = df[NUMERICAL].fillna(0.0)
    return df


def load_data(path: Path | str | None = None) -> pd.DataFrame:
    """The lead-scoring CSV (fetched and checksum-verified by default), prepared."""
    path = Path(path) if path is not None else datasets.fetch(DATASET)
    if not path.is_file():
        raise ZoomcampError(f"lead-scoring data not found: {path}")
    return prepare(pd.read_csv(path))


def split(df: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
    """60/20/20 (``classification.split_train_val_test``): seed 42 in 03, 1 in 04."""
    return classification.split_train_val_test(df, seed)


def most_frequent(df: pd.DataFrame, column: str) -> str:
    """The mode of a column (ties: the first in sorted order, as ``Series.mode``)."""
    return str(df[column].mode().iloc[0])


def largest_correlation(
    df: pd.DataFrame, pairs: list[tuple[str, str]]
) -> tuple[tuple[str, str], dict]:
    """Pearson correlations of the given pairs; the pair with the largest |r|."""
    corr = df[NUMERICAL].corr()
    values = {f"{a} and {b}": float(corr.loc[a, b]) for a, b in pairs}
    best = max(pairs, key=lambda p: abs(corr.loc[p[0], p[1]]))
    return best, values


def mutual_information(df: pd.DataFrame, columns: list[str] | None = None) -> pd.Series:
    """Mutual information (nats) of each categorical with ``converted``, largest first."""
    cols = columns or CATEGORICAL
    return pd.Series({c: mutual_info_score(df[c], df[TARGET]) for c in cols}).sort_values(
        ascending=False
    )


def make_model(
    solver: str = "liblinear", C: float = 1.0, random_state: int | None = 42
) -> Pipeline:
    """The homework's ``DictVectorizer`` + ``LogisticRegression(solver, C, max_iter=1000,
    random_state)`` pipeline, unfitted."""
    if solver not in SOLVERS:
        raise ZoomcampError(f"solver must be one of {SOLVERS}, got {solver!r}")
    return classification.make_logistic(C=C, solver=solver, random_state=random_state)


def records(df: pd.DataFrame, features: list[str] | None = None) -> list[dict[str, Any]]:
    return classification.records(df, features or FEATURES)


def fit(
    df: pd.DataFrame,
    features: list[str] | None = None,
    solver: str = "liblinear",
    C: float = 1.0,
    random_state: int | None = 42,
    max_iter: int = classification.MAX_ITER,
) -> Pipeline:
    """Fit the homework model on ``df`` (``classification.fit_logistic``; lbfgs stopping at
    ``max_iter`` on the unscaled ``annual_income`` is the quirk, not an error)."""
    if solver not in SOLVERS:
        raise ZoomcampError(f"solver must be one of {SOLVERS}, got {solver!r}")
    return classification.fit_logistic(
        df,
        TARGET,
        features or FEATURES,
        C=C,
        solver=solver,
        random_state=random_state,
        max_iter=max_iter,
    )


def predict(model: Pipeline, df: pd.DataFrame, features: list[str] | None = None) -> np.ndarray:
    """Probability of ``converted == 1`` for each row."""
    return classification.predict_proba(model, df, features or FEATURES)


def accuracy(
    model: Pipeline, df: pd.DataFrame, features: list[str] | None = None, threshold: float = 0.5
) -> float:
    y_pred = predict(model, df, features) >= threshold
    return float((y_pred == df[TARGET].to_numpy()).mean())


def feature_elimination(
    train: pd.DataFrame,
    val: pd.DataFrame,
    solver: str,
    features: list[str] | None = None,
    max_iter: int = classification.MAX_ITER,
) -> dict[str, float]:
    """Accuracy of the full model minus the accuracy without each feature in turn."""
    features = features or FEATURES
    full = accuracy(fit(train, features, solver, max_iter=max_iter), val, features)
    out = {}
    for f in features:
        rest = [c for c in features if c != f]
        out[f] = full - accuracy(fit(train, rest, solver, max_iter=max_iter), val, rest)
    return out


def predicted_positive_rate(model: Pipeline, df: pd.DataFrame, threshold: float = 0.5) -> float:
    """Share of rows predicted ``converted`` (liblinear's over-prediction shows here)."""
    return float((predict(model, df) >= threshold).mean())
