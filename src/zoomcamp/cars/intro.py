"""Module 01: the products the lesson writes by hand (loops, for reading; NumPy for real
work) and the 2025 homework: one function per question and :func:`compute`, the answers
``01-intro/homework.py`` prints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoomcamp import datasets, homework

DATASET = "car-fuel-efficiency"
Q7_Y = [1100, 1300, 800, 900, 1000, 1100, 1200]
Q7_COLUMNS = ["vehicle_weight", "model_year"]
OPTIONS_Q2 = ["4704", "8704", "9704", "17704"]
OPTIONS_Q3 = ["1", "2", "3", "4"]
OPTIONS_Q4 = ["0", "1", "2", "3", "4"]
OPTIONS_Q5 = ["13.75", "23.75", "33.75", "43.75"]
OPTIONS_Q6 = ["Yes, it increased", "Yes, it decreased", "No"]
OPTIONS_Q7 = ["0.051", "0.51", "5.1", "51"]


# --- linear algebra by hand ---------------------------------------------------------


def _shape(a) -> tuple[int, ...]:
    return np.shape(a)


def vector_vector_multiplication(u, v) -> float:
    """Dot product u·v = sum_i u_i v_i (both 1-D, same length)."""
    if len(_shape(u)) != 1 or len(_shape(v)) != 1:
        raise ValueError(f"expected two vectors, got shapes {_shape(u)} and {_shape(v)}")
    if len(u) != len(v):
        raise ValueError(f"vector lengths differ: {len(u)} vs {len(v)}")
    result = 0.0
    for i in range(len(u)):
        result = result + u[i] * v[i]
    return float(result)


def matrix_vector_multiplication(U, v) -> np.ndarray:
    """U·v: row i of the result is the dot product of row i of U with v."""
    if len(_shape(U)) != 2 or len(_shape(v)) != 1:
        raise ValueError(f"expected a matrix and a vector, got shapes {_shape(U)} and {_shape(v)}")
    n_rows, n_cols = _shape(U)
    if n_cols != len(v):
        raise ValueError(f"matrix has {n_cols} columns but the vector has {len(v)} entries")
    result = np.zeros(n_rows)
    for i in range(n_rows):
        result[i] = vector_vector_multiplication(U[i], v)
    return result


def matrix_matrix_multiplication(U, V) -> np.ndarray:
    """U·V: column j of the result is U times column j of V."""
    if len(_shape(U)) != 2 or len(_shape(V)) != 2:
        raise ValueError(f"expected two matrices, got shapes {_shape(U)} and {_shape(V)}")
    n, k = _shape(U)
    k2, m = _shape(V)
    if k != k2:
        raise ValueError(f"inner dimensions differ: {_shape(U)} @ {_shape(V)}")
    V = np.asarray(V)
    result = np.zeros((n, m))
    for j in range(m):
        result[:, j] = matrix_vector_multiplication(U, V[:, j])
    return result


# --- homework -------------------------------------------------------------------------


def load_data() -> pd.DataFrame:
    """The car fuel efficiency table (fetched and checksum-verified on first use)."""
    return pd.read_csv(datasets.fetch(DATASET))


def pandas_version() -> str:
    """Q1: the installed pandas version."""
    return pd.__version__


def n_records(df: pd.DataFrame) -> int:
    """Q2: number of rows."""
    return int(len(df))


def n_fuel_types(df: pd.DataFrame) -> int:
    """Q3: number of distinct values of ``fuel_type``."""
    return int(df["fuel_type"].nunique())


def n_columns_with_missing(df: pd.DataFrame) -> int:
    """Q4: how many columns hold at least one missing value."""
    return int((df.isnull().sum() > 0).sum())


def max_mpg_asia(df: pd.DataFrame) -> float:
    """Q5: the highest ``fuel_efficiency_mpg`` among cars from Asia."""
    return float(df.loc[df["origin"] == "Asia", "fuel_efficiency_mpg"].max())


def horsepower_medians(df: pd.DataFrame) -> dict[str, float]:
    """Q6: median horsepower before and after filling its gaps with the most frequent value."""
    hp = df["horsepower"]
    mode = float(hp.mode().iloc[0])
    return {
        "median_before": float(hp.median()),
        "mode": mode,
        "median_after": float(hp.fillna(mode).median()),
    }


def median_change(before: float, after: float) -> str:
    """Q6's option text from the two medians."""
    if after > before:
        return "Yes, it increased"
    if after < before:
        return "Yes, it decreased"
    return "No"


def q7_matrix(df: pd.DataFrame) -> np.ndarray:
    """Q7's X: cars from Asia, ``vehicle_weight`` and ``model_year``, first 7 rows."""
    return df.loc[df["origin"] == "Asia", Q7_COLUMNS].head(7).to_numpy(dtype=float)


def normal_equation_weights(X: np.ndarray, y) -> np.ndarray:
    """w = (XᵀX)⁻¹ Xᵀ y, written step by step as the homework asks."""
    XTX = X.T.dot(X)
    XTX_inv = np.linalg.inv(XTX)
    return XTX_inv.dot(X.T).dot(np.asarray(y, dtype=float))


def q7_weight_sum(df: pd.DataFrame) -> float:
    """Q7: the sum of w."""
    return float(normal_equation_weights(q7_matrix(df), Q7_Y).sum())


def compute() -> dict:
    """The seven answers (the ``zoomcamp.homework`` contract)."""
    df = load_data()
    medians = horsepower_medians(df)
    before, after = medians["median_before"], medians["median_after"]
    return {
        "q1": homework.answer(pandas_version()),
        "q2": homework.answer(n_records(df), OPTIONS_Q2),
        "q3": homework.answer(n_fuel_types(df), OPTIONS_Q3),
        "q4": homework.answer(n_columns_with_missing(df), OPTIONS_Q4),
        "q5": homework.answer(max_mpg_asia(df), OPTIONS_Q5),
        "q6": homework.answer(
            after,
            OPTIONS_Q6,
            option=median_change(before, after),
            note=f"median horsepower {before:g} before, {after:g} after filling "
            f"the gaps with the most frequent value {medians['mode']:g}",
        ),
        "q7": homework.answer(q7_weight_sum(df), OPTIONS_Q7),
    }


def plot_mpg_by_origin(df: pd.DataFrame):
    """Histogram of ``fuel_efficiency_mpg`` per origin (``figures.py`` saves it)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.linspace(df["fuel_efficiency_mpg"].min(), df["fuel_efficiency_mpg"].max(), 40)
    for origin, group in df.groupby("origin"):
        ax.hist(
            group["fuel_efficiency_mpg"],
            bins=bins,
            histtype="step",
            linewidth=1.5,
            label=f"{origin} (n={len(group)})",
        )
    ax.set_xlabel("fuel_efficiency_mpg")
    ax.set_ylabel("cars")
    ax.set_title("Fuel efficiency by origin")
    ax.legend()
    return fig
