"""The numbers and figures of the churn lessons (03, 04), what ``lesson.py`` of each module
writes under ``reports/`` and what the notebooks check their own code against.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from zoomcamp import classification, metrics
from zoomcamp.churn import model as churn

SMALL_FEATURES = ["contract", "tenure", "monthlycharges"]
CUSTOMER = 10  # the test customer the 03 lesson scores
LESSON_C = 1.0
SAMPLED_PAIRS = 10_000


def classification_lesson(
    df: pd.DataFrame | None = None, figures: bool = True
) -> tuple[dict[str, Any], dict]:
    """The 03 lesson: ``(summary, figures)``; the summary is ``lesson.json``, the figures
    ``{name: matplotlib figure}`` for ``churn-rate-by-group``, ``feature-importance`` and
    ``coefficients`` (none with ``figures=False``)."""
    df = churn.load_data() if df is None else df
    parts = churn.split(df)
    full_train, val, test = parts["full_train"], parts["val"], parts["test"]
    global_rate = full_train[churn.TARGET].mean()
    mi, corr = churn.mutual_information(full_train), churn.correlation(full_train)

    model = churn.fit(parts["train"], C=LESSON_C)
    y_val = val[churn.TARGET].to_numpy()
    val_accuracy = float(((churn.predict(model, val) >= churn.THRESHOLD) == y_val).mean())
    small = churn.fit(parts["train"], C=LESSON_C, features=SMALL_FEATURES)
    p_small = churn.predict(small, val, SMALL_FEATURES)
    small_accuracy = float(((p_small >= churn.THRESHOLD) == y_val).mean())

    onehot_scaled = onehot_scaled_summary(parts["train"], val)

    final = churn.fit(full_train, C=LESSON_C)
    y_test = test[churn.TARGET].to_numpy()
    test_accuracy = float(((churn.predict(final, test) >= churn.THRESHOLD) == y_test).mean())
    proba = final.predict_proba([churn.records(test)[CUSTOMER]])[0, 1]

    summary = {
        "n_rows": len(df),
        "split": {k: len(v) for k, v in parts.items()},
        "global_churn_rate": float(global_rate),
        "mutual_info_top3": mi.head(3).round(4).to_dict(),
        "correlation": corr.round(4).to_dict(),
        "validation_accuracy": val_accuracy,
        "validation_converged": classification.converged(model),
        "validation_n_iter": int(model.named_steps["logisticregression"].n_iter_.max()),
        "validation_n_features": len(model.named_steps["dictvectorizer"].feature_names_),
        "onehot_scaled": onehot_scaled,
        "validation_accuracy_small": small_accuracy,
        "test_accuracy_full_train": test_accuracy,
        "C": LESSON_C,
        "threshold": churn.THRESHOLD,
        "customer_10_proba": float(proba),
        "customer_10_churned": int(y_test[CUSTOMER]),
    }
    if not figures:
        return summary, {}
    return summary, {
        "churn-rate-by-group": plot_risk(churn.risk_table(full_train), global_rate),
        "feature-importance": plot_feature_importance(mi, corr),
        "coefficients": plot_coefficients(churn.coefficients(model)),
    }


def make_onehot_scaled(C: float = LESSON_C) -> Pipeline:
    """``OneHotEncoder`` (categoricals) + ``StandardScaler`` (numericals) in a
    ``ColumnTransformer``, then ``LogisticRegression(C, max_iter=1000)``; takes a DataFrame."""
    columns = ColumnTransformer(
        [
            ("onehot", OneHotEncoder(handle_unknown="ignore"), churn.CATEGORICAL),
            ("scale", StandardScaler(), churn.NUMERICAL),
        ]
    )
    lr = LogisticRegression(C=C, max_iter=classification.MAX_ITER)
    return Pipeline([("columns", columns), ("logisticregression", lr)])


def fit_onehot_scaled(df: pd.DataFrame, C: float = LESSON_C) -> Pipeline:
    """:func:`make_onehot_scaled` fitted on ``df``, as ``classification.fit_logistic`` fits
    (one BLAS thread, ConvergenceWarning silenced: ``classification.converged`` tells)."""
    model = make_onehot_scaled(C)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(df[churn.FEATURES], df[churn.TARGET].to_numpy())
    return model


def onehot_scaled_summary(train: pd.DataFrame, val: pd.DataFrame, C: float = LESSON_C):
    """Validation accuracy and lbfgs convergence of the one-hot + scaling variant."""
    model = fit_onehot_scaled(train, C)
    proba = model.predict_proba(val[churn.FEATURES])[:, 1]
    return {
        "validation_accuracy": metrics.accuracy(
            val[churn.TARGET].to_numpy(), proba >= churn.THRESHOLD
        ),
        "converged": classification.converged(model),
        "n_iter": int(model.named_steps["logisticregression"].n_iter_.max()),
        "n_features": len(model.named_steps["columns"].get_feature_names_out()),
    }


def validation_scores(C: float = LESSON_C) -> dict[str, Any]:
    """The lesson's model (fitted on train) scored on validation."""
    parts = churn.split(churn.load_data())
    model = churn.fit(parts["train"], C=C)
    return {
        "y": parts["val"][churn.TARGET].to_numpy(),
        "score": churn.predict(model, parts["val"]),
        "model": model,
        "parts": parts,
    }


def final_test_auc(parts: dict[str, pd.DataFrame], C: float = LESSON_C) -> float:
    """The lesson's last step: the model fitted on train+validation (``full_train``), its
    AUC on the test part, which nothing before has looked at."""
    final = churn.fit(parts["full_train"], C=C)
    return metrics.roc_auc(
        parts["test"][churn.TARGET].to_numpy(), churn.predict(final, parts["test"])
    )


