"""What the churn lesson and the lead-scoring homework (03, 04) share: the 60/20/20 split
and a ``DictVectorizer`` + ``LogisticRegression`` pipeline that takes rows as dicts.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

MAX_ITER = 1000  # the course's setting for every logistic regression of 03 and 04


def split_train_val_test(df: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
    """60/20/20: ``train_test_split`` twice (0.2, then 0.25 of the rest) with one seed.

    Returns ``{"full_train", "train", "val", "test"}`` with fresh indexes."""
    full_train, test = train_test_split(df, test_size=0.2, random_state=seed)
    train, val = train_test_split(full_train, test_size=0.25, random_state=seed)
    return {
        k: v.reset_index(drop=True)
        for k, v in {"full_train": full_train, "train": train, "val": val, "test": test}.items()
    }


def records(df: pd.DataFrame, features: list[str]) -> list[dict[str, Any]]:
    """Rows as the dicts DictVectorizer (and the web service) take."""
    return df[features].to_dict(orient="records")


def make_logistic(
    *,
    C: float = 1.0,
    solver: str = "lbfgs",
    random_state: int | None = None,
    max_iter: int = MAX_ITER,
) -> Pipeline:
    """One-hot encoding and logistic regression in one object: it takes raw dicts."""
    return Pipeline(
        [
            ("dictvectorizer", DictVectorizer(sparse=False)),
            (
                "logisticregression",
                LogisticRegression(
                    C=C, solver=solver, max_iter=max_iter, random_state=random_state
                ),
            ),
        ]
    )


def fit_logistic(
    df: pd.DataFrame,
    target: str,
    features: list[str],
    *,
    C: float = 1.0,
    solver: str = "lbfgs",
    random_state: int | None = None,
    max_iter: int = MAX_ITER,
) -> Pipeline:
    """Fit ``make_logistic(...)`` on the rows of ``df`` with one BLAS thread; lbfgs's
    ConvergenceWarning is silenced, :func:`converged` reports it (README: Decisions)."""
    model = make_logistic(C=C, solver=solver, random_state=random_state, max_iter=max_iter)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(records(df, features), df[target].to_numpy())
    return model


def predict_proba(model: Pipeline, df: pd.DataFrame, features: list[str]) -> np.ndarray:
    """Probability of the positive class for each row."""
    return model.predict_proba(records(df, features))[:, 1]


def converged(model: Pipeline) -> bool:
    """Whether lbfgs stopped before ``max_iter``."""
    lr = model.named_steps["logisticregression"]
    return bool(lr.n_iter_.max() < lr.max_iter)


def best_C(
    C_values: Sequence[float],
    scores: Mapping[float, float],
    stds: Mapping[float, float] | None = None,
) -> float:
    """The C of ``C_values`` with the highest score (round the scores first where the
    homework says so); ties go to the lower std when ``stds`` is given, then to the
    smaller C, the more regularised model. Returns the element of ``C_values`` itself."""
    return min(C_values, key=lambda C: (-scores[C], stds[C] if stds is not None else 0.0, C))
