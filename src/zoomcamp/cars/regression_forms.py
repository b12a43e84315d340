"""The lesson's first forms of the prediction ``g(x_i) = w0 + Σ_j w_j·x_ij``: a loop over
one car's features, a dot product (the bias as a weight on a leading 1), and ``X·w`` with a
column of ones for every car. Loops to be read, not to be fast::

    from zoomcamp.cars import regression_forms as forms
    forms.predict_one_loop([453, 11, 86], 7.17, [0.01, 0.04, 0.002])   # 12.312
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from zoomcamp.errors import ZoomcampError


def _check(n_features: int, w: Sequence[float]) -> None:
    if n_features != len(w):
        raise ZoomcampError(f"{n_features} feature values but {len(w)} weights")


def predict_one_loop(xi: Sequence[float], w0: float, w: Sequence[float]) -> float:
    """One car, one feature at a time: ``w0 + w[0]·xi[0] + w[1]·xi[1] + ...``."""
    _check(len(xi), w)
    pred = float(w0)
    for j in range(len(xi)):
        pred = pred + float(w[j]) * float(xi[j])
    return pred


def dot(xi: Sequence[float], w: Sequence[float]) -> float:
    """The dot product written out: the sum of ``xi[j]·w[j]``."""
    _check(len(xi), w)
    res = 0.0
    for j in range(len(xi)):
        res = res + float(xi[j]) * float(w[j])
    return res


def predict_one_dot(xi: Sequence[float], w0: float, w: Sequence[float]) -> float:
    """One car as a dot product: the bias becomes a weight on a feature that is always 1."""
    w_full = [float(w0), *w]
    return dot([1.0, *xi], w_full)


def predict_loop(X, w0: float, w: Sequence[float]) -> np.ndarray:
    """Every row of ``X`` through :func:`predict_one_loop`."""
    return np.array([predict_one_loop(xi, w0, w) for xi in np.asarray(X, dtype=float)])


def predict_dot(X, w0: float, w: Sequence[float]) -> np.ndarray:
    """Every row of ``X`` through :func:`predict_one_dot`."""
    return np.array([predict_one_dot(xi, w0, w) for xi in np.asarray(X, dtype=float)])


def predict_matrix(X, w0: float, w: Sequence[float]) -> np.ndarray:
    """All rows at once: ``X`` with a column of ones, times ``[w0, w...]``."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ZoomcampError(f"expected X of shape (n, d), got {X.shape}")
    _check(X.shape[1], w)
    Xb = np.column_stack([np.ones(len(X)), X])
    return Xb.dot(np.r_[float(w0), np.asarray(w, dtype=float)])
