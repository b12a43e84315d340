"""Fixtures the churn service's in-process test files share."""

from __future__ import annotations

import pytest
import service_files
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client(churn_model_dir):
    """05's churn service in process, on this run's model (``TestClient`` runs the lifespan,
    which loads it); one per test file, so a file's state never leaks into the next."""
    predict = service_files.load("05-deployment", "predict")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODEL_DIR", str(churn_model_dir))
        with TestClient(predict.app) as c:
            yield c
