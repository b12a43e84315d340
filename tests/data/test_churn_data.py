"""03-classification: the real Telco churn CSV loads with the expected shape, columns and
values, and prepares as the lesson does."""

from __future__ import annotations

import pandas as pd

from zoomcamp import datasets
from zoomcamp.churn import model as churn

RAW_COLUMNS = [
    "customerID", "gender", "SeniorCitizen", "Partner", "Dependents", "tenure", "PhoneService",
    "MultipleLines", "InternetService", "OnlineSecurity", "OnlineBackup", "DeviceProtection",
    "TechSupport", "StreamingTV", "StreamingMovies", "Contract", "PaperlessBilling",
    "PaymentMethod", "MonthlyCharges", "TotalCharges", "Churn",
]  # fmt: skip


def test_raw_telco_shape_and_columns():
    raw = pd.read_csv(datasets.fetch("telco-churn"))
    assert raw.shape == (7043, 21)
    assert list(raw.columns) == RAW_COLUMNS
    assert (raw["TotalCharges"].str.strip() == "").sum() == 11  # brand-new customers
    assert (raw["Churn"] == "Yes").sum() == 1869
    assert raw["customerID"].is_unique


def test_prepared_telco():
    df = churn.load_data()
    assert df.shape == (7043, 21)
    assert set(churn.FEATURES) <= set(df.columns)
    assert df[churn.FEATURES].isna().sum().sum() == 0
    assert set(df["churn"]) == {0, 1} and df["churn"].sum() == 1869
    assert (df["totalcharges"] == 0).sum() == 11
    assert set(df["contract"]) == {"month-to-month", "one_year", "two_year"}
    assert set(df["paymentmethod"]) == {
        "electronic_check",
        "mailed_check",
        "bank_transfer_(automatic)",
        "credit_card_(automatic)",
    }
    assert set(df["seniorcitizen"]) == {0, 1}


def test_telco_split_sizes():
    parts = churn.split(churn.load_data())
    assert {k: len(v) for k, v in parts.items()} == {
        "full_train": 5634,
        "train": 4225,
        "val": 1409,
        "test": 1409,
    }
