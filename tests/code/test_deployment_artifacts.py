"""05-deployment's model flow: the service's small reader of the model schema agrees with
``zoomcamp.artifacts.verify`` on what it reads (both accept a good folder, both refuse a
tampered ``model.json``, another schema, a missing metadata or model file); it reads only
``model.json`` (a hostile ``model.bin`` is never touched, the scikit-learn version does not
matter); build_model.py copies ``models/churn/`` into the build context or says in one
line how to train it."""

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
from zoomcamp.churn import model as churn

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
    churn.save_model(
        pipe,
        folder,
        data_sha256="0" * 64,
        metrics={},
        params={"C": 1.0},
        categories={"colour": ["blue", "green", "red"]},
    )
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
    scorer, meta = scoring.load_model(tmp_path / "m")
    assert meta == artifacts.verify(tmp_path / "m")
    np.testing.assert_allclose(scorer.proba_many(X), pipe.predict_proba(X)[:, 1], atol=1e-12)


def tamper(folder):
    path = folder / "model.json"
    model = json.loads(path.read_text(encoding="utf-8"))
    model["intercept"] += 1.0
    path.write_text(json.dumps(model), encoding="utf-8")


def wrong_schema(folder):
    edit_metadata(folder, schema="zoomcamp-model/0")


def no_metadata(folder):
    (folder / "metadata.json").unlink()


def no_folder(folder):
    for file in folder.iterdir():
        file.unlink()
    folder.rmdir()


def missing_model_file(folder):
    (folder / "model.json").unlink()


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (tamper, "sha256"),
        (wrong_schema, "schema"),
        (no_metadata, "metadata.json"),
        (no_folder, "no model"),
        (missing_model_file, "model.json"),
    ],
)
def test_both_refuse_a_spoiled_folder(tmp_path, spoil, words):
    folder = tmp_path / "m"
    toy_folder(folder)
    spoil(folder)
    service, verify = outcomes(folder)
    assert service is not None and verify is not None
    assert words in service and words in verify


def test_the_service_never_reads_model_bin(tmp_path):
    """A hostile pickle next to the model is not even opened: only model.json is read, so
    a swapped model.bin (verify refuses it) cannot run code in the service."""
    pipe = toy_folder(tmp_path / "m")
    (tmp_path / "m" / "model.bin").write_bytes(pickle.dumps(Bomb()))
    with pytest.raises(artifacts.ArtifactError, match="sha256"):
        artifacts.verify(tmp_path / "m")
    scorer, _ = scoring.load_model(tmp_path / "m")
    np.testing.assert_allclose(scorer.proba_many(X), pipe.predict_proba(X)[:, 1], atol=1e-12)
    (tmp_path / "m" / "model.bin").unlink()  # the image has none
    assert scoring.load_model(tmp_path / "m")[0].proba_many(X) == scorer.proba_many(X)


def test_the_service_does_not_depend_on_the_sklearn_version(tmp_path):
    # verify refuses another scikit-learn (it guards the pickle); the JSON needs none
    toy_folder(tmp_path / "m")
    edit_metadata(tmp_path / "m", versions={"python": "3.11.7", "scikit-learn": "0.20.0"})
    with pytest.raises(artifacts.ArtifactError, match="0.20.0"):
        artifacts.verify(tmp_path / "m")
    scoring.load_model(tmp_path / "m")


def test_the_service_refuses_metadata_without_model_json(tmp_path):
    toy_folder(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text(encoding="utf-8"))
    edit_metadata(tmp_path / "m", files={"model.bin": meta["files"]["model.bin"]})
    with pytest.raises(scoring.ModelError, match="does not name model.json"):
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
    for name in ("model.bin", "model.json", "metadata.json"):
        assert (dest / name).read_bytes() == (source / name).read_bytes()
    scorer, _ = scoring.load_model(dest)
    np.testing.assert_allclose(scorer.proba_many(X), pipe.predict_proba(X)[:, 1], atol=1e-12)


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
    assert not (tmp_path / "out" / "model.json").exists()
