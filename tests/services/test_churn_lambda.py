"""05-deployment/lambda: the churn Lambda handler in process, on this run's model.

The handler imports the one ``05-deployment/churn_scoring.py`` (the file its build step
copies into the image), so these tests run the code the image runs. Its answers equal the
FastAPI service's for every real customer (bit for bit: the same schema and scorer), the
API Gateway proxy form (plain and base64 bodies) gives the service's bytes, and bad input
is a 400 (413 when too large) with a message naming the field, never a 500: nor for
events nested too deeply or holding non-JSON values, and an HTTP API event without a body
is answered in the proxy form.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import sys

import pytest
import service_files
from fastapi.testclient import TestClient

from zoomcamp import paths
from zoomcamp.churn import model as churn

predict = service_files.load("05-deployment", "predict")  # puts 05-deployment on sys.path
EXAMPLE = predict.Customer.model_config["json_schema_extra"]["examples"][0]
LAMBDA = paths.module_dir("05-deployment") / "lambda"


def _import(name: str, path):
    """``path`` imported as ``name``, as the Lambda runtime imports it from its task root."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import registers it
    spec.loader.exec_module(module)
    return module


# lambda_function's sibling; churn_scoring comes from 05-deployment/ (predict's import above)
events = _import("churn_events", LAMBDA / "churn_events.py")


