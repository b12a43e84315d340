"""Metrics for binary classifiers written with NumPy (module 04), and the project's one
K-fold cross-validation. Label 1 is positive, ``score >= threshold`` predicts it; an
undefined ratio (0/0, or AUC with one class) is NaN, never 0.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold
from tqdm import tqdm


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined for these labels (one class only); NaN is returned."""


# --------------------------------------------------------------------------- checks


def _labels(y_true) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be one-dimensional, got shape {y.shape}")
    if y.dtype != bool:
        values = np.unique(y)
        if not np.isin(values, [0, 1]).all():
            raise ValueError(f"y_true must hold 0/1 (or booleans), found {values[:5]}")
    return y.astype(bool)


def _scores(scores, n: int) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != (n,):
        raise ValueError(f"scores must have shape ({n},), got {s.shape}")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    return s


def _ratio(num, den):
    """num / den elementwise, NaN where den == 0 (0/0 is undefined, not 0)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    return np.where(den == 0, np.nan, out)


# --------------------------------------------------------------------------- at one threshold


def confusion_matrix(y_true, y_pred) -> np.ndarray:
    """``[[TN, FP], [FN, TP]]`` (scikit-learn's layout: rows actual, columns predicted)."""
    y, p = _labels(y_true), _labels(y_pred)
    if y.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {y.shape} vs {p.shape}")
    return np.bincount(2 * y.astype(np.int64) + p, minlength=4).reshape(2, 2)


def accuracy(y_true, y_pred) -> float:
    (tn, fp), (fn, tp) = confusion_matrix(y_true, y_pred)
    return float(_ratio(tp + tn, tn + fp + fn + tp))


def precision(y_true, y_pred) -> float:
    """TP / (TP + FP); NaN when nothing is predicted positive."""
    (_, fp), (_, tp) = confusion_matrix(y_true, y_pred)
    return float(_ratio(tp, tp + fp))


def recall(y_true, y_pred) -> float:
    """TP / (TP + FN), the true positive rate; NaN when there are no positive labels."""
    _, (fn, tp) = confusion_matrix(y_true, y_pred)
    return float(_ratio(tp, tp + fn))


# --------------------------------------------------------------------------- over thresholds


def counts_at(y_true, scores, thresholds) -> dict[str, np.ndarray]:
    """TP, FP, FN, TN at each threshold (positive when ``score >= t``), O((n + k) log n)."""
    y = _labels(y_true)
    s = _scores(scores, len(y))
    t = np.asarray(thresholds, dtype=np.float64)
    pos, neg = np.sort(s[y]), np.sort(s[~y])
    tp = len(pos) - np.searchsorted(pos, t, side="left")  # positives scoring >= t
    fp = len(neg) - np.searchsorted(neg, t, side="left")
    return {"tp": tp, "fp": fp, "fn": len(pos) - tp, "tn": len(neg) - fp}


def rates_table(y_true, scores, thresholds: Sequence[float] | None = None) -> pd.DataFrame:
    """The course's ``tpr_fpr_dataframe``: counts, TPR, FPR, precision, recall, F1 and
    accuracy per threshold (default 0.00, 0.01, ..., 1.00)."""
    t = np.linspace(0, 1, 101) if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    c = counts_at(y_true, scores, t)
    df = pd.DataFrame({"threshold": t, **c})
    df["tpr"] = _ratio(c["tp"], c["tp"] + c["fn"])
    df["fpr"] = _ratio(c["fp"], c["fp"] + c["tn"])
    df["precision"] = _ratio(c["tp"], c["tp"] + c["fp"])
    df["recall"] = df["tpr"]
    df["f1"] = _ratio(2 * df["precision"] * df["recall"], df["precision"] + df["recall"])
    df["accuracy"] = _ratio(c["tp"] + c["tn"], len(_labels(y_true)))
    return df


def roc_curve(y_true, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FPR, TPR and thresholds at every distinct score, highest first, starting at
    ``(0, 0)`` with threshold ``inf`` (scikit-learn's ``roc_curve(...,
    drop_intermediate=False)``)."""
    s = _scores(scores, len(_labels(y_true)))
    thresholds = np.r_[np.inf, np.unique(s)[::-1]]
    c = counts_at(y_true, s, thresholds)
    return _ratio(c["fp"], c["fp"] + c["tn"]), _ratio(c["tp"], c["tp"] + c["fn"]), thresholds


def roc_auc(y_true, scores) -> float:
    """AUC = P(random positive scores above random negative), ties counting ½, in
    O(n log n): sort each class, count the negatives below each positive with
    ``searchsorted`` left and right. One class only: NaN and ``UndefinedMetricWarning``."""
    y = _labels(y_true)
    s = _scores(scores, len(y))
    pos, neg = np.sort(s[y]), np.sort(s[~y])
    if len(pos) == 0 or len(neg) == 0:
        warnings.warn(
            "only one class present in y_true: ROC AUC is undefined",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        return float("nan")
    below = np.searchsorted(neg, pos, side="left").sum(dtype=np.int64)
    below_or_tied = np.searchsorted(neg, pos, side="right").sum(dtype=np.int64)
    return float((below + below_or_tied) / (2.0 * len(pos) * len(neg)))


# --------------------------------------------------------------------------- cross-validation


def cross_validate(
    df: pd.DataFrame,
    C_values: Sequence[float],
    *,
    fit: Callable[[pd.DataFrame, float], Any],
    predict: Callable[[Any, pd.DataFrame], np.ndarray],
    target: str,
    n_splits: int = 5,
    seed: int = 1,
) -> pd.DataFrame:
    """K-fold AUC for each C (``KFold(n_splits, shuffle=True, random_state=seed)``, the same
    folds for every C, a tqdm bar on stderr): rows ``C``, ``mean``, ``std`` (``np.std``),
    ``folds``. ``fit(df, C)`` returns a model, ``predict(model, df)`` its scores."""
    folds = list(KFold(n_splits=n_splits, shuffle=True, random_state=seed).split(df))
    rows = []
    with tqdm(total=len(C_values) * len(folds), desc="K-fold CV", file=sys.stderr) as bar:
        for C in C_values:
            aucs = []
            for train_idx, val_idx in folds:
                train, val = df.iloc[train_idx], df.iloc[val_idx]
                aucs.append(roc_auc(val[target].to_numpy(), predict(fit(train, C), val)))
                bar.update()
            rows.append(
                {"C": C, "mean": float(np.mean(aucs)), "std": float(np.std(aucs)), "folds": aucs}
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- figures


def plot_accuracy(table: pd.DataFrame, dummy: float):
    """Accuracy over thresholds (``rates_table``) against the "nobody churns" baseline."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(table["threshold"], table["accuracy"], label="logistic regression")
    ax.axhline(dummy, color="tab:red", ls="--", label=f"dummy: nobody churns ({dummy:.3f})")
    best = table.loc[table["accuracy"].idxmax()]
    ax.scatter(
        [best["threshold"]],
        [best["accuracy"]],
        color="black",
        zorder=3,
        label=f"best {best['accuracy']:.3f} at {best['threshold']:.2f}",
    )
    ax.set_xlabel("threshold")
    ax.set_ylabel("accuracy (validation)")
    ax.legend()
    ax.set_title("Accuracy over thresholds")
    return fig


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]]):
    """ROC curves ``{label: (fpr, tpr)}`` with the random-model diagonal."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    for label, (fpr, tpr) in curves.items():
        ax.plot(fpr, tpr, label=label)
    ax.plot([0, 1], [0, 1], color="gray", ls="--", label="random (AUC 0.5)")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.legend(loc="lower right")
    ax.set_title("ROC curve (validation)")
    return fig


def plot_precision_recall(table: pd.DataFrame, prevalence: float):
    """Left: precision and recall over thresholds; right: the precision-recall curve."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax1.plot(table["threshold"], table["precision"], label="precision")
    ax1.plot(table["threshold"], table["recall"], label="recall")
    ax1.plot(table["threshold"], table["f1"], label="F1", ls=":")
    ax1.set_xlabel("threshold")
    ax1.legend()
    ax1.set_title("Precision and recall over thresholds")
    ax2.plot(table["recall"], table["precision"])
    ax2.axhline(prevalence, color="gray", ls="--", label=f"random ({prevalence:.3f})")
    ax2.set_xlabel("recall")
    ax2.set_ylabel("precision")
    ax2.legend()
    ax2.set_title("Precision-recall curve")
    fig.tight_layout()
    return fig
