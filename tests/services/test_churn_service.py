"""05-deployment: the churn service in process (FastAPI TestClient) on this run's model.

Every endpoint, start-up refusals, batch == singles, and the served probability ==
``pipeline.predict_proba`` to 1e-9 on every real Telco customer and on random valid ones
(the service never runs the pipeline: ``FastScorer`` does the maths from ``model.json``,
the portable model 03's training writes next to the pickle). What a request may carry
(every 422 and 413 path) is ``test_churn_requests.py``.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import random
import re
import shutil
import sys

import numpy as np
import pytest
from churn_hostile import EXAMPLE, limits, predict
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from zoomcamp.churn import model as churn

scoring = sys.modules[predict.Customer.__module__]  # the module predict uses, not a copy
JSON = {"Content-Type": "application/json"}
TOL = 1e-9
META: dict = {}


@pytest.fixture(scope="module", autouse=True)
def meta(churn_model_dir):
    META.update(json.loads((churn_model_dir / "metadata.json").read_text(encoding="utf-8")))
    return META


@pytest.fixture(scope="module")
def pipeline(churn_model_dir):
    with open(churn_model_dir / "model.bin", "rb") as fh:
        return pickle.load(fh)


@pytest.fixture(scope="module")
def scorer(churn_model_dir):
    """The scorer the service builds: from model.json alone."""
    return scoring.load_model(churn_model_dir)[0]


@pytest.fixture(scope="module")
def real_customers():
    return churn.records(churn.load_data())


def random_customers(n: int, seed: int = 0) -> list[dict]:
    """Valid customers over the whole accepted range (numbers up to the schema's bounds)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        c = {f: rng.choice(v) for f, v in META["categories"].items()}
        c["tenure"] = rng.choice([0, 1, 72, 1200, rng.randint(0, 1200)])
        c["monthlycharges"] = rng.choice(
            [0.0, 10_000.0, rng.uniform(0, 10_000), rng.uniform(18, 120)]
        )
        c["totalcharges"] = rng.choice([0.0, 1e7, rng.uniform(0, 1e7), rng.uniform(0, 9000)])
        out.append(c)
    return out


def reference(pipeline, customers: list[dict]) -> np.ndarray:
    return pipeline.predict_proba(customers)[:, 1]


# --------------------------------------------------------------------------- correctness


def test_portable_model_equals_pipeline_on_every_real_customer(scorer, pipeline, real_customers):
    assert len(real_customers) == 7043
    fast = scorer.proba_many(real_customers)
    np.testing.assert_allclose(fast, reference(pipeline, real_customers), rtol=0, atol=TOL)


def test_portable_model_equals_pipeline_on_random_valid_customers(scorer, pipeline):
    customers = random_customers(5000)
    fast = scorer.proba_many(customers)
    ref = reference(pipeline, customers)
    assert ref.min() < 1e-6 and ref.max() > 1 - 1e-6  # the extremes are exercised
    np.testing.assert_allclose(fast, ref, rtol=0, atol=TOL)


def test_served_batches_equal_pipeline_on_real_customers(client, pipeline, real_customers):
    served = []
    for i in range(0, len(real_customers), predict.MAX_BATCH):
        r = client.post(
            "/predict/batch", json={"customers": real_customers[i : i + predict.MAX_BATCH]}
        )
        assert r.status_code == 200, r.text
        served += r.json()["predictions"]
    proba = np.array([p["churn_probability"] for p in served])
    np.testing.assert_allclose(proba, reference(pipeline, real_customers), rtol=0, atol=TOL)
    assert [p["churn"] for p in served] == list(proba >= 0.5)


def test_batch_equals_singles(client):
    customers = random_customers(40, seed=1)
    batch = client.post("/predict/batch", json={"customers": customers}).json()["predictions"]
    singles = [client.post("/predict", json=c).json() for c in customers]
    assert batch == singles


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**32 - 1))
def test_served_single_equals_pipeline(client, pipeline, seed):
    customer = random_customers(1, seed)[0]
    r = client.post("/predict", json=customer)
    assert r.status_code == 200
    expected = reference(pipeline, [customer])[0]
    assert abs(r.json()["churn_probability"] - expected) <= TOL
    assert r.json()["churn"] is bool(expected >= 0.5)


def test_the_docs_example_is_the_example_customer():
    """customer.json (test.py's, the tests', bench.py's) is the customer /docs shows."""
    assert predict.Customer.model_config["json_schema_extra"]["examples"] == [EXAMPLE]


def test_example_customer(client, pipeline):
    r = client.post("/predict", json=EXAMPLE)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert set(r.json()) == {"churn_probability", "churn"}
    assert r.json()["churn_probability"] == pytest.approx(
        reference(pipeline, [EXAMPLE])[0], abs=TOL
    )


# --------------------------------------------------------------------------- health, docs


def test_health_names_the_model(client, churn_model_dir):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    digest = hashlib.sha256((churn_model_dir / "model.json").read_bytes()).hexdigest()
    assert body["model"]["files"]["model.json"] == digest
    assert body["model"]["files"] == META["files"]
    assert body["model"]["C"] == META["params"]["C"]
    assert body["model"]["created"] == META["created"]


def test_openapi_documents_the_request_models(client):
    schema = client.get("/openapi.json").json()
    assert {"/predict", "/predict/batch", "/health"} <= set(schema["paths"])
    customer = schema["components"]["schemas"]["Customer"]
    assert customer["additionalProperties"] is False
    assert len(customer["required"]) == 19
    for field, values in META["categories"].items():
        if field != "seniorcitizen":
            assert sorted(customer["properties"][field]["enum"]) == sorted(values), field
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert body == {"$ref": "#/components/schemas/Customer"}
    assert (
        schema["components"]["schemas"]["Batch"]["properties"]["customers"]["maxItems"]
        == predict.MAX_BATCH
    )
    assert client.get("/docs").status_code == 200


