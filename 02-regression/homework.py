"""uv run python 02-regression/homework.py [--json]

The 2025 homework of module 2 (car fuel efficiency, linear regression by the normal
equation of ``zoomcamp.cars.regression``, run on the homework's columns by ``zoomcamp.cars.fuel``).
Every answer is computed from the data; ``--json`` prints the answers contract of
``zoomcamp.homework`` and nothing else on stdout.
"""

from __future__ import annotations

import numpy as np

from zoomcamp import homework
from zoomcamp.cars import fuel

MODULE = "02-regression"
FEATURES = fuel.FUEL_FEATURES
R_GRID = [0, 0.01, 0.1, 1, 5, 10, 100]

OPTIONS_Q1 = ["engine_displacement", "horsepower", "vehicle_weight", "model_year"]
OPTIONS_Q2 = ["49", "99", "149", "199"]
OPTIONS_Q3 = ["With 0", "With mean", "Both are equally good"]
OPTIONS_Q4 = ["0", "0.01", "1", "10", "100"]
OPTIONS_Q5 = ["0.001", "0.006", "0.060", "0.600"]
OPTIONS_Q6 = ["0.15", "0.515", "5.15", "51.5"]


def q1(df):
    missing = df[FEATURES].isnull().sum()
    cols = list(missing[missing > 0].index)
    assert len(cols) == 1, f"expected one column with missing values, got {cols}"
    return homework.answer(cols[0], OPTIONS_Q1, option=cols[0])


def q2(df):
    return homework.answer(float(df["horsepower"].median()), OPTIONS_Q2)


def q3(df):
    zero = round(fuel.fuel_validation_rmse(df, fill="zero"), 2)
    mean = round(fuel.fuel_validation_rmse(df, fill="mean"), 2)
    option = "Both are equally good" if zero == mean else ("With 0" if zero < mean else "With mean")
    return homework.answer(f"with 0: {zero:.2f}, with mean: {mean:.2f}", OPTIONS_Q3, option=option)


def rmse_by_r(df) -> dict[float, float]:
    return {r: round(fuel.fuel_validation_rmse(df, fill="zero", r=r), 2) for r in R_GRID}


def q4(df):
    scores = rmse_by_r(df)
    best = min(scores.values())
    r = min(r for r, s in scores.items() if s == best)  # ties: the smallest r
    matches = [o for o in OPTIONS_Q4 if float(o) == r]
    if not matches:
        raise AssertionError(f"best r = {r} is not one of the options {OPTIONS_Q4}")
    return homework.answer(r, OPTIONS_Q4, option=matches[0])


def seed_scores(df) -> list[float]:
    return [fuel.fuel_validation_rmse(df, seed=s, fill="zero") for s in range(10)]


def q5(df):
    std = round(float(np.std(seed_scores(df))), 3)
    return homework.answer(std, OPTIONS_Q5)


def q6(df):
    return homework.answer(fuel.fuel_test_rmse(df, seed=9, r=0.001), OPTIONS_Q6)


def compute() -> dict:
    df = fuel.load_fuel_efficiency()
    return {f"q{i}": f(df) for i, f in enumerate([q1, q2, q3, q4, q5, q6], start=1)}


if __name__ == "__main__":
    homework.main(MODULE, compute, description="02-regression homework (2025): car fuel efficiency")
