"""The served churn model: a checked loader and a fast scorer (no web framework here).

The model is the scikit-learn ``Pipeline(DictVectorizer, LogisticRegression)`` that
``03-classification/train.py`` saves under ``models/churn/`` and ``build_model.py`` copies
into ``model/`` here: ``model.bin`` (the pickle) and ``metadata.json`` in the project's
one model schema (``zoomcamp-model/1``, written by ``zoomcamp.artifacts``). The image
imports nothing from the ``zoomcamp`` package, so ``load_model`` carries a small reader
of that schema: it checks the schema string, the sha256 of every file in ``files`` and
the library versions in ``versions`` before unpickling anything
(tests/code/test_deployment.py checks it agrees with ``zoomcamp.artifacts.verify``).

The folder comes from ``$MODEL_DIR``, else ``model/`` next to this file.

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
import importlib.metadata
import json
import math
import os
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL_DIR = HERE / "model"
SCHEMA = "zoomcamp-model/1"  # zoomcamp.artifacts.SCHEMA
METADATA_FILE = "metadata.json"
MODEL_FILE = "model.bin"
REQUIRED = ("schema", "name", "created", "files", "versions", "data", "metrics")
THRESHOLD = 0.5
BUILD = "uv run zoomcamp reproduce 03 && uv run python 05-deployment/build_model.py"


class ModelError(RuntimeError):
    """The model cannot be served (missing, tampered, wrong schema or library version)."""


def model_path() -> Path:
    """The model folder: ``$MODEL_DIR``, else ``model/`` next to this file."""
    return Path(os.environ.get("MODEL_DIR") or DEFAULT_MODEL_DIR)


def read_metadata(folder: Path) -> dict[str, Any]:
    """``folder/metadata.json``, checked for the schema and its required keys."""
    path = folder / METADATA_FILE
    if not folder.is_dir():
        kind = "a file, not a folder" if folder.exists() else "missing"
        raise ModelError(f"no model at {folder} ({kind}; set MODEL_DIR, or build it: {BUILD})")
    if not path.is_file():
        raise ModelError(f"no {METADATA_FILE} in {folder}: the model is incomplete ({BUILD})")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path} is not valid JSON: {exc}") from None
    found = meta.get("schema") if isinstance(meta, dict) else type(meta).__name__
    if found != SCHEMA:
        raise ModelError(f"{path}: schema {found!r}, expected {SCHEMA!r} ({BUILD})")
    missing = [key for key in REQUIRED if key not in meta]
    if missing:
        raise ModelError(f"{path} lacks {', '.join(missing)} ({BUILD})")
    files, versions = meta["files"], meta["versions"]
    if not isinstance(files, dict) or MODEL_FILE not in files:
        raise ModelError(f"{path}: 'files' does not name {MODEL_FILE}")
    if not isinstance(versions, dict) or "scikit-learn" not in versions:
        # unpickling is only safe under the version that pickled: it must be recorded
        raise ModelError(f"{path}: 'versions' does not record scikit-learn")
    return meta


def load_model(path: Path | str | None = None) -> tuple[Any, dict[str, Any]]:
    """The pipeline and its metadata from a model folder (default :func:`model_path`).

    Raises ``ModelError`` saying what to do when the folder or its metadata is missing,
    the schema is another, a file's sha256 differs from ``files``, or a library in
    ``versions`` (scikit-learn at least) is not the installed one. Nothing is unpickled
    before all of these pass."""
    folder = Path(path) if path is not None else model_path()
    meta = read_metadata(folder)
    blobs = {}
    for name, expected in meta["files"].items():
        file = folder / name
        if Path(name).name != name:
            raise ModelError(f"{folder / METADATA_FILE} names {name!r}, not a plain file name")
        try:
            blobs[name] = file.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read {file}: {exc} ({BUILD})") from None
        digest = hashlib.sha256(blobs[name]).hexdigest()
        if digest != expected:
            raise ModelError(
                f"{file} does not match its metadata: sha256 {digest} != {expected} "
                f"(restore the file or build the model again)"
            )
    for package, recorded in meta["versions"].items():
        if package == "python":
            continue
        try:
            installed = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != recorded:
            raise ModelError(
                f"{folder} was saved with {package} {recorded} but this environment has "
                f"{installed or 'none'}: refusing to unpickle it (pin the same version or "
                "train the model again)"
            )
    # the bytes hashed above, not a second read: what is unpickled is what was checked
    pipeline = pickle.loads(blobs[MODEL_FILE])
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
