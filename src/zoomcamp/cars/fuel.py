"""Module 02's homework (2025): linear regression on the car fuel efficiency data with the
lesson's normal equation (:mod:`zoomcamp.cars.regression`); one function per question and
:func:`compute`, the answers ``02-regression/homework.py`` prints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoomcamp import datasets, homework
from zoomcamp.cars.regression import predict, rmse, split, train_linear_regression

FUEL_FEATURES = ["engine_displacement", "horsepower", "vehicle_weight", "model_year"]
FUEL_TARGET = "fuel_efficiency_mpg"
R_GRID = [0, 0.01, 0.1, 1, 5, 10, 100]
OPTIONS_Q1 = ["engine_displacement", "horsepower", "vehicle_weight", "model_year"]
OPTIONS_Q2 = ["49", "99", "149", "199"]
OPTIONS_Q3 = ["With 0", "With mean", "Both are equally good"]
OPTIONS_Q4 = ["0", "0.01", "1", "10", "100"]
OPTIONS_Q5 = ["0.001", "0.006", "0.060", "0.600"]
OPTIONS_Q6 = ["0.15", "0.515", "5.15", "51.5"]


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


# --------------------------------------------------------------------------- questions


def q1(df: pd.DataFrame) -> dict:
    missing = df[FUEL_FEATURES].isnull().sum()
    cols = list(missing[missing > 0].index)
    if len(cols) != 1:
        raise AssertionError(f"expected one column with missing values, got {cols}")
    return homework.answer(cols[0], OPTIONS_Q1, option=cols[0])


def q2(df: pd.DataFrame) -> dict:
    return homework.answer(float(df["horsepower"].median()), OPTIONS_Q2)


def q3(df: pd.DataFrame) -> dict:
    zero = round(fuel_validation_rmse(df, fill="zero"), 2)
    mean = round(fuel_validation_rmse(df, fill="mean"), 2)
    option = "Both are equally good" if zero == mean else ("With 0" if zero < mean else "With mean")
    return homework.answer(f"with 0: {zero:.2f}, with mean: {mean:.2f}", OPTIONS_Q3, option=option)


def rmse_by_r(df: pd.DataFrame) -> dict[float, float]:
    """Validation RMSE (gaps filled with 0, 2 decimals) for each r of the homework."""
    return {r: round(fuel_validation_rmse(df, fill="zero", r=r), 2) for r in R_GRID}


def q4(df: pd.DataFrame) -> dict:
    scores = rmse_by_r(df)
    best = min(scores.values())
    r = min(r for r, s in scores.items() if s == best)  # ties: the smallest r
    matches = [o for o in OPTIONS_Q4 if float(o) == r]
    if not matches:
        raise AssertionError(f"best r = {r} is not one of the options {OPTIONS_Q4}")
    return homework.answer(r, OPTIONS_Q4, option=matches[0])


def seed_scores(df: pd.DataFrame) -> list[float]:
    """Validation RMSE (gaps filled with 0, no regularisation) for seeds 0 to 9."""
    return [fuel_validation_rmse(df, seed=s, fill="zero") for s in range(10)]


def q5(df: pd.DataFrame) -> dict:
    return homework.answer(round(float(np.std(seed_scores(df))), 3), OPTIONS_Q5)


def q6(df: pd.DataFrame) -> dict:
    return homework.answer(fuel_test_rmse(df, seed=9, r=0.001), OPTIONS_Q6)


def compute() -> dict:
    """The six answers (the ``zoomcamp.homework`` contract)."""
    df = load_fuel_efficiency()
    return {f"q{i}": q(df) for i, q in enumerate([q1, q2, q3, q4, q5, q6], start=1)}
