"""01-intro: the real car fuel efficiency CSV, the homework computed on it, the figure."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from zoomcamp import datasets, modules, paths
from zoomcamp.cars import intro

NAMED_COLUMNS = {
    "origin",
    "fuel_type",
    "horsepower",
    "vehicle_weight",
    "model_year",
    "fuel_efficiency_mpg",
}


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return intro.load_data()


def test_csv_has_crlf_line_endings():
    # The spec says so; pandas must still parse clean column names and values from it.
    head = datasets.fetch("car-fuel-efficiency").read_bytes()[:4096]
    assert b"\r\n" in head


def test_loads_with_eleven_columns(df):
    assert df.shape[1] == 11
    assert NAMED_COLUMNS <= set(df.columns)
    assert not any(c.endswith("\r") for c in df.columns)
    assert df["fuel_efficiency_mpg"].dtype.kind == "f"


def test_row_count_is_exact(df):
    # The file is pinned by its sha256, so its row count is known exactly (one of Q2's options).
    assert len(df) == 9704
    assert intro.n_records(df) == 9704


def test_origins_and_fuel_types_are_clean_strings(df):
    assert set(df["origin"].unique()) <= {"Asia", "Europe", "USA"}
    assert "Asia" in set(df["origin"])
    assert not df["fuel_type"].str.contains("\r").any()


def test_q7_sum_matches_independent_solvers(df):
    asia = df[df["origin"] == "Asia"]
    X = asia[["vehicle_weight", "model_year"]].iloc[:7].to_numpy()
    y = np.array([1100, 1300, 800, 900, 1000, 1100, 1200], dtype=float)
    w_solve = np.linalg.solve(X.T @ X, X.T @ y)
    w_lstsq, *_ = np.linalg.lstsq(X, y, rcond=None)
    np.testing.assert_allclose(w_solve, w_lstsq, rtol=1e-6)
    assert intro.q7_weight_sum(df) == pytest.approx(w_lstsq.sum(), rel=1e-6)


def test_q5_and_q6_against_plain_pandas(df):
    assert intro.max_mpg_asia(df) == pytest.approx(
        df.groupby("origin")["fuel_efficiency_mpg"].max()["Asia"]
    )
    hp = df["horsepower"]
    filled = hp.fillna(hp.value_counts().idxmax())
    m = intro.horsepower_medians(df)
    assert m["median_before"] == pytest.approx(np.nanmedian(hp.to_numpy()))
    assert m["median_after"] == pytest.approx(np.median(filled.to_numpy()))


@pytest.mark.slow  # a subprocess, a framework import or a tool: seconds
def test_figures_script_writes_every_listed_output(tmp_path):
    module = modules.load(paths.module_dir("01-intro"))
    env = {**os.environ, "ZOOMCAMP_REPORTS_DIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, str(module.folder / "figures.py")],
        cwd=paths.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert ["figures.py"] in module.steps and module.outputs
    for name in module.outputs:
        assert (tmp_path / "01-intro" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
