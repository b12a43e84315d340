"""zoomcamp.churn.model and zoomcamp.classification: churn data preparation, split, EDA helpers,
the shared C tie-break and the checked model saver/loader, on small hand-made frames (no
training on the real data here)."""

from __future__ import annotations

import hashlib
import json
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from zoomcamp import artifacts, classification
from zoomcamp.churn import model as churn
from zoomcamp.errors import ZoomcampError

# The header of the Telco CSV (tests/data/test_churn_data.py checks the real file has it).
RAW_COLUMNS = [
    "customerID", "gender", "SeniorCitizen", "Partner", "Dependents", "tenure", "PhoneService",
    "MultipleLines", "InternetService", "OnlineSecurity", "OnlineBackup", "DeviceProtection",
    "TechSupport", "StreamingTV", "StreamingMovies", "Contract", "PaperlessBilling",
    "PaymentMethod", "MonthlyCharges", "TotalCharges", "Churn",
]  # fmt: skip


def test_features_are_every_cleaned_column_but_the_id_and_target():
    raw = pd.DataFrame([["x"] * len(RAW_COLUMNS)], columns=RAW_COLUMNS)
    raw["TotalCharges"] = "1.0"
    columns = list(churn.clean_strings(raw).columns)
    assert sorted(churn.FEATURES) == sorted(set(columns) - {"customerid", "churn"})
    assert len(churn.FEATURES) == len(set(churn.FEATURES))
    assert not set(churn.CATEGORICAL) & set(churn.NUMERICAL)


def test_clean_strings_names_values_charges_and_target():
    raw = pd.DataFrame(
        {
            "customerID": ["A-1", "B-2", "C-3"],
            "Payment Method": ["Electronic check", "Bank transfer (automatic)", "Mailed check"],
            "SeniorCitizen": [0, 1, 0],
            "TotalCharges": ["29.85", " ", "1889.5"],
            "Churn": ["No", "Yes", "No"],
        }
    )
    df = churn.clean_strings(raw)
    assert list(df.columns) == [
        "customerid",
        "payment_method",
        "seniorcitizen",
        "totalcharges",
        "churn",
    ]
    assert list(df["payment_method"]) == [
        "electronic_check",
        "bank_transfer_(automatic)",
        "mailed_check",
    ]
    assert list(df["totalcharges"]) == [29.85, 0.0, 1889.5]
    assert list(df["churn"]) == [0, 1, 0]
    assert list(df["seniorcitizen"]) == [0, 1, 0]  # stays an integer
    assert raw["Churn"].iloc[1] == "Yes"  # the input is not modified


def _frame(n=100, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": np.arange(n), "churn": rng.integers(0, 2, n)})


def test_split_is_60_20_20_and_matches_train_test_split():
    df = _frame()
    parts = churn.split(df)
    assert [len(parts[k]) for k in ("train", "val", "test", "full_train")] == [60, 20, 20, 80]
    ids = [set(parts[k]["x"]) for k in ("train", "val", "test")]
    assert set().union(*ids) == set(range(100)) and sum(map(len, ids)) == 100
    full, test = train_test_split(df, test_size=0.2, random_state=1)
    train, _ = train_test_split(full, test_size=0.25, random_state=1)
    assert list(parts["test"]["x"]) == list(test["x"]) and list(parts["train"]["x"]) == list(
        train["x"]
    )
    assert list(parts["train"].index) == list(range(60))


def test_churn_rate_by_group_and_risk():
    df = pd.DataFrame({"g": ["a", "a", "b", "b", "b", "b"], "churn": [1, 0, 0, 0, 0, 1]})
    out = churn.churn_rate_by_group(df, "g")
    # global rate 2/6; a: 1/2, b: 1/4
    assert out.loc["a", "mean"] == 0.5 and out.loc["b", "mean"] == 0.25
    assert out.loc["a", "count"] == 2 and out.loc["b", "count"] == 4
    assert out.loc["a", "diff"] == pytest.approx(0.5 - 1 / 3)
    assert out.loc["a", "risk"] == pytest.approx(1.5) and out.loc["b", "risk"] == pytest.approx(
        0.75
    )


def _mi_by_hand(x, y):
    joint = pd.crosstab(x, y).to_numpy() / len(x)
    px, py = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float((joint[nz] * np.log(joint[nz] / (px @ py)[nz])).sum())


def test_mutual_information_and_correlation_against_formulas():
    rng = np.random.default_rng(3)
    n = 500
    y = rng.integers(0, 2, n)
    df = pd.DataFrame(
        {
            "strong": np.where(rng.random(n) < 0.9, y, 1 - y).astype(str),
            "noise": rng.choice(["p", "q", "r"], n),
            "num": y * 2.0 + rng.normal(size=n),
            "churn": y,
        }
    )
    mi = churn.mutual_information(df, ["noise", "strong"])
    assert list(mi.index) == ["strong", "noise"]
    assert mi["strong"] == pytest.approx(_mi_by_hand(df["strong"], y), abs=1e-12)
    assert mi["noise"] == pytest.approx(_mi_by_hand(df["noise"], y), abs=1e-12)
    corr = churn.correlation(df, ["num"])
    assert corr["num"] == pytest.approx(np.corrcoef(df["num"], y)[0, 1], abs=1e-12)


def _tiny_model():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "contract": rng.choice(["month-to-month", "one_year", "two_year"], 200),
            "tenure": rng.integers(0, 72, 200),
        }
    )
    df["churn"] = ((df["contract"] == "month-to-month") & (df["tenure"] < 20)).astype(int)
    return churn.fit(df, C=1.0, features=["contract", "tenure"]), df


