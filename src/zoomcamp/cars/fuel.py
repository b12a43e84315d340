"""Module 02's homework maths: linear regression on the car fuel efficiency data.

Imported as ``from zoomcamp import fuel`` by ``02-regression/homework.py`` and its
notebook. The split, the normal equation and RMSE are the car-price lesson's
(:mod:`zoomcamp.cars.regression`); this module only picks the homework's columns, fills the
gaps of ``horsepower`` and runs the validation and test fits the questions ask for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoomcamp import datasets
from zoomcamp.cars.regression import predict, rmse, split, train_linear_regression

FUEL_FEATURES = ["engine_displacement", "horsepower", "vehicle_weight", "model_year"]
FUEL_TARGET = "fuel_efficiency_mpg"


def load_fuel_efficiency() -> pd.DataFrame:
    """The homework's car fuel efficiency data, only its feature and target columns."""
    return pd.read_csv(datasets.fetch("car-fuel-efficiency"))[FUEL_FEATURES + [FUEL_TARGET]]


def fuel_xy(df: pd.DataFrame, fill: float) -> tuple[np.ndarray, np.ndarray]:
    return df[FUEL_FEATURES].fillna(fill).to_numpy(dtype=float), df[FUEL_TARGET].to_numpy(float)


def fuel_validation_rmse(df: pd.DataFrame, seed: int = 42, fill: str = "zero", r=0.0) -> float:
    """Train on the training part, RMSE on validation. ``fill``: "zero" or "mean"
    (the mean of the training part's horsepower, the only column with gaps)."""
    df_train, df_val, _ = split(df, seed)
    value = 0.0 if fill == "zero" else float(df_train["horsepower"].mean())
    X_train, y_train = fuel_xy(df_train, value)
    X_val, y_val = fuel_xy(df_val, value)
    w0, w = train_linear_regression(X_train, y_train, r=r)
    return rmse(y_val, predict(X_val, w0, w))


def fuel_test_rmse(df: pd.DataFrame, seed: int = 9, r: float = 0.001) -> float:
    """Train on train + validation (gaps filled with 0), RMSE on test."""
    df_train, df_val, df_test = split(df, seed)
    df_full = pd.concat([df_train, df_val]).reset_index(drop=True)
    X_full, y_full = fuel_xy(df_full, 0.0)
    X_test, y_test = fuel_xy(df_test, 0.0)
    w0, w = train_linear_regression(X_full, y_full, r=r)
    return rmse(y_test, predict(X_test, w0, w))
