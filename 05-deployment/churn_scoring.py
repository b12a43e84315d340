"""The served churn model: a checked loader and a fast scorer (no web framework here).

The model is the scikit-learn ``Pipeline(DictVectorizer, LogisticRegression)`` that
``03-classification/train.py`` saves, with its metadata JSON next to it. ``load_model``
refuses a file whose sha256 or scikit-learn version differs from the metadata, before
unpickling anything.

``FastScorer`` gives the same probability as ``pipeline.predict_proba`` without running
the pipeline: a logistic regression on DictVectorizer's one-hot columns is

    z = intercept + sum over fields of  w[field=value]   (string field: its one column)
                                     or w[field] * value (numeric field)
    p = 1 / (1 + exp(-z))

so each categorical field becomes a small ``value -> weight`` table, read once from
``vocabulary_`` and ``coef_``. A string value the vectorizer never saw adds nothing, as in
DictVectorizer. tests/services/test_churn_service.py proves ``FastScorer`` equal to the
pipeline to 1e-9 on every real customer and on random valid ones.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import sklearn

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL_PATH = HERE / "model" / "churn-model.bin"
THRESHOLD = 0.5


class ModelError(RuntimeError):
    """The model file cannot be served (missing, tampered, wrong library version)."""


def model_path() -> Path:
    """``$MODEL_PATH``, else ``model/churn-model.bin`` next to this file."""
    return Path(os.environ.get("MODEL_PATH") or DEFAULT_MODEL_PATH)


def load_model(path: Path | str | None = None) -> tuple[Any, dict[str, Any]]:
    """The pipeline and its metadata, after checking the file against the metadata.

    Raises ``ModelError`` with a message saying what to do when the file is missing, its
    sha256 differs from the metadata, or it was saved by another scikit-learn version."""
    path = Path(path) if path is not None else model_path()
    meta_path = path.with_suffix(".json")
    if not path.is_file():
        raise ModelError(
            f"no model file at {path} (set MODEL_PATH, or rebuild it: "
            "uv run python 05-deployment/build_model.py)"
        )
    if not meta_path.is_file():
        raise ModelError(f"model {path} has no metadata {meta_path.name} next to it")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        data = path.read_bytes()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"metadata {meta_path} is not valid JSON: {exc}") from None
    except OSError as exc:
        raise ModelError(f"cannot read the model: {exc}") from None
    if not isinstance(meta, dict):
        raise ModelError(f"metadata {meta_path} is not a JSON object")
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta.get("sha256"):
        raise ModelError(
            f"model {path} does not match its metadata: sha256 {digest} != "
            f"{meta.get('sha256')} (restore the file or rebuild it)"
        )
    if meta.get("sklearn_version") != sklearn.__version__:
        raise ModelError(
            f"model {path} was saved with scikit-learn {meta.get('sklearn_version')}"
            f" but this environment has {sklearn.__version__}: refusing to "
            "unpickle it (pin the same version or rebuild the model)"
        )
    pipeline = pickle.loads(data)  # the digest matched: this is the file train.py wrote
    return pipeline, meta


class FastScorer:
    """``pipeline.predict_proba(customers)[:, 1]`` from per-field weight tables."""

    def __init__(self, pipeline: Any):
        steps = getattr(pipeline, "named_steps", {})
        dv, lr = steps.get("dictvectorizer"), steps.get("logisticregression")
        if dv is None or lr is None:
            raise ModelError(
                f"expected Pipeline(dictvectorizer, logisticregression), got steps {list(steps)}"
            )
        if list(lr.classes_) != [0, 1] or lr.coef_.shape[0] != 1:
            raise ModelError(f"expected a binary 0/1 classifier, got classes {list(lr.classes_)}")
        coef = lr.coef_[0]
        self.intercept = float(lr.intercept_[0])
        self.tables: dict[str, dict[str, float]] = {}  # string field -> value -> weight
        self.numeric: dict[str, float] = {}  # numeric field -> weight
        sep = dv.separator
        for name, column in dv.vocabulary_.items():
            if sep in name:
                field, value = name.split(sep, 1)
                self.tables.setdefault(field, {})[value] = float(coef[column])
            else:
                self.numeric[name] = float(coef[column])
        overlap = set(self.tables) & set(self.numeric)
        if overlap:
            raise ModelError(
                f"fields both one-hot and numeric in the vectorizer: {sorted(overlap)}"
            )

    def features(self) -> dict[str, Any]:
        """What the model uses: categorical fields with their values, numeric fields."""
        return {
            "categorical": {f: sorted(t) for f, t in self.tables.items()},
            "numerical": sorted(self.numeric),
        }

    def logit(self, customer: Mapping[str, Any]) -> float:
        z = self.intercept
        tables, numeric = self.tables, self.numeric
        for field, value in customer.items():
            table = tables.get(field)
            if table is not None:
                z += table.get(value, 0.0)
            else:
                weight = numeric.get(field)
                if weight is not None:
                    z += weight * value
        return z

    def proba(self, customer: Mapping[str, Any]) -> float:
        return sigmoid(self.logit(customer))

    def proba_many(self, customers: Iterable[Mapping[str, Any]]) -> np.ndarray:
        return np.array([sigmoid(self.logit(c)) for c in customers], dtype=float)


def sigmoid(z: float) -> float:
    """1 / (1 + e^-z) without overflow for any finite z."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
