"""03-classification: train.py trains the churn model that 05-deployment serves into
``models/churn/`` (model.bin + metadata.json); the folder verifies and loads, its metadata
is right, and a tampered file is refused. The lesson's OneHotEncoder + StandardScaler
variant agrees with a design matrix built by hand with pandas."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from threadpoolctl import threadpool_limits

from zoomcamp import artifacts, datasets, paths
from zoomcamp.churn import lessons as churn_lessons
from zoomcamp.churn import model as churn

TRAIN = paths.module_dir("03-classification") / "train.py"


def _train(*args, timeout=600):
    return subprocess.run(
        [sys.executable, str(TRAIN), *args],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "churn"
    proc = _train("--output", str(out), "--C", "1.0")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.slow
def test_artifact_and_metadata(trained):
    assert sorted(p.name for p in trained.iterdir()) == ["metadata.json", "model.bin", "model.json"]
    meta = json.loads((trained / "metadata.json").read_text())
    assert artifacts.verify(trained) == meta
    assert meta["schema"] == artifacts.SCHEMA and meta["name"] == "churn"
    assert meta["files"] == {
        name: hashlib.sha256((trained / name).read_bytes()).hexdigest()
        for name in ("model.bin", "model.json")
    }
    assert meta["data"]["telco-churn"] in datasets.get("telco-churn").sha256
    assert meta["versions"]["scikit-learn"] == sklearn.__version__
    assert meta["params"]["C"] == 1.0 and meta["threshold"] == 0.5
    assert meta["metrics"]["cv_auc"] is None  # C was given, no sweep
    df = churn.load_data()
    assert sorted(meta["features"]["categorical"] + meta["features"]["numerical"]) == sorted(
        set(df.columns) - {"customerid", "churn"}
    )
    for field, values in meta["categories"].items():
        assert values == sorted(df[field].unique().tolist())
    assert meta["categories"]["seniorcitizen"] == [0, 1]
    assert "seniorcitizen" in meta["notes"]


@pytest.mark.slow
def test_loaded_model_reproduces_its_test_metrics(trained):
    pipeline, meta = churn.load_model(trained)
    assert [name for name, _ in pipeline.steps] == ["dictvectorizer", "logisticregression"]
    test = churn.split(churn.load_data())["test"]
    proba = pipeline.predict_proba(
        test[meta["features"]["categorical"] + meta["features"]["numerical"]].to_dict(
            orient="records"
        )
    )[:, 1]
    y = test["churn"].to_numpy()
    assert ((proba >= 0.5) == y).mean() == pytest.approx(
        meta["metrics"]["test_accuracy"], abs=1e-12
    )
    assert roc_auc_score(y, proba) == pytest.approx(meta["metrics"]["test_auc"], abs=1e-12)
    # the course's reference: test accuracy 0.815
    assert 0.79 < meta["metrics"]["test_accuracy"] < 0.83
    assert 0.83 < meta["metrics"]["test_auc"] < 0.88


@pytest.mark.slow
def test_tampered_artifact_is_refused(trained, tmp_path):
    copy = tmp_path / "churn"
    copy.mkdir()
    data = bytearray((trained / "model.bin").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "model.bin").write_bytes(bytes(data))
    (copy / "metadata.json").write_text((trained / "metadata.json").read_text())
    with pytest.raises(artifacts.ArtifactError, match="sha256"):
        churn.load_model(copy)


@pytest.mark.slow
def test_model_scores_a_customer_sensibly(trained):
    pipeline, _ = churn.load_model(trained)
    base = {
        "gender": "female",
        "seniorcitizen": 0,
        "partner": "no",
        "dependents": "no",
        "phoneservice": "yes",
        "multiplelines": "no",
        "internetservice": "fiber_optic",
        "onlinesecurity": "no",
        "onlinebackup": "no",
        "deviceprotection": "no",
        "techsupport": "no",
        "streamingtv": "no",
        "streamingmovies": "no",
        "paperlessbilling": "yes",
        "paymentmethod": "electronic_check",
        "tenure": 2,
        "monthlycharges": 80.0,
        "totalcharges": 160.0,
    }
    monthly = pipeline.predict_proba([{**base, "contract": "month-to-month"}])[0, 1]
    two_year = pipeline.predict_proba([{**base, "contract": "two_year"}])[0, 1]
    assert 0 < two_year < monthly < 1 and monthly > 0.5


@pytest.mark.slow
def test_validation_accuracy_band():
    parts = churn.split(churn.load_data())
    model = churn.fit(parts["train"], C=1.0)
    acc = ((churn.predict(model, parts["val"]) >= 0.5) == parts["val"]["churn"].to_numpy()).mean()
    assert abs(acc - 0.803) < 0.015  # the course's reference validation accuracy


@pytest.mark.slow
def test_cv_picks_the_best_c(tmp_path):
    meta, summary = churn.train(tmp_path / "churn", C_values=[0.001, 1.0])
    cv = meta["metrics"]["cv_auc"]
    assert cv == summary["cv_auc"] and set(cv) == {"0.001", "1.0"}
    assert (
        meta["params"]["C"] == summary["C"] == max((0.001, 1.0), key=lambda c: cv[str(c)]["mean"])
    )
    assert all(0 < v["std"] < 0.05 for v in cv.values())
    # the report is committed: it must not carry anything that changes run to run
    assert set(summary) == {
        "C",
        "test_auc",
        "test_accuracy",
        "threshold",
        "converged",
        "n_train",
        "n_test",
        "cv_auc",
    }
    churn.load_model(tmp_path / "churn")


def test_bad_c_is_a_clean_error(tmp_path):
    proc = _train("--C", "-1", "--output", str(tmp_path / "churn"), timeout=120)
    assert proc.returncode == 2 and "--C must be positive" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "churn").exists()


def _design_by_hand(train: pd.DataFrame, df: pd.DataFrame) -> np.ndarray:
    """One-hot columns per categorical (sorted values, as the training part has them),
    then the numericals standardised with the training mean and population std."""
    cats = train[churn.CATEGORICAL].astype(str)
    onehot = pd.get_dummies(df[churn.CATEGORICAL].astype(str), dtype=float).reindex(
        columns=pd.get_dummies(cats, dtype=float).columns, fill_value=0.0
    )
    num = train[churn.NUMERICAL]
    scaled = (df[churn.NUMERICAL] - num.mean()) / num.std(ddof=0)
    return np.column_stack([onehot.to_numpy(), scaled.to_numpy(dtype=float)])


@pytest.mark.slow
def test_onehot_scaled_variant_matches_a_hand_built_design():
    parts = churn.split(churn.load_data())
    train, val = parts["train"], parts["val"]
    model = churn_lessons.fit_onehot_scaled(train, C=1.0)
    X_train, X_val = _design_by_hand(train, train), _design_by_hand(train, val)
    assert X_val.shape == (1409, 46)  # seniorcitizen's 0/1 becomes two columns here
    np.testing.assert_allclose(model.named_steps["columns"].transform(val), X_val, atol=1e-12)

    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # scaled, lbfgs must converge
        ref = LogisticRegression(C=1.0, max_iter=1000).fit(X_train, train["churn"])
    proba = model.predict_proba(val[churn.FEATURES])[:, 1]
    np.testing.assert_allclose(proba, ref.predict_proba(X_val)[:, 1], atol=1e-9)

    summary = churn_lessons.onehot_scaled_summary(train, val)
    assert summary["validation_accuracy"] == accuracy_score(val["churn"], ref.predict(X_val))
    assert summary["converged"] is True and summary["n_iter"] == ref.n_iter_[0] < 1000
    assert summary["n_features"] == 46


@pytest.mark.slow
def test_the_lesson_records_that_only_the_scaled_variant_converges():
    parts = churn.split(churn.load_data())
    train = parts["train"]
    with threadpool_limits(limits=1), pytest.warns(ConvergenceWarning):
        X = DictVectorizer(sparse=False).fit_transform(train[churn.FEATURES].to_dict("records"))
        LogisticRegression(C=1.0, max_iter=1000).fit(X, train["churn"])
    summary, figures = churn_lessons.classification_lesson(figures=False)
    assert figures == {}
    assert summary["validation_converged"] is False and summary["validation_n_iter"] == 1000
    assert summary["validation_n_features"] == X.shape[1] == 45
    assert summary["onehot_scaled"] == churn_lessons.onehot_scaled_summary(train, parts["val"])
    assert summary["onehot_scaled"]["converged"] is True
    assert (
        abs(summary["onehot_scaled"]["validation_accuracy"] - summary["validation_accuracy"]) < 0.01
    )
