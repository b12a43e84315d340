"""02-regression: train.py on the real data gives the lesson's model, saves it under the
artifacts schema and writes the same report bytes on every run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from zoomcamp import artifacts, modules, paths
from zoomcamp.cars import regression as reg

MODULE = modules.load(paths.module_dir("02-regression"))


def _train(*args, reports=None):
    env = dict(os.environ)
    if reports is not None:
        env["ZOOMCAMP_REPORTS_DIR"] = str(reports)
    return subprocess.run(
        [sys.executable, str(MODULE.folder / "train.py"), *map(str, args)],
        cwd=paths.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("car-price")
    reports = tmp_path_factory.mktemp("reports")
    proc = _train("--out", out, reports=reports)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, reports / MODULE.name, proc.stdout


@pytest.mark.slow
def test_train_writes_a_verified_model(trained):
    out, _, stdout = trained
    meta = artifacts.verify(out)
    assert meta["name"] == reg.MODEL_NAME and list(meta["files"]) == [reg.MODEL_FILE]
    assert len(meta["data"]["car-price"]) == 64
    assert meta["config"]["r"] > 0  # r = 0 is singular with the categorical features
    w0, w, spec, _ = reg.load_model(out)
    assert len(w) == len(spec.names())
    assert "validation RMSE" in stdout and "test RMSE" in stdout


@pytest.mark.slow
def test_train_matches_the_course_reference_figures(trained):
    _, reports, _ = trained
    metrics = json.loads((reports / "metrics.json").read_text())
    steps = metrics["validation_rmse_steps"]
    # The course notebook's figures (spec of 02): baseline ≈ 0.76, with age ≈ 0.52,
    # every feature with r = 0.01 ≈ 0.46, final test ≈ 0.46.
    assert steps["baseline"] == pytest.approx(0.76, abs=0.01)
    assert steps["with_age"] == pytest.approx(0.52, abs=0.01)
    assert metrics["validation_rmse_by_r"]["0.01"] == pytest.approx(0.46, abs=0.01)
    assert metrics["test_rmse"] == pytest.approx(0.46, abs=0.01)
    assert metrics["validation_rmse_by_r"]["0"] is None
    # 60/20/20 of the 11914 cars: validation and test get int(0.2 * n) each
    assert metrics["rows"] == {"train": 7150, "validation": 2382, "test": 2382}


@pytest.mark.slow
def test_saved_model_reproduces_test_rmse(trained):
    out, _, _ = trained
    w0, w, spec, meta = reg.load_model(out)
    df = reg.load_car_prices()
    _, _, df_test = reg.split(df, seed=meta["config"]["seed"])
    pred = reg.predict(reg.prepare_X(df_test, spec), w0, w)
    assert reg.rmse(reg.target(df_test), pred) == pytest.approx(
        meta["metrics"]["test_rmse"], rel=1e-9
    )


@pytest.mark.slow
def test_reports_are_the_listed_outputs_and_byte_identical_on_a_rerun(trained, tmp_path):
    _, reports, _ = trained
    assert sorted(p.name for p in reports.iterdir()) == sorted(MODULE.outputs)
    proc = _train("--out", tmp_path / "model", reports=tmp_path / "reports")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in MODULE.outputs:
        again = (tmp_path / "reports" / MODULE.name / name).read_bytes()
        assert again == (reports / name).read_bytes(), f"{name} differs between two runs"


def test_a_bad_argument_is_one_line_not_a_traceback(tmp_path):
    proc = _train("--out", tmp_path / "model", "--r-grid", "0", reports=tmp_path / "reports")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: every r in [0.0]")
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "model" / artifacts.METADATA_FILE).exists()
