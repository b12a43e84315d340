"""Module 02: linear regression from scratch, as in the car-price lesson: the seed-based
60/20/20 split, the normal equation (regularised: ``XᵀX + r·I``), RMSE, the lesson's
features, its figures and the saved model ``models/car-price/`` (``model.json`` +
``metadata.json``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zoomcamp import artifacts, datasets, fileio
from zoomcamp.errors import ZoomcampError

BASE = ["engine_hp", "engine_cylinders", "highway_mpg", "city_mpg", "popularity"]
CATEGORICAL = [
    "engine_fuel_type",
    "transmission_type",
    "driven_wheels",
    "market_category",
    "vehicle_size",
    "vehicle_style",
]
TARGET = "msrp"
YEAR_REF = 2017  # the dataset was collected in 2017: age = 2017 - year
DOORS = [2, 3, 4]
# the condition number of XᵀX, columns scaled to unit length, above which it counts as
# singular (exact duplicates give ~1e16 or more)
SINGULAR_COND = 1e13


class SingularMatrixError(ZoomcampError):
    """XᵀX is (nearly) singular: the features are linearly dependent."""


# ---------------------------------------------------------------- data


def clean_strings(df: pd.DataFrame) -> pd.DataFrame:
    """Column names and string values lower-cased with spaces replaced by ``_``."""
    df = df.copy()
    df.columns = df.columns.str.lower().str.replace(" ", "_")
    for col in df.columns:
        if pd.api.types.is_string_dtype(df[col]):
            df[col] = df[col].str.lower().str.replace(" ", "_")
    return df


def load_car_prices(path: Path | str | None = None) -> pd.DataFrame:
    """The car-price dataset (11914 cars), strings cleaned."""
    path = Path(path) if path else datasets.fetch("car-price")
    if not path.is_file():
        raise ZoomcampError(f"car-price data not found at {path}")
    return clean_strings(pd.read_csv(path))


def split_indices(n: int, seed: int = 2, val: float = 0.2, test: float = 0.2):
    """Row indices for train / validation / test as in the lesson: ``np.random.seed(seed)``,
    shuffle ``arange(n)``; validation and test get ``int(val * n)``, ``int(test * n)`` rows."""
    if n < 3:
        raise ZoomcampError(f"need at least 3 rows to split, got {n}")
    n_val, n_test = int(n * val), int(n * test)
    n_train = n - n_val - n_test
    idx = np.arange(n)
    np.random.seed(seed)
    np.random.shuffle(idx)
    return idx[:n_train], idx[n_train : n_train + n_val], idx[n_train + n_val :]


def split(df: pd.DataFrame, seed: int = 2, val: float = 0.2, test: float = 0.2):
    """``(df_train, df_val, df_test)`` with fresh indices (see :func:`split_indices`)."""
    parts = split_indices(len(df), seed, val, test)
    return tuple(df.iloc[i].reset_index(drop=True) for i in parts)


# ---------------------------------------------------------------- maths


def train_linear_regression(X, y, r: float = 0.0) -> tuple[float, np.ndarray]:
    """``(w0, w)`` of ``w = (XᵀX + r·I)⁻¹ Xᵀy`` with a bias column of ones (regularised
    too, as in the lesson); a (nearly) singular XᵀX with ``r = 0`` raises
    :class:`SingularMatrixError`."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ZoomcampError(
            f"expected X of shape (n, d) and y of shape (n,), got {X.shape} and {y.shape}"
        )
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise ZoomcampError("X or y contains NaN or infinity: fill missing values first")
    if r < 0:
        raise ZoomcampError(f"regularisation r must be >= 0, got {r}")
    Xb = np.column_stack([np.ones(len(X)), X])
    XTX = Xb.T @ Xb
    if r > 0:
        XTX = XTX + r * np.eye(XTX.shape[0])
    elif is_singular(XTX):
        raise SingularMatrixError(
            "XᵀX is singular or nearly so (some features are linear combinations of others, "
            f"e.g. duplicated columns; scaled condition number over {SINGULAR_COND:.0e}): "
            "use regularisation, e.g. train_linear_regression(X, y, r=0.01)"
        )
    try:
        w_full = np.linalg.solve(XTX, Xb.T @ y)
    except np.linalg.LinAlgError as exc:
        raise SingularMatrixError(
            f"XᵀX cannot be inverted ({exc}): use regularisation (r > 0)"
        ) from None
    return float(w_full[0]), w_full[1:]


def scaled_condition(XTX: np.ndarray) -> float:
    """Condition number of XᵀX with every column scaled to unit length (inf if a column is 0)."""
    d = np.sqrt(np.diag(XTX))
    if (d == 0).any():
        return float("inf")
    return float(np.linalg.cond(XTX / np.outer(d, d)))


def is_singular(XTX: np.ndarray) -> bool:
    return not scaled_condition(XTX) < SINGULAR_COND


def predict(X, w0: float, w) -> np.ndarray:
    return w0 + np.asarray(X, dtype=float) @ np.asarray(w, dtype=float)


def rmse(y, y_pred) -> float:
    """Root mean squared error, written out as in the lesson."""
    error = np.asarray(y, dtype=float) - np.asarray(y_pred, dtype=float)
    return float(np.sqrt((error**2).mean()))


# ---------------------------------------------------------------- features


