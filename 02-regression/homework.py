"""uv run python 02-regression/homework.py [--json]

The 2025 homework of module 2 (car fuel efficiency, linear regression by the normal
equation of ``regression.py``). Every answer is computed here; ``--json`` prints the
answers contract of ``zoomcamp.homework`` and nothing else on stdout.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from regression import rmse, split, train_linear_regression

from zoomcamp import datasets, homework

MODULE = "02-regression"
FEATURES = ["engine_displacement", "horsepower", "vehicle_weight", "model_year"]
TARGET = "fuel_efficiency_mpg"
SEED = 42
R_GRID = [0, 0.01, 0.1, 1, 5, 10, 100]

OPTIONS_Q1 = ["engine_displacement", "horsepower", "vehicle_weight", "model_year"]
OPTIONS_Q2 = ["49", "99", "149", "199"]
OPTIONS_Q3 = ["With 0", "With mean", "Both are equally good"]
OPTIONS_Q4 = ["0", "0.01", "1", "10", "100"]
OPTIONS_Q5 = ["0.001", "0.006", "0.060", "0.600"]
OPTIONS_Q6 = ["0.15", "0.515", "5.15", "51.5"]


def load() -> pd.DataFrame:
    """The fuel-efficiency data restricted to the homework's columns."""
    df = pd.read_csv(datasets.fetch("car-fuel-efficiency"))
    return df[FEATURES + [TARGET]]


def xy(df: pd.DataFrame, fill: float) -> tuple[np.ndarray, np.ndarray]:
    return df[FEATURES].fillna(fill).to_numpy(dtype=float), df[TARGET].to_numpy(dtype=float)


def validation_rmse(
    df: pd.DataFrame, seed: int = SEED, fill: str = "zero", r: float = 0.0
) -> float:
    """Train on the training part, RMSE on validation. ``fill``: "zero" or "mean"
    (the mean of the training part's horsepower, the only column with gaps)."""
    df_train, df_val, _ = split(df, seed)
    value = 0.0 if fill == "zero" else float(df_train["horsepower"].mean())
    X_train, y_train = xy(df_train, value)
    X_val, y_val = xy(df_val, value)
    w0, w = train_linear_regression(X_train, y_train, r=r)
    return rmse(y_val, w0 + X_val @ w)


def q1(df):
    missing = df[FEATURES].isnull().sum()
    cols = list(missing[missing > 0].index)
    assert len(cols) == 1, f"expected one column with missing values, got {cols}"
    return homework.answer(cols[0], OPTIONS_Q1, option=cols[0])


def q2(df):
    return homework.answer(float(df["horsepower"].median()), OPTIONS_Q2)


def q3(df):
    zero = round(validation_rmse(df, fill="zero"), 2)
    mean = round(validation_rmse(df, fill="mean"), 2)
    option = "Both are equally good" if zero == mean else ("With 0" if zero < mean else "With mean")
    return homework.answer(f"with 0: {zero:.2f}, with mean: {mean:.2f}", OPTIONS_Q3, option=option)


def rmse_by_r(df) -> dict[float, float]:
    return {r: round(validation_rmse(df, fill="zero", r=r), 2) for r in R_GRID}


def q4(df):
    scores = rmse_by_r(df)
    best = min(scores.values())
    r = min(r for r, s in scores.items() if s == best)  # ties: the smallest r
    matches = [o for o in OPTIONS_Q4 if float(o) == r]
    if not matches:
        raise AssertionError(f"best r = {r} is not one of the options {OPTIONS_Q4}")
    return homework.answer(r, OPTIONS_Q4, option=matches[0])


def seed_scores(df) -> list[float]:
    return [validation_rmse(df, seed=s, fill="zero") for s in range(10)]


def q5(df):
    std = round(float(np.std(seed_scores(df))), 3)
    return homework.answer(std, OPTIONS_Q5)


def final_test_rmse(df, seed: int = 9, r: float = 0.001) -> float:
    df_train, df_val, df_test = split(df, seed)
    df_full = pd.concat([df_train, df_val]).reset_index(drop=True)
    X_full, y_full = xy(df_full, 0.0)
    X_test, y_test = xy(df_test, 0.0)
    w0, w = train_linear_regression(X_full, y_full, r=r)
    return rmse(y_test, w0 + X_test @ w)


def q6(df):
    return homework.answer(final_test_rmse(df), OPTIONS_Q6)


def compute() -> dict:
    df = load()
    return {f"q{i}": f(df) for i, f in enumerate([q1, q2, q3, q4, q5, q6], start=1)}


if __name__ == "__main__":
    homework.main(MODULE, compute, description="02-regression homework (2025): car fuel efficiency")
