"""05-deployment: what a request to the churn service may carry, in process (FastAPI
TestClient) on this run's model.

Every 422 path (bad values, missing and unknown fields, malformed bodies, non-finite
numbers, bad batches, each naming the field), every 413 path (batch size, body size by
Content-Length and when streamed), a bad Content-Length, wrong methods and paths. The
answers themselves are ``test_churn_service.py``; the worst bodies within the limits are
``test_churn_hardening.py``.
"""

from __future__ import annotations

import json

import pytest
from churn_hostile import EXAMPLE, limits, predict

# --------------------------------------------------------------------------- 422


@pytest.mark.parametrize("field,value", [
    ("contract", "weekly"), ("gender", "FEMALE"), ("internetservice", None),
    ("seniorcitizen", 2), ("seniorcitizen", True), ("seniorcitizen", "1"), ("seniorcitizen", 0.5),
    ("tenure", -1), ("tenure", 1201), ("tenure", 1.5), ("tenure", "12"),
    ("monthlycharges", -0.01), ("monthlycharges", 10_000.01), ("monthlycharges", "29.85"),
    ("totalcharges", -1), ("totalcharges", 1e8), ("totalcharges", [1]),
])  # fmt: skip
def test_bad_value_is_422_naming_the_field(client, field, value):
    r = client.post("/predict", json={**EXAMPLE, field: value})
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["detail"]] == [["body", field]]
    assert r.json()["message"].startswith(f"{field}: ")
    assert "input" not in r.json()["detail"][0]  # the input is not echoed back


def test_missing_and_unknown_fields_are_422(client):
    missing = {k: v for k, v in EXAMPLE.items() if k != "tenure"}
    r = client.post("/predict", json=missing)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "tenure"]
    r = client.post("/predict", json={**EXAMPLE, "churn": 1})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "extra_forbidden"
    assert "churn: " in r.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b"null",
        b"42",
        b'"x"',
        b"\xff\xfe\x00",
        b'{"tenure": NaN}',
        b'{"monthlycharges": Infinity}',
    ],
)
def test_malformed_bodies_are_422(client, body):
    r = client.post("/predict", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text


def test_non_finite_numbers_are_rejected(client):
    for value in ("NaN", "Infinity", "-Infinity", "1e400"):
        raw = json.dumps({**EXAMPLE, "monthlycharges": 0}).replace(
            '"monthlycharges": 0', f'"monthlycharges": {value}'
        )
        r = client.post("/predict", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (value, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", "monthlycharges"]


def test_batch_422_names_the_item_and_field(client):
    r = client.post(
        "/predict/batch", json={"customers": [EXAMPLE, {**EXAMPLE, "partner": "maybe"}]}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "customers", 1, "partner"]
    assert r.json()["message"].startswith("customers.1.partner: ")
    assert client.post("/predict/batch", json={"customers": []}).status_code == 422
    assert client.post("/predict/batch", json=[EXAMPLE]).status_code == 422
    assert client.post("/predict/batch", json={"customers": [EXAMPLE], "x": 1}).status_code == 422


# --------------------------------------------------------------------------- 413 and others


def test_batch_over_the_limit_is_413(client):
    r = client.post("/predict/batch", json={"customers": [EXAMPLE] * (predict.MAX_BATCH + 1)})
    assert r.status_code == 413
    full = client.post("/predict/batch", json={"customers": [EXAMPLE] * predict.MAX_BATCH})
    assert full.status_code == 200 and len(full.json()["predictions"]) == predict.MAX_BATCH


def test_body_over_the_limit_is_413_by_content_length(client):
    body = json.dumps(EXAMPLE).encode() + b" " * limits.MAX_CUSTOMER_BYTES
    r = client.post("/predict", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_body_over_the_limit_is_413_when_streamed(client):
    def chunks():  # no Content-Length: chunked transfer encoding
        for _ in range(limits.MAX_BATCH_BYTES // 65536 + 2):
            yield b" " * 65536

    r = client.post(
        "/predict/batch", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert r.status_code == 413


def test_streamed_body_under_the_limit_is_served(client):
    def chunks():
        data = json.dumps(EXAMPLE).encode()
        yield data[:50]
        yield data[50:]

    r = client.post("/predict", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 200


def test_bad_content_length_is_400(client):
    r = client.post(
        "/predict",
        content=b"{}",
        headers={"Content-Type": "application/json", "Content-Length": "x"},
    )
    assert r.status_code == 400


def test_wrong_method_and_path(client):
    assert client.get("/predict").status_code == 405
    assert client.post("/health").status_code == 405
    assert client.get("/nope").status_code == 404
