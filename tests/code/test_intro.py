"""01-intro: the hand-written vector/matrix products agree with NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from zoomcamp.cars import intro

SHAPES = [(1, 1, 1), (1, 5, 1), (5, 1, 5), (1, 4, 6), (6, 4, 1), (3, 3, 3), (2, 7, 4), (9, 2, 5)]


@pytest.mark.parametrize("n", [1, 2, 7, 50])
def test_vector_vector_matches_numpy(n):
    rng = np.random.default_rng(n)
    u, v = rng.normal(size=n), rng.normal(size=n)
    assert intro.vector_vector_multiplication(u, v) == pytest.approx(
        float(u @ v), rel=1e-12, abs=1e-12
    )


def test_vector_vector_on_known_values():
    assert intro.vector_vector_multiplication([1, 2, 3], [4, 5, 6]) == 32  # 4 + 10 + 18


@pytest.mark.parametrize("rows,cols", [(1, 1), (1, 6), (6, 1), (3, 3), (4, 9), (9, 4)])
def test_matrix_vector_matches_numpy(rows, cols):
    rng = np.random.default_rng(rows * 100 + cols)
    U, v = rng.normal(size=(rows, cols)), rng.normal(size=cols)
    got = intro.matrix_vector_multiplication(U, v)
    assert got.shape == (rows,)
    np.testing.assert_allclose(got, U @ v, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n,k,m", SHAPES)
def test_matrix_matrix_matches_numpy(n, k, m):
    rng = np.random.default_rng(n * 10_000 + k * 100 + m)
    U, V = rng.normal(size=(n, k)) * 10, rng.integers(-5, 6, size=(k, m))
    got = intro.matrix_matrix_multiplication(U, V)
    assert got.shape == (n, m)
    np.testing.assert_allclose(got, U @ V, rtol=1e-12, atol=1e-10)


def test_matrix_matrix_on_lists_and_known_values():
    got = intro.matrix_matrix_multiplication([[1, 2], [3, 4]], [[5, 6], [7, 8]])
    np.testing.assert_array_equal(got, [[19, 22], [43, 50]])


def test_identity_leaves_a_matrix_unchanged():
    rng = np.random.default_rng(0)
    U = rng.normal(size=(4, 3))
    np.testing.assert_allclose(intro.matrix_matrix_multiplication(np.eye(4), U), U)
    np.testing.assert_allclose(intro.matrix_matrix_multiplication(U, np.eye(3)), U)


@pytest.mark.parametrize(
    "call",
    [
        lambda: intro.vector_vector_multiplication(np.ones(3), np.ones(4)),
        lambda: intro.vector_vector_multiplication(np.ones((2, 2)), np.ones(2)),
        lambda: intro.matrix_vector_multiplication(np.ones((2, 3)), np.ones(2)),
        lambda: intro.matrix_vector_multiplication(np.ones(3), np.ones(3)),
        lambda: intro.matrix_matrix_multiplication(np.ones((2, 3)), np.ones((2, 3))),
        lambda: intro.matrix_matrix_multiplication(np.ones((1, 4)), np.ones((5, 1))),
        lambda: intro.matrix_matrix_multiplication(np.ones((2, 2)), np.ones(2)),
    ],
    ids=[
        "vv-length",
        "vv-not-vector",
        "mv-cols",
        "mv-not-matrix",
        "mm-inner",
        "mm-row-col",
        "mm-vector",
    ],
)
def test_shape_mismatch_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_normal_equation_weights_match_lstsq():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(20, 3))
    y = rng.normal(size=20)
    expected, *_ = np.linalg.lstsq(X, y, rcond=None)
    np.testing.assert_allclose(intro.normal_equation_weights(X, y), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "before,after,expected",
    [
        (149.0, 152.0, "Yes, it increased"),
        (149.0, 140.0, "Yes, it decreased"),
        (149.0, 149.0, "No"),
    ],
)
def test_median_change_option(before, after, expected):
    assert intro.median_change(before, after) == expected
