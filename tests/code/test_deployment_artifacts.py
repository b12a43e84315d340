"""05-deployment's model flow: the service's small reader of the model schema agrees with
``zoomcamp.artifacts.verify`` (both accept a good folder, both refuse a tampered file, another
schema, a missing metadata file, another library version), and build_model.py copies
``models/churn/`` into the build context or says in one line how to train it."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import service_files
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from zoomcamp import artifacts, paths

MODULE = paths.module_dir("05-deployment")
BUILD = MODULE / "build_model.py"
scoring = service_files.load("05-deployment", "churn_scoring")
X = [{"colour": c, "size": float(s)} for c in ("red", "blue", "green") for s in range(6)]
Y = [int(d["size"] > 2 or d["colour"] == "red") for d in X]


class Bomb:
    """A pickle that raises when it is loaded: proves a refused file was never unpickled."""

    def __reduce__(self):
        return (exec, ("raise RuntimeError('unpickled a file that failed its checks')",))


def toy_folder(folder, name="churn"):
    """A model folder in the project's schema, written by zoomcamp.artifacts itself."""
    pipe = Pipeline(
        [
            ("dictvectorizer", DictVectorizer(sparse=False)),
            ("logisticregression", LogisticRegression()),
        ]
    ).fit(X, Y)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.bin").write_bytes(pickle.dumps(pipe))
    artifacts.save(folder, name=name, files=["model.bin"], packages=("scikit-learn",), C=1.0)
    return pipe


def edit_metadata(folder, **changes):
    path = folder / "metadata.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.update(changes)
    path.write_text(json.dumps(meta), encoding="utf-8")


def outcomes(folder):
    """(service reader's error or None, artifacts.verify's error or None)."""
    found = []
    for check, error in (
        (scoring.load_model, scoring.ModelError),
        (artifacts.verify, artifacts.ArtifactError),
    ):
        try:
            check(folder)
            found.append(None)
        except error as exc:
            found.append(str(exc))
    return found


def test_both_accept_a_good_folder(tmp_path):
    pipe = toy_folder(tmp_path / "m")
    service, verify = outcomes(tmp_path / "m")
    assert service is None and verify is None
    loaded, meta = scoring.load_model(tmp_path / "m")
    assert meta == artifacts.verify(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


def tamper(folder):
    (folder / "model.bin").write_bytes(pickle.dumps(Bomb()))


def wrong_schema(folder):
    edit_metadata(folder, schema="zoomcamp-model/0")


def no_metadata(folder):
    (folder / "metadata.json").unlink()


def other_sklearn(folder):
    edit_metadata(folder, versions={"python": "3.11.7", "scikit-learn": "0.20.0"})


def no_folder(folder):
    for file in folder.iterdir():
        file.unlink()
    folder.rmdir()


def missing_model_file(folder):
    (folder / "model.bin").unlink()


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (tamper, "sha256"),
        (wrong_schema, "schema"),
        (no_metadata, "metadata.json"),
        (other_sklearn, "0.20.0"),
        (no_folder, "no model"),
        (missing_model_file, "model.bin"),
    ],
)
def test_both_refuse_a_spoiled_folder(tmp_path, spoil, words):
    folder = tmp_path / "m"
    toy_folder(folder)
    spoil(folder)
    service, verify = outcomes(folder)
    assert service is not None and verify is not None
    assert words in service and words in verify


def test_the_service_also_refuses_a_model_without_its_sklearn_version(tmp_path):
    # stricter than verify on purpose: unpickling is only safe under the version recorded
    toy_folder(tmp_path / "m")
    edit_metadata(tmp_path / "m", versions={"python": "3.11.7"})
    with pytest.raises(scoring.ModelError, match="scikit-learn"):
        scoring.load_model(tmp_path / "m")


def test_model_dir_names_the_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    assert scoring.model_path() == tmp_path
    monkeypatch.delenv("MODEL_DIR")
    assert scoring.model_path() == MODULE / "model"


def build(tmp_path, *args):
    env = {**os.environ, "ZOOMCAMP_MODELS_DIR": str(tmp_path / "models")}
    return subprocess.run(
        [sys.executable, str(BUILD), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_build_copies_the_trained_folder(tmp_path):
    source = tmp_path / "models" / "churn"
    pipe = toy_folder(source)
    dest = tmp_path / "context" / "model"
    proc = build(tmp_path, "--dest", str(dest))
    assert proc.returncode == 0, proc.stderr
    for name in ("model.bin", "metadata.json"):
        assert (dest / name).read_bytes() == (source / name).read_bytes()
    loaded, _ = scoring.load_model(dest)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


def test_build_without_a_trained_model_says_how_to_train_it(tmp_path):
    proc = build(tmp_path, "--dest", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "uv run zoomcamp reproduce 03" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_build_refuses_a_tampered_source(tmp_path):
    source = tmp_path / "models" / "churn"
    toy_folder(source)
    tamper(source)
    proc = build(tmp_path, "--dest", str(tmp_path / "out"))
    assert proc.returncode == 2 and "sha256" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "model.bin").exists()