def _save(model, folder, **overrides):
    kwargs = {
        "data_sha256": "0" * 64,
        "metrics": {"test_auc": 0.5},
        "params": {"C": 1.0},
        "categories": {"contract": ["month-to-month", "one_year", "two_year"]},
    }
    return churn.save_model(model, folder, **{**kwargs, **overrides})


def test_save_and_load_roundtrip(tmp_path):
    model, df = _tiny_model()
    meta = _save(model, tmp_path / "churn")
    names = ["metadata.json", "model.bin", "model.json"]
    assert sorted(p.name for p in (tmp_path / "churn").iterdir()) == names
    digests = {
        name: hashlib.sha256((tmp_path / "churn" / name).read_bytes()).hexdigest()
        for name in ("model.bin", "model.json")
    }
    assert meta["files"] == digests
    assert meta["data"] == {"telco-churn": "0" * 64} and meta["params"] == {"C": 1.0}
    assert meta["versions"]["scikit-learn"] == __import__("sklearn").__version__
    assert json.loads((tmp_path / "churn" / "metadata.json").read_text()) == meta
    loaded, meta2 = churn.load_model(tmp_path / "churn")
    assert meta2 == meta
    recs = churn.records(df, ["contract", "tenure"])
    np.testing.assert_array_equal(loaded.predict_proba(recs), model.predict_proba(recs))
    assert not list((tmp_path / "churn").glob("*.tmp"))  # atomic writes leave nothing behind


def test_load_refuses_a_tampered_file_without_unpickling_it(tmp_path):
    model, _ = _tiny_model()
    _save(model, tmp_path)
    marker = tmp_path / "executed"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "model.bin").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(artifacts.ArtifactError, match="sha256"):
        churn.load_model(tmp_path)
    assert not marker.exists()


def test_load_refuses_another_sklearn_version(tmp_path):
    model, _ = _tiny_model()
    _save(model, tmp_path)
    meta_path = tmp_path / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["versions"]["scikit-learn"] = "0.0.1"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ZoomcampError, match="scikit-learn 0.0.1"):
        churn.load_model(tmp_path)


def test_load_missing_files(tmp_path):
    with pytest.raises(ZoomcampError, match="no model"):
        churn.load_model(tmp_path / "absent")
    model, _ = _tiny_model()
    _save(model, tmp_path)
    (tmp_path / "metadata.json").unlink()
    with pytest.raises(ZoomcampError, match="metadata.json"):
        churn.load_model(tmp_path)


@pytest.mark.parametrize(
    ("scores", "stds", "expected"),
    [
        ({0.01: 0.7, 0.1: 0.7, 1: 0.7, 10: 0.7, 100: 0.7}, None, 0.01),  # all tied: smallest
        ({0.01: 0.6, 0.1: 0.7, 1: 0.8, 10: 0.8, 100: 0.7}, None, 1),
        ({1e-6: 0.8, 0.001: 0.8, 1: 0.8}, {1e-6: 0.02, 0.001: 0.01, 1: 0.01}, 0.001),
        ({1e-6: 0.8, 0.001: 0.8, 1: 0.9}, {1e-6: 0.0, 0.001: 0.0, 1: 0.5}, 1),  # score first
    ],
)
def test_best_c_tie_break(scores, stds, expected):
    # The rule both homeworks state: best score; ties: lower std (04), then the smaller C.
    best = classification.best_C(list(scores), scores, stds)
    assert best == expected
    assert best is next(C for C in scores if C == expected)  # the caller's own object


def test_categories_keep_integers_and_sort():
    df = pd.DataFrame({c: ["b", "a", "b"] for c in churn.CATEGORICAL})
    df["seniorcitizen"] = [1, 0, 1]
    cats = churn.categories(df)
    assert cats["seniorcitizen"] == [0, 1] and all(type(v) is int for v in cats["seniorcitizen"])
    assert cats["gender"] == ["a", "b"]


def test_coefficients_are_named_by_one_hot_feature():
    model, _ = _tiny_model()
    w = churn.coefficients(model)
    assert set(w.index) == {
        "contract=month-to-month",
        "contract=one_year",
        "contract=two_year",
        "tenure",
    }
    assert w["contract=month-to-month"] > w["contract=two_year"] and w["tenure"] < 0
