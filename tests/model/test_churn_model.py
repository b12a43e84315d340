"""03-classification: train.py trains the churn model that 05-deployment serves; the
artifact loads, its metadata is right, and a tampered file is refused."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest
import service_files

from zoomcamp import datasets, paths
from zoomcamp.errors import ZoomcampError

churn = service_files.load("03-classification", "churn")
TRAIN = paths.module_dir("03-classification") / "train.py"


def _train(*args, timeout=600):
    return subprocess.run(
        [sys.executable, str(TRAIN), *args],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("churn") / "churn-model.bin"
    proc = _train("--output", str(out), "--C", "1.0")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.slow
def test_artifact_and_metadata(trained):
    meta = json.loads(trained.with_suffix(".json").read_text())
    assert meta["model_file"] == "churn-model.bin"
    assert meta["sha256"] == hashlib.sha256(trained.read_bytes()).hexdigest()
    assert meta["data_sha256"] in datasets.get("telco-churn").sha256
    assert meta["C"] == 1.0
    assert meta["features"]["numerical"] == ["tenure", "monthlycharges", "totalcharges"]
    assert len(meta["features"]["categorical"]) == 16
    assert meta["categories"]["seniorcitizen"] == [0, 1]
    assert meta["categories"]["contract"] == ["month-to-month", "one_year", "two_year"]
    assert "seniorcitizen" in meta["notes"]
    for key in ("sklearn_version", "numpy_version", "python_version", "trained_at"):
        assert meta[key]


@pytest.mark.slow
def test_loaded_model_reproduces_its_test_metrics(trained):
    pipeline, meta = churn.load_model(trained)
    assert [name for name, _ in pipeline.steps] == ["dictvectorizer", "logisticregression"]
    test = churn.split(churn.load_data())["test"]
    proba = pipeline.predict_proba(churn.records(test))[:, 1]
    y = test["churn"].to_numpy()
    assert ((proba >= 0.5) == y).mean() == pytest.approx(
        meta["metrics"]["test_accuracy"], abs=1e-12
    )
    # the course's reference: test accuracy 0.815
    assert 0.79 < meta["metrics"]["test_accuracy"] < 0.83
    assert 0.83 < meta["metrics"]["test_auc"] < 0.88


@pytest.mark.slow
def test_tampered_artifact_is_refused(trained, tmp_path):
    copy = tmp_path / "churn-model.bin"
    data = bytearray(trained.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    copy.with_suffix(".json").write_text(trained.with_suffix(".json").read_text())
    with pytest.raises(ZoomcampError, match="sha256"):
        churn.load_model(copy)


@pytest.mark.slow
def test_model_scores_a_customer_sensibly(trained):
    pipeline, _ = churn.load_model(trained)
    base = {
        "gender": "female",
        "seniorcitizen": 0,
        "partner": "no",
        "dependents": "no",
        "phoneservice": "yes",
        "multiplelines": "no",
        "internetservice": "fiber_optic",
        "onlinesecurity": "no",
        "onlinebackup": "no",
        "deviceprotection": "no",
        "techsupport": "no",
        "streamingtv": "no",
        "streamingmovies": "no",
        "paperlessbilling": "yes",
        "paymentmethod": "electronic_check",
        "tenure": 2,
        "monthlycharges": 80.0,
        "totalcharges": 160.0,
    }
    monthly = pipeline.predict_proba([{**base, "contract": "month-to-month"}])[0, 1]
    two_year = pipeline.predict_proba([{**base, "contract": "two_year"}])[0, 1]
    assert 0 < two_year < monthly < 1 and monthly > 0.5


@pytest.mark.slow
def test_validation_accuracy_band():
    parts = churn.split(churn.load_data())
    model = churn.fit(parts["train"], C=1.0)
    acc = ((churn.predict(model, parts["val"]) >= 0.5) == parts["val"]["churn"].to_numpy()).mean()
    assert abs(acc - 0.803) < 0.015  # the course's reference validation accuracy


@pytest.mark.slow
def test_cv_picks_the_best_c(tmp_path, monkeypatch):
    train = service_files.load("03-classification", "train")
    monkeypatch.setattr(train, "C_GRID", [0.001, 1.0])
    meta = train.train(tmp_path / "m.bin")
    cv = meta["metrics"]["cv_auc"]
    assert set(cv) == {"0.001", "1.0"}
    assert meta["C"] == max((0.001, 1.0), key=lambda c: cv[str(c)]["mean"])
    assert all(0 < v["std"] < 0.05 for v in cv.values())
    churn.load_model(tmp_path / "m.bin")


def test_bad_c_is_a_clean_error(tmp_path):
    proc = _train("--C", "-1", "--output", str(tmp_path / "m.bin"), timeout=120)
    assert proc.returncode == 2 and "--C must be positive" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "m.bin").exists()