@dataclass
class FeatureSpec:
    """What ``prepare_X`` builds (learned from the training data, saved with the model):
    ``age`` and ``doors`` switch on engineered features, ``makes`` and ``categories`` hold
    the top values one-hot encoded by hand."""

    base: list[str] = field(default_factory=lambda: list(BASE))
    age: bool = False
    doors: bool = False
    makes: list[str] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fit(
        cls, df: pd.DataFrame, age=True, doors=True, n_makes=5, categorical=CATEGORICAL, n_top=5
    ):
        """The lesson's full feature set with the top values counted in ``df``."""
        makes = list(df["make"].value_counts().head(n_makes).index) if n_makes else []
        categories = {c: list(df[c].value_counts().head(n_top).index) for c in categorical}
        return cls(age=age, doors=doors, makes=makes, categories=categories)

    def names(self) -> list[str]:
        names = list(self.base)
        if self.age:
            names.append("age")
        if self.doors:
            names += [f"num_doors_{v}" for v in DOORS]
        names += [f"make_{v}" for v in self.makes]
        for c, values in self.categories.items():
            names += [f"{c}_{v}" for v in values]
        return names

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureSpec:
        return cls(**d)


def prepare_X(df: pd.DataFrame, spec: FeatureSpec | None = None) -> np.ndarray:
    """The design matrix of the lesson (without the bias column); missing values -> 0."""
    spec = spec or FeatureSpec()
    missing = [c for c in spec.base if c not in df.columns]
    if missing:
        raise ZoomcampError(
            f"missing columns {missing}; did you clean the strings (clean_strings)?"
        )
    cols = {c: df[c].astype(float) for c in spec.base}
    if spec.age:
        cols["age"] = YEAR_REF - df["year"]
    if spec.doors:
        for v in DOORS:
            cols[f"num_doors_{v}"] = (df["number_of_doors"] == v).astype(int)
    for v in spec.makes:
        cols[f"make_{v}"] = (df["make"] == v).astype(int)
    for c, values in spec.categories.items():
        for v in values:
            cols[f"{c}_{v}"] = (df[c] == v).astype(int)
    return pd.DataFrame(cols, index=df.index).fillna(0).to_numpy(dtype=float)


def target(df: pd.DataFrame) -> np.ndarray:
    """``log1p(msrp)``: the price has a long tail, its logarithm does not."""
    return np.log1p(df[TARGET].to_numpy(dtype=float))


# ---------------------------------------------------------------- figures


def price_tail_figure(df: pd.DataFrame):
    """MSRP under $100k next to log1p(MSRP) of every car: why the model predicts the log."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    axes[0].hist(df.msrp[df.msrp < 100_000], bins=50)
    axes[0].set_title("MSRP (cars under $100k)")
    axes[1].hist(np.log1p(df.msrp), bins=50, color="tab:orange")
    axes[1].set_title("log1p(MSRP), all cars")
    return fig


def price_figure(y_test, y_pred):
    """Histograms of actual and predicted log1p(MSRP) on the test part."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.linspace(min(y_test.min(), y_pred.min()), max(y_test.max(), y_pred.max()), 50)
    ax.hist(y_test, bins=bins, alpha=0.6, label="actual", color="tab:blue")
    ax.hist(y_pred, bins=bins, alpha=0.6, label="predicted", color="tab:orange")
    ax.set_xlabel("log1p(MSRP)")
    ax.set_ylabel("cars in the test part")
    ax.set_title(f"Car prices on test: predicted vs actual (RMSE {rmse(y_test, y_pred):.3f})")
    ax.legend()
    return fig


# ---------------------------------------------------------------- saved model

MODEL_NAME = "car-price"
MODEL_FILE = "model.json"
PACKAGES = ("numpy", "pandas")


def save_model(
    folder: Path,
    w0: float,
    w,
    spec: FeatureSpec,
    *,
    data: dict[str, str],
    metrics: dict[str, Any],
    **extra: Any,
) -> Path:
    """Weights + feature spec in ``model.json``, then the artifacts metadata (written last,
    so a folder with ``metadata.json`` is complete). ``data``: dataset name -> sha256."""
    folder = Path(folder)
    names = spec.names()
    w = np.asarray(w, dtype=float)
    if len(names) != len(w):
        raise ValueError(f"{len(w)} weights for {len(names)} features")
    model = {"w0": float(w0), "w": w.tolist(), "features": names, "spec": spec.to_dict()}
    fileio.write_json(folder / MODEL_FILE, model)
    artifacts.save(
        folder,
        name=MODEL_NAME,
        files=[MODEL_FILE],
        packages=PACKAGES,
        data=data,
        metrics=metrics,
        **extra,
    )
    return folder


def load_model(folder: Path) -> tuple[float, np.ndarray, FeatureSpec, dict[str, Any]]:
    """``(w0, w, spec, metadata)`` of a folder :func:`artifacts.verify` accepts (digest and
    numpy/pandas versions match); also checks the weights agree with the feature spec."""
    folder = Path(folder)
    meta = artifacts.verify(folder)
    if MODEL_FILE not in meta["files"]:
        raise artifacts.ArtifactError(f"{folder} holds no {MODEL_FILE}: not a car-price model")
    model = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
    spec = FeatureSpec.from_dict(model["spec"])
    if spec.names() != model["features"] or len(model["w"]) != len(model["features"]):
        raise ZoomcampError(
            f"{folder / MODEL_FILE} is inconsistent: features and weights do not match"
        )
    return float(model["w0"]), np.asarray(model["w"], dtype=float), spec, meta
