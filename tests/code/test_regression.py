"""02-regression: the from-scratch normal equation, RMSE, split and the loop and dot-product
forms of the prediction against NumPy/scikit-learn."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import mean_squared_error

from zoomcamp import artifacts
from zoomcamp.cars import price
from zoomcamp.cars import regression as reg
from zoomcamp.cars import regression_forms as forms
from zoomcamp.errors import ZoomcampError


def _data(seed=0, n=200, d=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 20, size=d) + rng.normal(size=d) * 5
    y = 3.0 + X @ rng.normal(size=d) + rng.normal(scale=0.5, size=n)
    return X, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_normal_equation_matches_sklearn_and_lstsq(seed):
    X, y = _data(seed)
    w0, w = reg.train_linear_regression(X, y)
    sk = LinearRegression().fit(X, y)
    np.testing.assert_allclose(w0, sk.intercept_, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(w, sk.coef_, rtol=1e-8, atol=1e-10)
    Xb = np.column_stack([np.ones(len(X)), X])
    ref, *_ = np.linalg.lstsq(Xb, y, rcond=None)
    np.testing.assert_allclose(np.r_[w0, w], ref, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(reg.predict(X, w0, w), sk.predict(X), rtol=1e-9)


@pytest.mark.parametrize("r", [0.01, 1.0, 100.0])
def test_regularised_matches_ridge_with_penalised_bias(r):
    # The lesson adds r to the whole diagonal of XᵀX, the bias included: that is Ridge on a
    # design matrix with an explicit ones column and no separate (unpenalised) intercept.
    X, y = _data(3, n=60, d=8)
    w0, w = reg.train_linear_regression(X, y, r=r)
    Xb = np.column_stack([np.ones(len(X)), X])
    ridge = Ridge(alpha=r, fit_intercept=False, solver="cholesky").fit(Xb, y)
    np.testing.assert_allclose(np.r_[w0, w], ridge.coef_, rtol=1e-7, atol=1e-9)
    # and it really is different from the unregularised solution for a large r
    if r == 100.0:
        w0_plain, _ = reg.train_linear_regression(X, y)
        assert abs(w0 - w0_plain) > 1e-3


def test_the_lessons_one_car_example_by_hand():
    # lesson 2.5: engine_hp 453, city_mpg 11, popularity 86 with w0 = 7.17
    xi, w0, w = [453, 11, 86], 7.17, [0.01, 0.04, 0.002]
    by_hand = 7.17 + 453 * 0.01 + 11 * 0.04 + 86 * 0.002  # 12.312
    assert forms.predict_one_loop(xi, w0, w) == pytest.approx(by_hand, abs=1e-12)
    assert forms.predict_one_dot(xi, w0, w) == pytest.approx(by_hand, abs=1e-12)
    assert forms.dot(xi, w) == pytest.approx(float(np.dot(xi, w)), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_loop_dot_and_matrix_forms_match_sklearn_predict(seed):
    X, y = _data(seed, n=300, d=6)
    sk = LinearRegression().fit(X, y)
    expected = sk.predict(X)
    w0, w = float(sk.intercept_), sk.coef_
    for form in (forms.predict_loop, forms.predict_dot, forms.predict_matrix, reg.predict):
        np.testing.assert_allclose(form(X, w0, w), expected, rtol=0, atol=1e-9)


def test_forms_refuse_a_weight_count_that_is_not_the_feature_count():
    with pytest.raises(ZoomcampError, match="3 feature values but 2 weights"):
        forms.predict_one_loop([1, 2, 3], 0.0, [1, 2])
    with pytest.raises(ZoomcampError, match="2 feature values but 3 weights"):
        forms.predict_matrix(np.ones((4, 2)), 0.0, [1, 2, 3])


def test_rmse_matches_sklearn():
    rng = np.random.default_rng(7)
    y, p = rng.normal(size=500), rng.normal(size=500)
    assert reg.rmse(y, p) == pytest.approx(np.sqrt(mean_squared_error(y, p)), rel=1e-12)
    assert reg.rmse(y, y) == 0.0


@pytest.mark.parametrize("n", [3, 10, 11914, 9704, 101])
def test_split_sizes(n):
    train, val, test = reg.split_indices(n, seed=2)
    assert len(val) == len(test) == int(0.2 * n)
    assert len(train) + len(val) + len(test) == n
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(n))


def test_split_is_the_lessons_shuffle_and_deterministic():
    n = 1000
    idx = np.arange(n)
    np.random.seed(2)
    np.random.shuffle(idx)
    train, val, test = reg.split_indices(n, seed=2)
    np.testing.assert_array_equal(np.concatenate([train, val, test]), idx)
    again = reg.split_indices(n, seed=2)
    for a, b in zip((train, val, test), again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = reg.split_indices(n, seed=3)
    assert not np.array_equal(train, other[0])


def test_split_dataframe_resets_index():
    df = pd.DataFrame({"a": np.arange(50)})
    parts = reg.split(df, seed=1)
    assert [len(p) for p in parts] == [30, 10, 10]
    for p in parts:
        assert list(p.index) == list(range(len(p)))
    assert sorted(pd.concat(parts)["a"]) == list(range(50))


def test_duplicated_column_without_r_is_a_clear_error_and_r_fixes_it():
    X, y = _data(4, n=100, d=3)
    X_dup = np.column_stack([X, X[:, 1]])  # linearly dependent columns: XᵀX singular
    with pytest.raises(ZoomcampError, match="regularisation"):
        reg.train_linear_regression(X_dup, y)
    w0, w = reg.train_linear_regression(X_dup, y, r=0.01)
    assert np.isfinite(w0) and np.isfinite(w).all()
    # the duplicated pair shares the weight; predictions stay as good as without the copy
    p_plain = reg.predict(X, *reg.train_linear_regression(X, y))
    assert reg.rmse(y, reg.predict(X_dup, w0, w)) == pytest.approx(reg.rmse(y, p_plain), rel=1e-3)


def test_nearly_duplicated_column_is_caught_too():
    X, y = _data(5, n=100, d=3)
    X_near = np.column_stack([X, X[:, 0] * (1 + 1e-12)])
    with pytest.raises(reg.SingularMatrixError):
        reg.train_linear_regression(X_near, y)


def test_bad_inputs_are_clear_errors():
    X, y = _data(6, n=20, d=2)
    with pytest.raises(ZoomcampError, match="NaN"):
        reg.train_linear_regression(np.where(X > 0, np.nan, X), y)
    with pytest.raises(ZoomcampError, match="shape"):
        reg.train_linear_regression(X, y[:-1])
    with pytest.raises(ZoomcampError, match="r must be"):
        reg.train_linear_regression(X, y, r=-1)


def test_clean_strings():
    df = pd.DataFrame({"Engine HP": [1.0], "Make": ["Aston Martin"], "Vehicle Style": ["4dr SUV"]})
    out = reg.clean_strings(df)
    assert list(out.columns) == ["engine_hp", "make", "vehicle_style"]
    assert out.iloc[0].tolist() == [1.0, "aston_martin", "4dr_suv"]


def test_prepare_X_by_hand():
    df = pd.DataFrame(
        {
            "engine_hp": [100.0, np.nan],
            "engine_cylinders": [4.0, 6.0],
            "highway_mpg": [30, 25],
            "city_mpg": [20, 18],
            "popularity": [10, 20],
            "year": [2015, 2017],
            "number_of_doors": [2.0, 4.0],
            "make": ["ford", "bmw"],
            "vehicle_size": ["compact", "large"],
        }
    )
    spec = reg.FeatureSpec(
        age=True, doors=True, makes=["ford"], categories={"vehicle_size": ["large"]}
    )
    X = reg.prepare_X(df, spec)
    expected = np.array(
        [
            [100, 4, 30, 20, 10, 2, 1, 0, 0, 1, 0],
            [0, 6, 25, 18, 20, 0, 0, 0, 1, 0, 1],
        ],
        dtype=float,
    )
    np.testing.assert_array_equal(X, expected)
    assert len(spec.names()) == X.shape[1]


def _saved(folder, seed=8):
    X, y = _data(seed, n=30, d=5)
    w0, w = reg.train_linear_regression(X, y)
    spec = reg.FeatureSpec()
    reg.save_model(
        folder, w0, w, spec, data={"toy": "0" * 64}, metrics={"rmse": 0.5}, config={"r": 0.0}
    )
    return w0, w, spec


def test_model_round_trip_through_the_artifacts_schema(tmp_path):
    w0, w, spec = _saved(tmp_path)
    w0b, wb, specb, meta = reg.load_model(tmp_path)
    assert w0b == w0 and np.array_equal(wb, w) and specb == spec
    assert meta == artifacts.verify(tmp_path)  # one schema, read by the shared verifier
    assert meta["name"] == "car-price" and list(meta["files"]) == [reg.MODEL_FILE]
    assert {"numpy", "pandas"} <= set(meta["versions"]) and meta["config"] == {"r": 0.0}


def test_a_changed_or_missing_model_is_refused(tmp_path):
    _saved(tmp_path)
    model = tmp_path / reg.MODEL_FILE
    model.write_text(model.read_text() + " ")
    with pytest.raises(artifacts.ArtifactError, match="does not match its metadata"):
        reg.load_model(tmp_path)
    with pytest.raises(artifacts.ArtifactError, match="no model at"):
        reg.load_model(tmp_path / "missing")


def test_weights_that_disagree_with_the_features_are_refused(tmp_path):
    _saved(tmp_path)
    model = tmp_path / reg.MODEL_FILE
    data = json.loads(model.read_text())
    data["w"] = data["w"][:-1]  # one weight short, metadata re-signed so the digest passes
    model.write_text(json.dumps(data))
    artifacts.save(tmp_path, name="car-price", files=[reg.MODEL_FILE])
    with pytest.raises(ZoomcampError, match="inconsistent"):
        reg.load_model(tmp_path)


def test_save_refuses_a_weight_count_that_is_not_the_feature_count(tmp_path):
    with pytest.raises(ValueError, match="weights"):
        reg.save_model(tmp_path, 0.0, np.ones(3), reg.FeatureSpec(), data={}, metrics={})
    assert not (tmp_path / artifacts.METADATA_FILE).exists()


def _scores(monkeypatch, by_r):
    """``price.fit_rmse`` replaced by the given validation RMSEs (None: singular)."""

    def fake(spec, df_train, df_val, r=0.0):
        if by_r[r] is None:
            raise reg.SingularMatrixError("singular")
        return by_r[r]

    monkeypatch.setattr(price, "fit_rmse", fake)


def test_tune_r_ties_at_the_given_decimals_go_to_the_larger_r(monkeypatch):
    _scores(monkeypatch, {0.0: None, 0.001: 0.45649, 0.01: 0.45651, 0.1: 0.4566})
    r, by_r = price.tune_r(None, None, None, [0.0, 0.001, 0.01, 0.1], decimals=4)
    assert r == 0.01 and by_r == {"0": None, "0.001": 0.45649, "0.01": 0.45651, "0.1": 0.4566}
    r, _ = price.tune_r(None, None, None, [0.0, 0.001, 0.01, 0.1], decimals=5)
    assert r == 0.001  # once the fifth decimal counts, 0.45649 wins
    _scores(monkeypatch, {0.0: None, 0.001: 0.45, 0.01: 0.46})
    assert price.tune_r(None, None, None, [0.0, 0.001, 0.01], decimals=4)[0] == 0.001


def test_tune_r_with_every_r_singular_is_a_clear_error(monkeypatch):
    _scores(monkeypatch, {0.0: None})
    with pytest.raises(ZoomcampError, match="every r in"):
        price.tune_r(None, None, None, [0.0], decimals=4)
