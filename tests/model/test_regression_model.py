"""02-regression: train.py on the real data gives a sensible model and saves it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import service_files

from zoomcamp import paths

reg = service_files.load("02-regression", "regression")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("car-price")
    proc = subprocess.run(
        [sys.executable, str(paths.module_dir("02-regression") / "train.py"), "--out", str(out)],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stdout


@pytest.mark.slow
def test_train_writes_model_and_metadata(trained):
    out, stdout = trained
    w0, w, spec, meta = reg.load_model(out)
    assert len(w) == len(spec.names()) and np.isfinite(w).all()
    for key in ("numpy", "pandas", "data", "config", "metrics"):
        assert key in meta
    assert len(meta["data"]["sha256"]) == 64
    assert meta["config"]["r"] > 0  # r = 0 is singular with the categorical features
    assert "validation RMSE" in stdout and "test RMSE" in stdout


@pytest.mark.slow
def test_train_rmse_in_a_sensible_band(trained):
    out, _ = trained
    metrics = json.loads((paths.reports_dir() / "02-regression" / "metrics.json").read_text())
    steps = metrics["validation_rmse_steps"]
    # every lesson step improves on the previous one, and the full model is well under 0.6
    assert 0.6 < steps["baseline"] < 0.9
    assert steps["with_age"] < steps["baseline"]
    assert metrics["validation_rmse"] < min(steps.values())
    assert metrics["validation_rmse"] < 0.6 and metrics["test_rmse"] < 0.6
    assert metrics["validation_rmse_by_r"]["0"] is None


@pytest.mark.slow
def test_saved_model_reproduces_test_rmse(trained):
    out, _ = trained
    w0, w, spec, meta = reg.load_model(out)
    df = reg.load_car_prices()
    _, _, df_test = reg.split(df, seed=meta["config"]["seed"])
    pred = reg.predict(reg.prepare_X(df_test, spec), w0, w)
    assert reg.rmse(reg.target(df_test), pred) == pytest.approx(
        meta["metrics"]["test_rmse"], rel=1e-9
    )
