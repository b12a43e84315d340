"""Homework 5's lead service (``05-deployment/hw-sklearn161/lead_service.py``): it unpickles
only the course's two pipelines, checked by digest before ``pickle`` sees a byte, and it
answers with the keys the course's test scripts read."""

from __future__ import annotations

import importlib.util
import pickle

import numpy as np
import pytest
from fastapi.testclient import TestClient

from zoomcamp import paths

PATH = paths.REPO_ROOT / "05-deployment" / "hw-sklearn161" / "lead_service.py"
RECORD = {"lead_source": "organic_search", "number_of_courses_viewed": 4, "annual_income": 80304.0}


@pytest.fixture(scope="module")
def lead_service():
    spec = importlib.util.spec_from_file_location("hw05_lead_service", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Payload:
    """Unpickling this creates a file: the proof that a load ran code from the pickle."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_an_unknown_pickle_is_refused_before_it_is_unpickled(lead_service, tmp_path):
    marker = tmp_path / "ran"
    model = tmp_path / "pipeline_v1.bin"
    model.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(lead_service.UnknownPipeline, match="not one of the course's pipelines"):
        lead_service.load(str(model))
    assert not marker.exists()


def test_the_course_pipelines_are_known_by_the_registry_digests(lead_service):
    from zoomcamp import datasets

    registry = {
        digest: name
        for name in ("pipeline-v1", "pipeline-v2")
        if name in datasets.REGISTRY
        for digest in datasets.REGISTRY[name].sha256
    }
    assert registry and set(registry) == set(lead_service.KNOWN_PIPELINES)


class _Pipeline:
    def predict_proba(self, records):
        return np.array([[0.25, 0.75] for _ in records])


def test_the_answer_has_the_course_keys(lead_service, monkeypatch):
    monkeypatch.setattr(lead_service, "load", lambda path: _Pipeline())
    with TestClient(lead_service.app) as client:
        answer = client.post("/predict", json=RECORD).json()
    assert answer == {"conversion_probability": 0.75, "conversion": True}


def test_unknown_fields_are_refused(lead_service, monkeypatch):
    monkeypatch.setattr(lead_service, "load", lambda path: _Pipeline())
    with TestClient(lead_service.app) as client:
        assert client.post("/predict", json={**RECORD, "extra": 1}).status_code == 422


def test_a_client_with_none_of_the_models_fields_is_refused_not_scored(lead_service, monkeypatch):
    """A client written for another homework's model (here 2023's bank-marketing fields): the
    course's own service scores it anyway (DictVectorizer drops unknown keys, every feature
    is 0, and pipeline_v2 answers 0.49999999999842815, the figure a 2025 learner's q6_test.py
    run printed: 05-deployment/README.md); this one answers 422 naming the missing fields."""
    monkeypatch.setattr(lead_service, "load", lambda path: _Pipeline())
    stale = {"job": "management", "duration": 400, "poutcome": "success"}
    with TestClient(lead_service.app) as client:
        resp = client.post("/predict", json=stale)
    assert resp.status_code == 422
    missing = {e["loc"][-1] for e in resp.json()["detail"] if e["type"] == "missing"}
    assert missing == set(RECORD)
