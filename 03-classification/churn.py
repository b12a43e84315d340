"""The Telco churn lesson as a library: data preparation, the seed-1 split, EDA helpers,
the model pipeline and a checked loader for the model that ``train.py`` saves.

Used by ``train.py``, the notebooks of 03 and 04 (``04-evaluation/evaluation.py`` imports
this file: one source of truth for the data preparation) and the 05-deployment service::

    from churn import load_model
    pipeline, metadata = load_model(default_model_path())
    pipeline.predict_proba([customer])[0, 1]
"""

from __future__ import annotations

import hashlib
import json
import pickle
import platform
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mutual_info_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from zoomcamp import datasets, io, paths
from zoomcamp.errors import ZoomcampError

DATASET = "telco-churn"
SEED = 1
TARGET = "churn"
# ``seniorcitizen`` stays the dataset's 0/1 integer (the course's choice): it is listed as
# categorical, but DictVectorizer sees a number and makes one column of it, not two.
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


def default_model_path() -> Path:
    """Where ``train.py`` writes the model by default: ``models/churn/churn-model.bin``."""
    return paths.models_dir() / "churn" / "churn-model.bin"


def metadata_path(model_path: Path | str) -> Path:
    """The metadata JSON next to a model file (same stem): ``churn-model.json``."""
    return Path(model_path).with_suffix(".json")


# --------------------------------------------------------------------------- data


def normalise(df: pd.DataFrame) -> pd.DataFrame:
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
    """The Telco churn CSV (fetched and checksum-verified by default), normalised."""
    path = Path(path) if path is not None else datasets.fetch(DATASET)
    if not path.is_file():
        raise ZoomcampError(f"churn data not found: {path}")
    return normalise(pd.read_csv(path))


def data_sha256(path: Path | str | None = None) -> str:
    return io.sha256_file(path if path is not None else datasets.fetch(DATASET))


def split(df: pd.DataFrame, seed: int = SEED) -> dict[str, pd.DataFrame]:
    """60/20/20: ``train_test_split`` twice (0.2, then 0.25 of the rest) with one seed.

    Returns ``{"full_train", "train", "val", "test"}`` with fresh indexes."""
    full_train, test = train_test_split(df, test_size=0.2, random_state=seed)
    train, val = train_test_split(full_train, test_size=0.25, random_state=seed)
    return {
        k: v.reset_index(drop=True)
        for k, v in {"full_train": full_train, "train": train, "val": val, "test": test}.items()
    }


