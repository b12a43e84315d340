"""03-classification: the lead-scoring helpers of the homework on small hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import service_files
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from threadpoolctl import threadpool_limits

from zoomcamp import homework
from zoomcamp.errors import ZoomcampError

leads = service_files.load("03-classification", "leads")
hw03 = service_files.load("03-classification", "homework")
hw04 = service_files.load("04-evaluation", "homework")


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
    best, values = leads.largest_correlation(df, hw03.PAIRS_Q2)
    for a, b in hw03.PAIRS_Q2:
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


def test_homework_option_texts_are_the_specs():
    # copied from ../shared/specs/03-classification.md and 04-evaluation.md
    assert hw03.OPTIONS_Q2 == [
        "interaction_count and lead_score",
        "number_of_courses_viewed and lead_score",
        "number_of_courses_viewed and interaction_count",
        "annual_income and interaction_count",
    ]
    assert hw03.OPTIONS_Q4 == ["0.64", "0.74", "0.84", "0.94"]
    assert hw03.OPTIONS_Q6 == ["0.01", "0.1", "1", "10", "100"]
    assert hw04.OPTIONS_Q3 == ["0.145", "0.345", "0.545", "0.745"]
    assert hw04.OPTIONS_Q5 == ["0.0001", "0.006", "0.06", "0.36"]
    assert hw04.OPTIONS_Q6 == ["0.000001", "0.001", "1"]


def test_q6_tie_break_picks_the_smallest_c():
    # 03: equal rounded accuracy -> the smallest C
    scores = {0.01: 0.7, 0.1: 0.7, 1: 0.7, 10: 0.7, 100: 0.7}
    best = max(hw03.C_VALUES, key=lambda C: (scores[C], -C))
    assert homework.closest_option(best, hw03.OPTIONS_Q6) == "0.01"
    # 04: equal mean -> lower std, then smaller C
    table = pd.DataFrame(
        {"mean": [0.8, 0.8, 0.8], "std": [0.02, 0.01, 0.01]}, index=hw04.C_VALUES_Q6
    )
    assert hw04.q6(table)["option"] == "0.001"
