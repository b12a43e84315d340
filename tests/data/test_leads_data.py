"""03/04 homework: the real lead-scoring CSV loads with the expected shape and gaps."""

from __future__ import annotations

import pandas as pd

from zoomcamp import datasets
from zoomcamp.leads import data as leads


def test_raw_lead_scoring_shape_and_gaps():
    raw = pd.read_csv(datasets.fetch("lead-scoring"))
    assert raw.shape == (1462, 9)
    assert set(raw.columns) == set(leads.FEATURES) | {"converted"}
    missing = raw.isna().sum()
    assert set(missing[missing > 0].index) == {
        "lead_source",
        "industry",
        "annual_income",
        "employment_status",
        "location",
    }
    assert set(raw["converted"]) == {0, 1}


def test_prepared_lead_scoring_and_splits():
    df = leads.load_data()
    assert df.shape == (1462, 9) and df.isna().sum().sum() == 0
    assert (df["industry"] == "NA").sum() == pd.read_csv(datasets.fetch("lead-scoring"))[
        "industry"
    ].isna().sum()
    for seed in (42, 1):
        sizes = {k: len(v) for k, v in leads.split(df, seed).items()}
        assert sizes == {"full_train": 1169, "train": 876, "val": 293, "test": 293}