def records(df: pd.DataFrame, features: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows as the dicts DictVectorizer (and the web service) take."""
    return df[features or FEATURES].to_dict(orient="records")


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


def make_pipeline(C: float = 1.0, max_iter: int = 1000) -> Pipeline:
    """One-hot encoding and logistic regression in one object: it takes raw dicts."""
    return Pipeline(
        [
            ("dictvectorizer", DictVectorizer(sparse=False)),
            ("logisticregression", LogisticRegression(C=C, max_iter=max_iter)),
        ]
    )


def fit(df: pd.DataFrame, C: float = 1.0, features: list[str] | None = None) -> Pipeline:
    """Fit ``make_pipeline(C)`` on the rows of ``df``.

    BLAS runs single-threaded here: on this small problem extra threads only fight over
    the cores (one fit went from 12 s to 0.8 s on a busy 2-core machine). lbfgs on the
    unscaled charges stops at ``max_iter=1000`` for most C (the course's setting, kept):
    its ConvergenceWarning is silenced here and ``converged()`` reports it instead."""
    pipeline = make_pipeline(C)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(records(df, features), df[TARGET].to_numpy())
    return pipeline


def converged(pipeline: Pipeline) -> bool:
    """Whether lbfgs stopped before ``max_iter`` (unscaled charges slow it down)."""
    lr = pipeline.named_steps["logisticregression"]
    return bool(lr.n_iter_.max() < lr.max_iter)


def predict(pipeline: Pipeline, df: pd.DataFrame, features: list[str] | None = None) -> np.ndarray:
    """Churn probability of each row."""
    return pipeline.predict_proba(records(df, features))[:, 1]


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


# --------------------------------------------------------------------------- saving


def save_model(pipeline: Pipeline, path: Path | str, metadata: dict[str, Any]) -> dict[str, Any]:
    """Pickle ``pipeline`` to ``path`` and write its metadata JSON next to it (both atomic).

    The metadata gains ``model_file``, ``sha256`` and the library versions."""
    path = Path(path)
    with io.atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            pickle.dump(pipeline, fh, protocol=pickle.HIGHEST_PROTOCOL)
        digest = io.sha256_file(tmp)
    meta = {
        "model_file": path.name,
        "sha256": digest,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        **metadata,
    }
    io.write_json(metadata_path(path), meta)
    return meta


def load_model(path: Path | str | None = None) -> tuple[Pipeline, dict[str, Any]]:
    """Load a model saved by ``train.py`` and its metadata, refusing a file whose sha256
    or scikit-learn version differs from what the metadata recorded (ZoomcampError).

    The digest is checked before unpickling, so a swapped file is never executed."""
    path = Path(path) if path is not None else default_model_path()
    meta_path = metadata_path(path)
    if not path.is_file():
        raise ZoomcampError(
            f"no model at {path} (train one: uv run python 03-classification/train.py)"
        )
    if not meta_path.is_file():
        raise ZoomcampError(f"model {path} has no metadata file {meta_path.name} next to it")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ZoomcampError(f"metadata {meta_path} is not valid JSON: {exc}") from None
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta.get("sha256"):
        raise ZoomcampError(
            f"{path} does not match its metadata (sha256 {digest[:12]}… != "
            f"{str(meta.get('sha256'))[:12]}…): retrain or restore the file"
        )
    if meta.get("sklearn_version") != sklearn.__version__:
        raise ZoomcampError(
            f"{path} was saved with scikit-learn {meta.get('sklearn_version')}, this is "
            f"{sklearn.__version__}: retrain with this version"
        )
    pipeline = pickle.loads(data)
    return pipeline, meta


# --------------------------------------------------------------------------- figures


def plot_risk(table: pd.DataFrame, global_rate: float):
    """Churn rate of every categorical value (``risk_table``), with the global rate."""
    import matplotlib.pyplot as plt

    t = table.sort_values("mean")
    fig, ax = plt.subplots(figsize=(7, 10))
    labels = t["feature"] + " = " + t["value"].astype(str)
    colors = ["tab:red" if r > 1.2 else "tab:green" if r < 0.8 else "tab:gray" for r in t["risk"]]
    ax.barh(labels, t["mean"], color=colors)
    ax.axvline(global_rate, color="black", ls="--", label=f"global churn rate {global_rate:.3f}")
    ax.set_xlabel("churn rate (red: risk ratio > 1.2, green: < 0.8)")
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(loc="lower right")
    ax.set_title("Churn rate by group")
    return fig


def plot_feature_importance(mi: pd.Series, corr: pd.Series):
    """Mutual information of the categoricals and correlation of the numerics with churn."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [3, 1]})
    mi.sort_values().plot.barh(ax=ax1, color="tab:blue")
    ax1.set_xlabel("mutual information with churn (nats)")
    ax1.set_title("Categorical features")
    corr.plot.bar(ax=ax2, color=["tab:green" if v < 0 else "tab:red" for v in corr])
    ax2.axhline(0, color="black", lw=0.8)
    ax2.set_ylabel("Pearson correlation with churn")
    ax2.set_title("Numerical features")
    fig.tight_layout()
    return fig


def plot_coefficients(weights: pd.Series, top: int = 12):
    """The largest positive and negative weights of a fitted model."""
    import matplotlib.pyplot as plt

    w = weights.sort_values()
    w = pd.concat([w.head(top // 2), w.tail(top // 2)])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.barh(w.index, w.values, color=["tab:green" if v < 0 else "tab:red" for v in w])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("weight (log-odds of churn per unit / per one-hot value)")
    ax.set_title("Logistic regression: largest weights")
    return fig
