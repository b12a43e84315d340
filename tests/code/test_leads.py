"""zoomcamp.leads.data: the lead-scoring helpers of the 03/04 homework on small hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from threadpoolctl import threadpool_limits

from zoomcamp import classification
from zoomcamp.churn import model as churn
from zoomcamp.errors import ZoomcampError
from zoomcamp.leads import data as leads

PAIRS = [
    ("interaction_count", "lead_score"),
    ("number_of_courses_viewed", "lead_score"),
    ("annual_income", "interaction_count"),
]


def _frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "lead_source": rng.choice(["paid_ads", "events", None], n),
            "industry": rng.choice(["retail", "finance", None], n),
            "employment_status": rng.choice(["employed", "student"], n),
            "location": rng.choice(["europe", "asia"], n),
            "number_of_courses_viewed": rng.integers(0, 8, n),
            "annual_income": np.where(rng.random(n) < 0.1, np.nan, rng.normal(60000, 15000, n)),
            "interaction_count": rng.integers(0, 10, n),
            "lead_score": rng.random(n),
        }
    )
    logit = 0.8 * df["number_of_courses_viewed"] - 3 + 0.3 * df["interaction_count"]
    df["converted"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df


def test_prepare_fills_gaps_as_the_homework_says():
    raw = _frame()
    df = leads.prepare(raw)
    assert df.isna().sum().sum() == 0
    assert (df.loc[raw["industry"].isna(), "industry"] == "NA").all()
    assert (df.loc[raw["annual_income"].isna(), "annual_income"] == 0.0).all()
    assert raw["industry"].isna().any()  # the input is untouched


def test_prepare_rejects_missing_columns():
    with pytest.raises(ZoomcampError, match="lacks columns"):
        leads.prepare(_frame().drop(columns=["lead_score"]))


def test_largest_correlation_against_numpy():
    df = leads.prepare(_frame())
    best, values = leads.largest_correlation(df, PAIRS)
    for a, b in PAIRS:
        assert values[f"{a} and {b}"] == pytest.approx(np.corrcoef(df[a], df[b])[0, 1], abs=1e-12)
    assert abs(values[f"{best[0]} and {best[1]}"]) == max(abs(v) for v in values.values())


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["liblinear", "lbfgs"])
def test_fit_and_accuracy_match_a_plain_sklearn_model(solver):
    df = leads.prepare(_frame())
    train, val = df.iloc[:200], df.iloc[200:]
    ours = leads.accuracy(leads.fit(train, solver=solver), val)
    dv = DictVectorizer(sparse=False)
    X = dv.fit_transform(train[leads.FEATURES].to_dict(orient="records"))
    with threadpool_limits(
        limits=1
    ):  # as leads.fit: lbfgs stops at max_iter, keep it bit-identical
        model = LogisticRegression(solver=solver, C=1.0, max_iter=1000, random_state=42).fit(
            X, train["converted"]
        )
    pred = model.predict(dv.transform(val[leads.FEATURES].to_dict(orient="records")))
    assert ours == pytest.approx(accuracy_score(val["converted"], pred), abs=1e-12)


def test_feature_elimination_is_full_minus_without():
    df = leads.prepare(_frame())
    train, val = df.iloc[:200], df.iloc[200:]
    diffs = leads.feature_elimination(train, val, "liblinear")
    full = leads.accuracy(leads.fit(train), val)
    rest = [f for f in leads.FEATURES if f != "number_of_courses_viewed"]
    without = leads.accuracy(leads.fit(train, rest), val, rest)
    assert diffs["number_of_courses_viewed"] == pytest.approx(full - without, abs=1e-12)
    assert diffs["number_of_courses_viewed"] > 0  # the feature the labels were built from


def test_unknown_solver_is_refused():
    with pytest.raises(ZoomcampError, match="solver"):
        leads.make_model("newton-cg")


def test_split_is_the_shared_60_20_20_split():
    df = leads.prepare(_frame())
    for seed in (1, 42):
        ours, theirs = leads.split(df, seed), churn.split(df, seed)
        assert ours.keys() == theirs.keys()
        for k in ours:
            pd.testing.assert_frame_equal(ours[k], theirs[k])
    assert not leads.split(df, 1)["test"].equals(leads.split(df, 42)["test"])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_q6_picks_the_smallest_c_among_tied_accuracies():
    # 03 Q6 as the homework states it: accuracy rounded to 3 decimals, ties -> smallest C.
    # A feature that carries no signal makes every C predict the same.
    df = leads.prepare(_frame())
    train, val = df.iloc[:200], df.iloc[200:]
    C_values = [0.01, 0.1, 1, 10, 100]
    scores = {
        C: round(leads.accuracy(leads.fit(train, ["location"], "lbfgs", C), val, ["location"]), 3)
        for C in C_values
    }
    assert len(set(scores.values())) == 1  # the tie this test is about
    assert classification.best_C(C_values, scores) == 0.01
