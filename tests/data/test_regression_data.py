"""02-regression: the real datasets load with the expected shape and columns."""

from __future__ import annotations

import pandas as pd
import service_files

from zoomcamp import datasets

reg = service_files.load("02-regression", "regression")

CAR_PRICE_COLUMNS = [
    "make",
    "model",
    "year",
    "engine_fuel_type",
    "engine_hp",
    "engine_cylinders",
    "transmission_type",
    "driven_wheels",
    "number_of_doors",
    "market_category",
    "vehicle_size",
    "vehicle_style",
    "highway_mpg",
    "city_mpg",
    "popularity",
    "msrp",
]


def test_car_price_loads():
    df = reg.load_car_prices()
    assert df.shape == (11914, 16)
    assert list(df.columns) == CAR_PRICE_COLUMNS
    assert (df["msrp"] > 0).all()
    assert df["make"].str.contains(" ").sum() == 0  # values normalised
    train, val, test = reg.split(df, seed=2)
    assert (len(train), len(val), len(test)) == (7150, 2382, 2382)


def test_fuel_efficiency_has_the_homework_columns():
    df = pd.read_csv(datasets.fetch("car-fuel-efficiency"))
    assert len(df) == 9704
    for col in [
        "engine_displacement",
        "horsepower",
        "vehicle_weight",
        "model_year",
        "fuel_efficiency_mpg",
    ]:
        assert col in df.columns