@pytest.fixture(scope="module")
def lf(churn_model_dir):
    """lambda_function imported as Lambda imports it: the model loads from MODEL_DIR."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODEL_DIR", str(churn_model_dir))
        return _import("churn_lambda_function", LAMBDA / "lambda_function.py")


@pytest.fixture(scope="module")
def service(churn_model_dir):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODEL_DIR", str(churn_model_dir))
        with TestClient(predict.app) as c:
            yield c


@pytest.fixture(scope="module")
def real_customers():
    return churn.records(churn.load_data())


def gateway(body: str, b64: bool = False) -> dict:
    if b64:
        body = base64.b64encode(body.encode()).decode()
    return {"version": "2.0", "routeKey": "POST /predict", "body": body, "isBase64Encoded": b64}


def test_handler_shares_the_services_scorer_file(lf):
    # one source: the module the handler imported is 05-deployment/churn_scoring.py
    scoring = sys.modules[type(lf.SCORER).__module__]
    assert scoring.__file__ == str(paths.module_dir("05-deployment") / "churn_scoring.py")
    assert events.Request.model_fields["customer"].annotation is predict.Customer


def test_answers_equal_the_services_on_every_real_customer(lf, service, real_customers):
    served = []
    for i in range(0, len(real_customers), predict.MAX_BATCH):
        r = service.post(
            "/predict/batch", json={"customers": real_customers[i : i + predict.MAX_BATCH]}
        )
        assert r.status_code == 200
        served += r.json()["predictions"]
    answers = [lf.lambda_handler({"customer": c}, None) for c in real_customers]
    assert len(answers) == 7043 and answers == served


def test_gateway_bodies_are_the_services_bytes(lf, service):
    r = service.post("/predict", json=EXAMPLE)
    for b64 in (False, True):
        answer = lf.lambda_handler(gateway(json.dumps({"customer": EXAMPLE}), b64), None)
        assert answer["statusCode"] == 200
        assert answer["headers"] == {"Content-Type": "application/json"}
        assert answer["body"].encode() == r.content


def test_direct_answer_is_the_workshops_shape(lf, churn_model_dir):
    answer = lf.lambda_handler({"customer": EXAMPLE}, None)
    assert set(answer) == {"churn_probability", "churn"}
    assert type(answer["churn_probability"]) is float and type(answer["churn"]) is bool
    json.dumps(answer)  # the runtime serialises it


@pytest.mark.parametrize(
    ("event", "status", "words"),
    [
        ({"customer": {**EXAMPLE, "contract": "weekly"}}, 400, "customer.contract: Input"),
        ({"customer": {**EXAMPLE, "tenure": -1}}, 400, "customer.tenure: "),
        ({"customer": {k: v for k, v in EXAMPLE.items() if k != "gender"}}, 400, "gender"),
        ({"customer": EXAMPLE, "extra": 1}, 400, "extra: Extra inputs"),
        ({"customer": {**EXAMPLE, "monthlycharges": float("nan")}}, 400, "finite"),
        ({**EXAMPLE}, 400, "customer: Field required"),
        ({}, 400, "customer: Field required"),
        ([EXAMPLE], 400, "JSON object"),
        ("text", 400, "JSON object"),
        ({"customer": {**EXAMPLE, "x" * 5000: 1}}, 413, "over"),
    ],
)
def test_bad_direct_events_are_400_with_a_message(lf, event, status, words):
    answer = lf.lambda_handler(event, None)
    assert answer["statusCode"] == status and words in answer["error"], answer


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({"customer": nested(5000)}, "nested too deeply"),  # json.dumps: a RecursionError
        ({"customer": [nested(300)]}, "recursion limit"),  # pydantic's own depth limit
        ({"customer": {**EXAMPLE, "tenure": {1, 2}}}, "JSON values only"),  # a set
        ({"customer": b"bytes"}, "JSON values only"),
    ],
)
def test_deep_or_non_json_direct_events_are_400(lf, event, words):
    answer = lf.lambda_handler(event, None)
    assert answer["statusCode"] == 400 and words in answer["error"], answer


def test_an_http_api_event_without_a_body_is_a_proxy_400(lf):
    # an HTTP API (payload 2.0) POST with an empty body arrives with no "body" key at all
    event = {
        "version": "2.0",
        "routeKey": "POST /predict",
        "rawPath": "/predict",
        "requestContext": {"http": {"method": "POST", "path": "/predict"}},
        "isBase64Encoded": False,
    }
    for proxy in (event, {"requestContext": {}}, {"httpMethod": "POST", "body": None}):
        answer = lf.lambda_handler(proxy, None)
        assert answer["statusCode"] == 400 and answer["headers"], answer
        assert "non-empty JSON string" in json.loads(answer["body"])["error"]


@pytest.mark.parametrize(
    ("event", "status", "words"),
    [
        (gateway("{"), 400, "body: Invalid JSON"),
        (gateway(json.dumps({"customer": {**EXAMPLE, "partner": "maybe"}})), 400, "partner"),
        (gateway(json.dumps({"customer": {**EXAMPLE, "partner": "maybe"}}), True), 400, "partner"),
        ({"body": "not base64!", "isBase64Encoded": True}, 400, "base64"),
        ({"body": None}, 400, "non-empty JSON string"),
        ({"body": ""}, 400, "non-empty JSON string"),
        (gateway(" " * 20_000), 413, "over"),
        (gateway(json.dumps({"customer": EXAMPLE}) + " " * 5000), 413, "over"),
    ],
)
def test_bad_gateway_events_are_400_in_the_body(lf, event, status, words):
    answer = lf.lambda_handler(event, None)
    assert answer["statusCode"] == status, answer
    assert answer["headers"] == {"Content-Type": "application/json"}
    assert words in json.loads(answer["body"])["error"], answer


def test_many_errors_are_cut_and_counted(lf):
    answer = lf.lambda_handler({"customer": {f"k{i}": i for i in range(60)}}, None)
    assert answer["statusCode"] == 400
    assert answer["error"].count("; ") == events.MAX_ERRORS  # 10 errors and the count
    assert answer["error"].endswith("more")


def test_an_internal_error_is_a_500_without_details(lf, capsys, monkeypatch):
    class Broken:
        def proba(self, customer):
            raise RuntimeError("secret detail")

    monkeypatch.setattr(lf, "SCORER", Broken())
    answer = lf.lambda_handler(gateway(json.dumps({"customer": EXAMPLE})), None)
    assert answer["statusCode"] == 500 and "secret" not in answer["body"]
    assert "secret detail" in capsys.readouterr().out  # logged for CloudWatch


def test_load_refuses_a_tampered_model(lf, tmp_path, churn_model_dir):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(churn_model_dir, folder)
    (folder / "model.json").write_bytes((folder / "model.json").read_bytes() + b" ")
    scoring = sys.modules[type(lf.SCORER).__module__]
    with pytest.raises(scoring.ModelError, match="sha256"):
        lf.load(folder)
