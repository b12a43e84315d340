"""zoomcamp.metrics (module 04): the hand-written metrics against sklearn.metrics, on random inputs, heavy
ties, degenerate labels and the real churn validation scores."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_score, train_test_split
from threadpoolctl import threadpool_limits

from zoomcamp import metrics as ev
from zoomcamp import paths
from zoomcamp.churn import lessons as churn_lessons
from zoomcamp.churn import model as churn
from zoomcamp.leads import data as leads


def _random(seed, n, ties=None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    s = rng.random(n)
    if ties is not None:
        s = np.round(s * ties) / ties  # only ties + 1 distinct values
    return y, s


CASES = [(0, 50, None), (1, 1000, None), (2, 1000, 3), (3, 5000, 20), (4, 7, 1), (5, 2, None)]


def _both_classes(y):
    return 0 < y.sum() < len(y)


# --------------------------------------------------------------------------- AUC


@pytest.mark.parametrize("seed,n,ties", CASES)
def test_auc_matches_sklearn(seed, n, ties):
    y, s = _random(seed, n, ties)
    if not _both_classes(y):
        y[0], y[-1] = 0, 1
    assert abs(ev.roc_auc(y, s) - metrics.roc_auc_score(y, s)) <= 1e-12


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(-3, 3)), min_size=2, max_size=60))
def test_auc_matches_sklearn_on_arbitrary_small_inputs(pairs):
    y = np.array([p[0] for p in pairs], dtype=int)
    s = np.array([p[1] for p in pairs], dtype=float)
    if not _both_classes(y):
        return
    assert abs(ev.roc_auc(y, s) - metrics.roc_auc_score(y, s)) <= 1e-12


def test_auc_is_the_pairwise_probability():
    # The definition, computed the slow way on a small sample.
    y, s = _random(7, 300, ties=10)
    pos, neg = s[y == 1], s[y == 0]
    pairwise = (pos[:, None] > neg).mean() + 0.5 * (pos[:, None] == neg).mean()
    assert abs(ev.roc_auc(y, s) - pairwise) <= 1e-12


def test_auc_of_constant_scores_is_one_half():
    y = np.array([0, 1, 1, 0, 1])
    assert ev.roc_auc(y, np.full(5, 0.3)) == 0.5 == metrics.roc_auc_score(y, np.full(5, 0.3))


def test_auc_perfect_and_reversed():
    y = np.array([0, 0, 1, 1])
    assert ev.roc_auc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert ev.roc_auc(y, [0.9, 0.8, 0.2, 0.1]) == 0.0


@pytest.mark.parametrize("label", [0, 1])
def test_auc_with_one_class_is_nan_with_a_warning_like_sklearn(label):
    y = np.full(6, label)
    s = np.linspace(0, 1, 6)
    with pytest.warns(ev.UndefinedMetricWarning):
        ours = ev.roc_auc(y, s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = metrics.roc_auc_score(y, s)
    assert np.isnan(ours) and np.isnan(theirs)


def test_auc_accepts_booleans_and_lists():
    assert ev.roc_auc([False, True, True], [0.1, 0.7, 0.4]) == 1.0


@pytest.mark.parametrize(
    "y,s",
    [
        ([0, 1, 2], [0.1, 0.2, 0.3]),  # not binary
        ([0, 1, 1], [0.1, 0.2]),  # lengths differ
        ([0, 1, 1], [0.1, np.nan, 0.3]),  # NaN score
        ([[0, 1]], [[0.1, 0.2]]),  # not 1-D
    ],
)
def test_auc_rejects_bad_input(y, s):
    with pytest.raises(ValueError):
        ev.roc_auc(y, s)


@pytest.mark.timeout(60)
def test_auc_scales_to_large_inputs():
    # A quadratic (pairwise) AUC would need 10^11 comparisons here and time out.
    y, s = _random(11, 600_000, ties=1000)
    assert abs(ev.roc_auc(y, s) - metrics.roc_auc_score(y, s)) <= 1e-12


# --------------------------------------------------------------------------- one threshold


@pytest.mark.parametrize("seed,n,ties", CASES)
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 1.0, 2.0])
def test_confusion_precision_recall_match_sklearn(seed, n, ties, threshold):
    y, s = _random(seed, n, ties)
    pred = s >= threshold
    np.testing.assert_array_equal(
        ev.confusion_matrix(y, pred), metrics.confusion_matrix(y, pred, labels=[0, 1])
    )
    np.testing.assert_equal(
        ev.precision(y, pred), metrics.precision_score(y, pred, zero_division=np.nan)
    )
    np.testing.assert_equal(ev.recall(y, pred), metrics.recall_score(y, pred, zero_division=np.nan))
    assert ev.accuracy(y, pred) == pytest.approx(metrics.accuracy_score(y, pred), abs=1e-15)


def test_undefined_precision_and_recall_are_nan():
    y = np.array([0, 0, 1])
    assert np.isnan(ev.precision(y, np.zeros(3, dtype=int)))  # nothing predicted positive
    assert np.isnan(ev.recall(np.zeros(3, dtype=int), y))  # no positive labels
    assert ev.recall(y, np.ones(3, dtype=int)) == 1.0


def test_confusion_matrix_layout():
    cm = ev.confusion_matrix([1, 1, 1, 0, 0], [1, 0, 0, 0, 1])
    np.testing.assert_array_equal(cm, [[1, 1], [2, 1]])  # [[TN, FP], [FN, TP]]


# --------------------------------------------------------------------------- over thresholds


@pytest.mark.parametrize("seed,n,ties", CASES)
def test_roc_curve_matches_sklearn(seed, n, ties):
    y, s = _random(seed, n, ties)
    if not _both_classes(y):
        y[0], y[-1] = 0, 1
    fpr, tpr, thr = ev.roc_curve(y, s)
    f, t, th = metrics.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_array_equal(thr, th)
    np.testing.assert_allclose(fpr, f, atol=1e-15)
    np.testing.assert_allclose(tpr, t, atol=1e-15)
    assert abs(np.trapezoid(tpr, fpr) - ev.roc_auc(y, s)) <= 1e-12


def test_roc_curve_with_one_class_gives_nan_rates_like_sklearn():
    y, s = np.ones(4, dtype=int), np.array([0.1, 0.4, 0.4, 0.9])
    fpr, tpr, _ = ev.roc_curve(y, s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f, t, _ = metrics.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_array_equal(fpr, f)  # all NaN on both sides
    np.testing.assert_array_equal(tpr, t)


@pytest.mark.parametrize("seed,n,ties", CASES[:4])
def test_precision_recall_match_precision_recall_curve(seed, n, ties):
    y, s = _random(seed, n, ties)
    prec, rec, thr = metrics.precision_recall_curve(y, s)
    table = ev.rates_table(
        y, s, thr
    )  # sklearn's own thresholds; its last point is (1, 0) by convention
    np.testing.assert_allclose(table["precision"], prec[:-1], atol=1e-15)
    np.testing.assert_allclose(table["recall"], rec[:-1], atol=1e-15)


def test_counts_match_a_plain_loop():
    y, s = _random(3, 400, ties=7)
    thresholds = np.linspace(-0.1, 1.1, 25)
    c = ev.counts_at(y, s, thresholds)
    for i, t in enumerate(thresholds):
        pred = s >= t
        assert c["tp"][i] == (pred & (y == 1)).sum() and c["fp"][i] == (pred & (y == 0)).sum()
        assert c["fn"][i] == (~pred & (y == 1)).sum() and c["tn"][i] == (~pred & (y == 0)).sum()


def test_rates_table_f1_matches_sklearn():
    y, s = _random(9, 500, ties=50)
    table = ev.rates_table(y, s)
    for row in table.iloc[::7].itertuples():
        expected = metrics.f1_score(y, s >= row.threshold, zero_division=np.nan)
        np.testing.assert_allclose(row.f1, expected, atol=1e-12)


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def churn_val():
    return churn_lessons.validation_scores(C=1.0)


def test_metrics_on_real_churn_scores_match_sklearn(churn_val):
    y, s = churn_val["y"], churn_val["score"]
    assert abs(ev.roc_auc(y, s) - metrics.roc_auc_score(y, s)) <= 1e-12
    np.testing.assert_array_equal(
        ev.confusion_matrix(y, s >= 0.5), metrics.confusion_matrix(y, s >= 0.5)
    )
    assert ev.precision(y, s >= 0.5) == metrics.precision_score(y, s >= 0.5)
    assert ev.recall(y, s >= 0.5) == metrics.recall_score(y, s >= 0.5)
    # the course's reference figures: accuracy 0.803, precision 0.675, recall 0.544, AUC 0.844
    assert 0.79 < ev.accuracy(y, s >= 0.5) < 0.82
    assert 0.83 < ev.roc_auc(y, s) < 0.86
    assert abs(ev.accuracy(y, np.zeros_like(y)) - 0.726) < 0.005  # the dummy "nobody churns"


def test_final_test_auc_matches_sklearn(churn_val):
    # the final model: train+validation of train_test_split(0.2, seed 1), C = 1, AUC on test
    full_train, test = train_test_split(churn.load_data(), test_size=0.2, random_state=1)
    dv = DictVectorizer(sparse=False)
    X = dv.fit_transform(full_train[churn.FEATURES].to_dict("records"))
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs stops at max_iter on the unscaled charges
        model = LogisticRegression(C=1.0, max_iter=1000).fit(X, full_train["churn"])
    X_test = dv.transform(test[churn.FEATURES].to_dict("records"))
    expected = metrics.roc_auc_score(test["churn"], model.predict_proba(X_test)[:, 1])
    got = churn_lessons.final_test_auc(churn_val["parts"], C=1.0)
    assert got == pytest.approx(expected, abs=1e-9)
    assert 0.83 < got < 0.88  # near the validation AUC (0.846) and the 5-fold mean (0.842)


def test_cross_validate_matches_cross_val_score():
    df = leads.split(leads.load_data(), 1)["full_train"]
    table = ev.cross_validate(
        df,
        [0.001, 1.0],
        fit=lambda d, C: leads.fit(d, solver="liblinear", C=C, random_state=None),
        predict=leads.predict,
        target=leads.TARGET,
    )
    for row in table.itertuples():
        with threadpool_limits(limits=1):
            expected = cross_val_score(
                leads.make_model("liblinear", row.C, None),
                leads.records(df),
                df[leads.TARGET].to_numpy(),
                scoring="roc_auc",
                cv=KFold(n_splits=5, shuffle=True, random_state=1),
            )
        np.testing.assert_allclose(row.folds, expected, atol=1e-12)
        assert row.mean == pytest.approx(expected.mean(), abs=1e-12)
        assert row.std == pytest.approx(expected.std(), abs=1e-12)


@pytest.mark.slow  # a subprocess, a framework import or a tool: seconds
def test_bench_script_runs_and_agrees():
    proc = subprocess.run(
        [
            sys.executable,
            str(paths.module_dir("04-evaluation") / "bench_auc.py"),
            "--n",
            "20000",
            "--repeats",
            "1",
            "--no-save",
        ],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "continuous" in proc.stdout and "ties" in proc.stdout and "sklearn/ours" in proc.stdout
    bad = subprocess.run(
        [sys.executable, str(paths.module_dir("04-evaluation") / "bench_auc.py"), "--n", "1"],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