def reference_curves(y: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Scores of the random model (uniform, drawn from ``rng``) and labels and scores of the
    ideal model (every negative below every positive), the 04 lesson's comparisons."""
    n_neg = int((y == 0).sum())
    return {
        "random_score": rng.uniform(0, 1, size=len(y)),
        "y_ideal": np.r_[np.zeros(n_neg, dtype=int), np.ones(len(y) - n_neg, dtype=int)],
        "ideal_score": np.linspace(0, 1, len(y)),
    }


def sampled_auc(y: np.ndarray, score: np.ndarray, rng: np.random.Generator) -> float:
    """AUC estimated from random (positive, negative) pairs: the share where the positive
    scores higher (the course's sampling version; ties count 0)."""
    pos, neg = score[y == 1], score[y == 0]
    i = rng.integers(0, len(pos), SAMPLED_PAIRS)
    j = rng.integers(0, len(neg), SAMPLED_PAIRS)
    return float((pos[i] > neg[j]).mean())


def evaluation_lesson(figures: bool = True) -> tuple[dict[str, Any], dict]:
    """The 04 lesson: ``(summary, figures)``; the summary is ``lesson.json``, the figures
    ``accuracy-thresholds``, ``roc-curve`` and ``precision-recall`` (none with
    ``figures=False``). One generator (seed 1) draws the random scores, then the pairs."""
    run = validation_scores()
    y, score = run["y"], run["score"]
    table = metrics.rates_table(y, score)
    val_accuracy = metrics.accuracy(y, score >= churn.THRESHOLD)
    dummy = metrics.accuracy(y, np.zeros_like(y))
    (tn, fp), (fn, tp) = metrics.confusion_matrix(y, score >= churn.THRESHOLD)

    rng = np.random.default_rng(1)
    ref = reference_curves(y, rng)
    curves = {
        f"model (AUC {metrics.roc_auc(y, score):.3f})": metrics.roc_curve(y, score)[:2],
        f"random scores (AUC {metrics.roc_auc(y, ref['random_score']):.3f})": metrics.roc_curve(
            y, ref["random_score"]
        )[:2],
        f"ideal (AUC {metrics.roc_auc(ref['y_ideal'], ref['ideal_score']):.3f})": (
            metrics.roc_curve(ref["y_ideal"], ref["ideal_score"])[:2]
        ),
    }
    fpr, tpr, _ = metrics.roc_curve(y, score)
    cv = churn.cross_validate(run["parts"]["full_train"], churn.c_grid())
    summary = {
        "validation_accuracy": val_accuracy,
        "dummy_accuracy": dummy,
        "best_threshold": float(table.loc[table["accuracy"].idxmax(), "threshold"]),
        "best_accuracy": float(table["accuracy"].max()),
        "confusion_matrix": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
        "precision": metrics.precision(y, score >= churn.THRESHOLD),
        "recall": metrics.recall(y, score >= churn.THRESHOLD),
        "auc": metrics.roc_auc(y, score),
        "auc_sklearn": float(roc_auc_score(y, score)),
        "auc_trapezoid": float(np.trapezoid(tpr, fpr)),
        "auc_sampled_10k": sampled_auc(y, score, rng),
        "cv": [{"C": float(r.C), "mean": r.mean, "std": r.std} for r in cv.itertuples()],
        "final_C": LESSON_C,
        "test_auc": final_test_auc(run["parts"], LESSON_C),
    }
    if not figures:
        return summary, {}
    return summary, {
        "accuracy-thresholds": metrics.plot_accuracy(table, dummy),
        "roc-curve": metrics.plot_roc(curves),
        "precision-recall": metrics.plot_precision_recall(table, y.mean()),
    }


# --------------------------------------------------------------------------- figures


def plot_risk(table: pd.DataFrame, global_rate: float):
    """Churn rate of every categorical value (``risk_table``), with the global rate."""
    import matplotlib.pyplot as plt

    t = table.sort_values("mean")
    fig, ax = plt.subplots(figsize=(7, 10))
    labels = t["feature"] + " = " + t["value"].astype(str)
    colors = ["tab:red" if r > 1.2 else "tab:green" if r < 0.8 else "tab:gray" for r in t["risk"]]
    ax.barh(labels, t["mean"], color=colors)
    ax.axvline(global_rate, color="black", ls="--", label=f"global churn rate {global_rate:.3f}")
    ax.set_xlabel("churn rate (red: risk ratio > 1.2, green: < 0.8)")
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(loc="lower right")
    ax.set_title("Churn rate by group")
    return fig


def plot_feature_importance(mi: pd.Series, corr: pd.Series):
    """Mutual information of the categoricals and correlation of the numerics with churn."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [3, 1]})
    mi.sort_values().plot.barh(ax=ax1, color="tab:blue")
    ax1.set_xlabel("mutual information with churn (nats)")
    ax1.set_title("Categorical features")
    corr.plot.bar(ax=ax2, color=["tab:green" if v < 0 else "tab:red" for v in corr])
    ax2.axhline(0, color="black", lw=0.8)
    ax2.set_ylabel("Pearson correlation with churn")
    ax2.set_title("Numerical features")
    fig.tight_layout()
    return fig


def plot_coefficients(weights: pd.Series, top: int = 12):
    """The largest positive and negative weights of a fitted model."""
    import matplotlib.pyplot as plt

    w = weights.sort_values()
    w = pd.concat([w.head(top // 2), w.tail(top // 2)])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.barh(w.index, w.values, color=["tab:green" if v < 0 else "tab:red" for v in w])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("weight (log-odds of churn per unit / per one-hot value)")
    ax.set_title("Logistic regression: largest weights")
    return fig
