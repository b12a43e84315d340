"""The Telco churn lesson (03, 04) as a library: data preparation, the seed-1 split, EDA
helpers, the model, its training (C by cross-validation) and the checked model folder
``models/churn/`` that 05-deployment serves (``load_model()``: the verified pipeline).
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import mutual_info_score
from sklearn.pipeline import Pipeline

from zoomcamp import artifacts, classification, datasets, fileio, metrics, paths
from zoomcamp.classification import converged
from zoomcamp.errors import ZoomcampError
from zoomcamp.settings import fast_mode

DATASET = "telco-churn"
SEED = 1
TARGET = "churn"
# seniorcitizen stays 0/1 (the course's choice): DictVectorizer makes one column of it
CATEGORICAL = [
    "gender", "seniorcitizen", "partner", "dependents", "phoneservice", "multiplelines",
    "internetservice", "onlinesecurity", "onlinebackup", "deviceprotection", "techsupport",
    "streamingtv", "streamingmovies", "contract", "paperlessbilling", "paymentmethod",
]  # fmt: skip
NUMERICAL = ["tenure", "monthlycharges", "totalcharges"]
FEATURES = CATEGORICAL + NUMERICAL
NOTES = (
    "seniorcitizen is listed as categorical (as in the course) but keeps the dataset's 0/1 "
    "integer values, so DictVectorizer encodes it as one numeric column; send it as 0 or 1."
)
MODEL_NAME = "churn"
MODEL_FILE = "model.bin"
PORTABLE_FILE = "model.json"
PORTABLE_FORMAT = "zoomcamp-logreg/1"
THRESHOLD = 0.5
C_GRID = [0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 10.0]
C_GRID_FAST = [0.1, 1.0]  # ZOOMCAMP_FAST=1 (tests, CI)
N_SPLITS = 5


def c_grid() -> list[float]:
    """The C values of the CV sweep (a short list when ``ZOOMCAMP_FAST=1``)."""
    return C_GRID_FAST if fast_mode() else C_GRID


def model_dir() -> Path:
    """Where ``train.py`` writes the model by default: ``models/churn/``."""
    return paths.model_dir(MODEL_NAME)


# --------------------------------------------------------------------------- data


def clean_strings(df: pd.DataFrame) -> pd.DataFrame:
    """The lesson's cleaning: column names and string values lowercased with spaces as
    ``_``; ``totalcharges`` to numbers (blank ones coerced, then 0); ``churn`` to 0/1."""
    df = df.copy()
    df.columns = df.columns.str.lower().str.replace(" ", "_")
    for col in df.columns:
        if pd.api.types.is_string_dtype(df[col]):
            df[col] = df[col].str.lower().str.replace(" ", "_")
    df["totalcharges"] = pd.to_numeric(df["totalcharges"], errors="coerce").fillna(0.0)
    if TARGET in df.columns and not pd.api.types.is_integer_dtype(df[TARGET]):
        df[TARGET] = (df[TARGET] == "yes").astype(int)
    return df


def load_data(path: Path | str | None = None) -> pd.DataFrame:
    """The Telco churn CSV (fetched and checksum-verified by default), strings cleaned."""
    path = Path(path) if path is not None else datasets.fetch(DATASET)
    if not path.is_file():
        raise ZoomcampError(f"churn data not found: {path}")
    return clean_strings(pd.read_csv(path))


def data_sha256(path: Path | str | None = None) -> str:
    return fileio.sha256_file(path if path is not None else datasets.fetch(DATASET))


def split(df: pd.DataFrame, seed: int = SEED) -> dict[str, pd.DataFrame]:
    """The lesson's 60/20/20 split (``classification.split_train_val_test``, seed 1)."""
    return classification.split_train_val_test(df, seed)


