"""02-regression: the real datasets load with the expected shape and columns; the homework's
fits and the lesson's loop and dot-product forms agree with scikit-learn / NumPy on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error

from zoomcamp import datasets
from zoomcamp.cars import fuel
from zoomcamp.cars import regression as reg
from zoomcamp.cars import regression_forms as forms

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


HOMEWORK_COLUMNS = [
    "engine_displacement",
    "horsepower",
    "vehicle_weight",
    "model_year",
    "fuel_efficiency_mpg",
]


def test_fuel_efficiency_has_the_homework_columns():
    df = pd.read_csv(datasets.fetch("car-fuel-efficiency"))
    assert len(df) == 9704
    assert set(HOMEWORK_COLUMNS) <= set(df.columns)
    assert list(fuel.load_fuel_efficiency().columns) == HOMEWORK_COLUMNS


def _sklearn_rmse(seed, fill, final=False):
    """The homework's validation (or final test) RMSE, split and fitted independently."""
    df = pd.read_csv(datasets.fetch("car-fuel-efficiency"))
    n = len(df)
    idx = np.arange(n)
    np.random.seed(seed)
    np.random.shuffle(idx)
    n_val = n_test = int(0.2 * n)
    n_train = n - n_val - n_test
    train = df.iloc[idx[: n_train + (n_val if final else 0)]]
    held = df.iloc[idx[n_train + n_val :]] if final else df.iloc[idx[n_train : n_train + n_val]]
    value = 0.0 if fill == "zero" else train["horsepower"].mean()
    X, y = train[HOMEWORK_COLUMNS[:4]].fillna(value), train["fuel_efficiency_mpg"]
    model = LinearRegression().fit(X, y)
    pred = model.predict(held[HOMEWORK_COLUMNS[:4]].fillna(value))
    return float(np.sqrt(mean_squared_error(held["fuel_efficiency_mpg"], pred)))


@pytest.mark.parametrize(("seed", "fill"), [(42, "zero"), (42, "mean"), (3, "zero")])
def test_fuel_validation_rmse_matches_sklearn(seed, fill):
    df = fuel.load_fuel_efficiency()
    expected = _sklearn_rmse(seed, fill)
    assert fuel.fuel_validation_rmse(df, seed=seed, fill=fill) == pytest.approx(expected, rel=1e-6)


def test_fuel_test_rmse_without_regularisation_matches_sklearn():
    df = fuel.load_fuel_efficiency()
    expected = _sklearn_rmse(9, "zero", final=True)
    assert fuel.fuel_test_rmse(df, seed=9, r=0.0) == pytest.approx(expected, rel=1e-6)


def test_loop_and_dot_forms_equal_the_vectorised_prediction_on_car_prices():
    df = reg.load_car_prices()
    # the baseline design matrix built with pandas alone, weights from NumPy's least squares
    X = df[reg.BASE].fillna(0).to_numpy(dtype=float)
    y = np.log1p(df["msrp"].to_numpy(dtype=float))
    w_full = np.linalg.lstsq(np.column_stack([np.ones(len(X)), X]), y, rcond=None)[0]
    w0, w = float(w_full[0]), w_full[1:]
    expected = X @ w + w0
    assert len(expected) == 11914
    for got in (
        forms.predict_loop(X, w0, w),
        forms.predict_dot(X, w0, w),
        forms.predict_matrix(X, w0, w),
        reg.predict(X, w0, w),
    ):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_loop_form_equals_predict_on_the_lessons_full_feature_set():
    df_train, df_val, _ = reg.split(reg.load_car_prices(), seed=2)
    spec = reg.FeatureSpec.fit(df_train)
    w0, w = reg.train_linear_regression(reg.prepare_X(df_train, spec), reg.target(df_train), r=0.01)
    X_val = reg.prepare_X(df_val, spec)
    assert X_val.shape == (2382, 41)
    expected = np.column_stack([np.ones(len(X_val)), X_val]) @ np.r_[w0, w]
    np.testing.assert_allclose(forms.predict_loop(X_val, w0, w), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(forms.predict_dot(X_val, w0, w), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(reg.predict(X_val, w0, w), expected, rtol=0, atol=1e-9)