def test_docs_load_only_same_origin_assets_which_are_served(client):
    """/docs names no other host (no CDN): every asset it loads is a path on this service,
    served with its content type; the package's other files are not served."""
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert not re.findall(r"(?i)(?:https?:)?//[a-z0-9.-]+", page.text)  # no absolute URL
    urls = re.findall(r'(?:src|href)="([^"]*)"', page.text) + re.findall(
        r"url: '([^']*)'", page.text
    )
    kinds = {}
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        r = client.get(url)
        assert r.status_code == 200 and len(r.content) > 100, url
        kinds[url.rsplit(".", 1)[-1]] = r.headers["content-type"].split(";")[0]
    assert kinds == {
        "css": "text/css", "png": "image/png", "js": "text/javascript", "json": "application/json"
    }  # fmt: skip
    for other in (
        "index.html",
        "swagger-initializer.js",
        "swagger-ui-bundle.js.map",
        "..%2Fpredict.py",
    ):
        assert client.get(f"/docs/{other}").status_code == 404, other


# --------------------------------------------------------------------------- start-up refusals


def copy_model(tmp_path, churn_model_dir):
    folder = tmp_path / "model"
    shutil.copytree(churn_model_dir, folder)
    return folder


def start_fails(monkeypatch, folder, match: str) -> None:
    monkeypatch.setenv("MODEL_DIR", str(folder))
    with pytest.raises(RuntimeError, match=match), TestClient(predict.app):
        pass


def rewrite_meta(folder, **changes) -> None:
    path = folder / "metadata.json"
    path.write_text(json.dumps({**json.loads(path.read_text(encoding="utf-8")), **changes}))


def test_refuses_a_tampered_model(monkeypatch, tmp_path, churn_model_dir):
    folder = copy_model(tmp_path, churn_model_dir)
    (folder / "model.json").write_bytes((folder / "model.json").read_bytes() + b" ")
    start_fails(monkeypatch, folder, "does not match its metadata: sha256")


def rewrite_model(folder, model: dict) -> None:
    data = json.dumps(model).encode()
    (folder / "model.json").write_bytes(data)
    files = {**META["files"], "model.json": hashlib.sha256(data).hexdigest()}
    rewrite_meta(folder, files=files)


def test_refuses_another_model_format(monkeypatch, tmp_path, churn_model_dir):
    folder = copy_model(tmp_path, churn_model_dir)
    model = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    rewrite_model(folder, {**model, "format": "zoomcamp-logreg/2"})
    start_fails(monkeypatch, folder, "format 'zoomcamp-logreg/2'")


def test_refuses_another_threshold(monkeypatch, tmp_path, churn_model_dir):
    folder = copy_model(tmp_path, churn_model_dir)
    model = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    rewrite_model(folder, {**model, "threshold": 0.3})
    start_fails(monkeypatch, folder, "threshold 0.3")


def test_refuses_a_missing_model_or_metadata(monkeypatch, tmp_path, churn_model_dir):
    start_fails(monkeypatch, tmp_path / "none", "no model at")
    folder = copy_model(tmp_path, churn_model_dir)
    (folder / "metadata.json").unlink()
    start_fails(monkeypatch, folder, "no metadata.json")


def test_refuses_a_model_the_schema_cannot_feed(monkeypatch, tmp_path, churn_model_dir):
    """A model trained on a contract value the API rejects (or missing one) is refused."""
    customers = random_customers(200, seed=3)
    customers[0] = {**customers[0], "contract": "weekly"}
    model = Pipeline(
        [
            ("dictvectorizer", DictVectorizer(sparse=False)),
            ("logisticregression", LogisticRegression(max_iter=1000)),
        ]
    )
    model.fit(customers, [i % 2 for i in range(len(customers))])
    folder = copy_model(tmp_path, churn_model_dir)
    rewrite_model(folder, churn.portable(model, META["categories"]))
    start_fails(monkeypatch, folder, "features do not match the request schema")


# --------------------------------------------------------------------------- the fast lane


def test_fast_lane_answers_exactly_like_the_fastapi_routes(client):
    """``predict.app`` answers the POST endpoints without FastAPI's routing; ``predict.api``
    answers them through its routes (``harden`` put the same limits there): every answer
    must be identical."""
    bodies = [json.dumps(c).encode() for c in random_customers(20, seed=7)]
    bodies += [
        json.dumps({**EXAMPLE, "tenure": -1}).encode(),
        b"{",
        b"[]",
        b"",
        json.dumps({"customers": [EXAMPLE] * 3}).encode(),
        json.dumps({"customers": [EXAMPLE] * (predict.MAX_BATCH + 1)}).encode(),
        b" " * (limits.MAX_BATCH_BYTES + 1),
    ]
    with TestClient(predict.api) as plain:
        for path in ("/predict", "/predict/batch"):
            for body in bodies:
                a = client.post(path, content=body, headers={"Content-Type": "application/json"})
                b = plain.post(path, content=body, headers={"Content-Type": "application/json"})
                assert (a.status_code, a.content) == (b.status_code, b.content), (path, body[:80])
                assert a.headers["content-type"] == b.headers["content-type"] == "application/json"
        for path in ("/health", "/openapi.json"):
            assert client.get(path).json() == plain.get(path).json()