def records(df: pd.DataFrame, features: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows as the dicts DictVectorizer (and the web service) take."""
    return classification.records(df, features or FEATURES)


# --------------------------------------------------------------------------- EDA


def churn_rate_by_group(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Churn rate per value of ``column``: mean, count, difference from the global rate
    and the risk ratio (group rate / global rate)."""
    global_rate = df[TARGET].mean()
    out = df.groupby(column)[TARGET].agg(["mean", "count"])
    out["diff"] = out["mean"] - global_rate
    out["risk"] = out["mean"] / global_rate
    return out


def risk_table(df: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """``churn_rate_by_group`` for every categorical column, stacked."""
    parts = [
        churn_rate_by_group(df, c).rename_axis("value").reset_index().assign(feature=c)
        for c in (columns or CATEGORICAL)
    ]
    return pd.concat(parts, ignore_index=True)[
        ["feature", "value", "mean", "count", "diff", "risk"]
    ]


def mutual_information(
    df: pd.DataFrame, columns: list[str] | None = None, target: str = TARGET
) -> pd.Series:
    """Mutual information (nats) of each categorical with the target, largest first."""
    cols = columns or CATEGORICAL
    mi = {c: mutual_info_score(df[c], df[target]) for c in cols}
    return pd.Series(mi, name="mutual_info").sort_values(ascending=False)


def correlation(
    df: pd.DataFrame, columns: list[str] | None = None, target: str = TARGET
) -> pd.Series:
    """Pearson correlation of each numeric column with the target."""
    cols = columns or NUMERICAL
    return df[cols].corrwith(df[target]).rename("correlation")


# --------------------------------------------------------------------------- model


def fit(df: pd.DataFrame, C: float = 1.0, features: list[str] | None = None) -> Pipeline:
    """``Pipeline([DictVectorizer, LogisticRegression(C, max_iter=1000)])`` fitted on ``df``
    (lbfgs; see ``classification.fit_logistic`` for threads and convergence)."""
    return classification.fit_logistic(df, TARGET, features or FEATURES, C=C)


def predict(pipeline: Pipeline, df: pd.DataFrame, features: list[str] | None = None) -> np.ndarray:
    """Churn probability of each row."""
    return classification.predict_proba(pipeline, df, features or FEATURES)


def coefficients(pipeline: Pipeline) -> pd.Series:
    """The fitted weights by one-hot feature name (the bias is ``intercept_``)."""
    dv, lr = pipeline.named_steps["dictvectorizer"], pipeline.named_steps["logisticregression"]
    return pd.Series(lr.coef_[0], index=dv.get_feature_names_out(), name="weight")


def categories(df: pd.DataFrame) -> dict[str, list]:
    """Sorted dataset values of each categorical field (ints stay ints)."""
    return {
        c: sorted(v.item() if hasattr(v, "item") else v for v in df[c].unique())
        for c in CATEGORICAL
    }


def cross_validate(df: pd.DataFrame, C_values: list[float], seed: int = SEED) -> pd.DataFrame:
    """5-fold AUC of the churn model for each C (``metrics.cross_validate``)."""
    return metrics.cross_validate(
        df,
        C_values,
        fit=lambda d, C: fit(d, C=C),
        predict=predict,
        target=TARGET,
        n_splits=N_SPLITS,
        seed=seed,
    )


def train(folder: Path | str, C: float | None = None, C_values: list[float] | None = None):
    """Train the served model on train+validation of the seed-1 split, score it on test
    and save it to ``folder``; C by 5-fold CV AUC unless given (ties to 1e-12: the smaller
    C). Returns ``(metadata, summary)``, the summary being ``train.json``."""
    if C is not None and not C > 0:
        raise ZoomcampError(f"C must be positive, got {C}")
    df = load_data()
    parts = split(df)
    full_train, test = parts["full_train"], parts["test"]
    cv = None
    if C is None:
        table = cross_validate(full_train, C_values or c_grid()).set_index("C")
        cv = {str(c): {"mean": r["mean"], "std": r["std"]} for c, r in table.iterrows()}
        C = classification.best_C(list(table.index), table["mean"].round(12))
    pipeline = fit(full_train, C=C)
    y_test = test[TARGET].to_numpy()
    proba = predict(pipeline, test)
    summary = {
        "C": C,
        "test_auc": metrics.roc_auc(y_test, proba),
        "test_accuracy": metrics.accuracy(y_test, proba >= THRESHOLD),
        "threshold": THRESHOLD,
        "converged": converged(pipeline),
        "n_train": len(full_train),
        "n_test": len(test),
        "cv_auc": cv,
    }
    meta = save_model(
        pipeline,
        folder,
        data_sha256=data_sha256(),
        metrics={k: v for k, v in summary.items() if k not in ("C", "threshold")},
        params={"C": C, "solver": "lbfgs", "max_iter": classification.MAX_ITER},
        categories=categories(df),
    )
    return meta, summary


# --------------------------------------------------------------------------- saving


def portable(pipeline: Pipeline, categories: dict[str, list]) -> dict[str, Any]:
    """The fitted pipeline as plain data (``model.json``), enough to score without
    scikit-learn: ``p = sigmoid(intercept + Σ w[field=value] + Σ w[field]·value)``, an unseen
    value adding 0; ``vocabulary`` in ``coef_`` order, ``allowed`` the dataset's values."""
    steps = getattr(pipeline, "named_steps", {})
    dv, lr = steps.get("dictvectorizer"), steps.get("logisticregression")
    if dv is None or lr is None:
        raise ZoomcampError(
            f"expected Pipeline(dictvectorizer, logisticregression), got steps {list(steps)}"
        )
    if [int(c) for c in lr.classes_] != [0, 1] or lr.coef_.shape[0] != 1:
        raise ZoomcampError(f"expected a binary 0/1 classifier, got classes {list(lr.classes_)}")
    names = list(dv.get_feature_names_out())
    coef = [float(w) for w in lr.coef_[0]]
    categorical: dict[str, dict[str, float]] = {}
    numerical: dict[str, float] = {}
    for name, weight in zip(names, coef, strict=True):
        field, sep, value = name.partition(dv.separator)
        if sep:
            categorical.setdefault(field, {})[value] = weight
        else:
            numerical[name] = weight
    if set(categorical) & set(numerical):
        raise ZoomcampError(f"fields both one-hot and numeric: {set(categorical) & set(numerical)}")
    return {
        "format": PORTABLE_FORMAT,
        "model": "logistic regression on DictVectorizer one-hot columns",
        "formula": "p = 1 / (1 + exp(-(intercept + sum of categorical[field][value] "
        "+ sum of numerical[field] * value))); an unseen value adds 0",
        "intercept": float(lr.intercept_[0]),
        "weights": {"categorical": categorical, "numerical": numerical},
        "vocabulary": names,
        "separator": dv.separator,
        "allowed": {k: list(v) for k, v in categories.items()},
        "threshold": THRESHOLD,
    }


def save_model(
    pipeline: Pipeline,
    folder: Path | str,
    *,
    data_sha256: str,
    metrics: dict[str, Any],
    params: dict[str, Any],
    categories: dict[str, list],
) -> dict[str, Any]:
    """Pickle ``pipeline`` to ``folder/model.bin`` and write its :func:`portable` form to
    ``folder/model.json`` (each atomic), then write ``metadata.json``
    (:func:`zoomcamp.artifacts.save`, scikit-learn's version recorded) and return it."""
    folder = Path(folder)
    exported = portable(pipeline, categories)
    with fileio.atomic_path(folder / MODEL_FILE) as tmp, open(tmp, "wb") as fh:
        pickle.dump(pipeline, fh, protocol=pickle.HIGHEST_PROTOCOL)
    fileio.write_json(folder / PORTABLE_FILE, exported)
    return artifacts.save(
        folder,
        name=MODEL_NAME,
        files=[MODEL_FILE, PORTABLE_FILE],
        packages=("scikit-learn",),
        data={DATASET: data_sha256},
        metrics=metrics,
        params=params,
        threshold=THRESHOLD,
        features={"categorical": CATEGORICAL, "numerical": NUMERICAL},
        categories=categories,
        notes=NOTES,
    )


def load_model(folder: Path | str | None = None) -> tuple[Pipeline, dict[str, Any]]:
    """The pipeline and metadata of a model folder (default ``models/churn/``), verified
    (``artifacts.verify``) before the checked bytes are unpickled; a mismatch raises
    ``artifacts.ArtifactError``."""
    folder = Path(folder) if folder is not None else model_dir()
    meta = artifacts.verify(folder)
    if MODEL_FILE not in meta["files"]:
        raise artifacts.ArtifactError(f"{folder} has no {MODEL_FILE} in its metadata")
    data = (folder / MODEL_FILE).read_bytes()
    if hashlib.sha256(data).hexdigest() != meta["files"][MODEL_FILE]:
        raise artifacts.ArtifactError(f"{folder / MODEL_FILE} changed while it was verified")
    return pickle.loads(data), meta
