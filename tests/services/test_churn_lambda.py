"""05-deployment/lambda: the churn Lambda handler in process, on this run's model.

The handler imports the one ``05-deployment/churn_scoring.py`` (the file its build step
copies into the image), so these tests run the code the image runs. Its answers equal the
FastAPI service's for every real customer (bit for bit: the same schema and scorer), the
API Gateway proxy form (plain and base64 bodies) gives the service's bytes, and bad input
is a 400 (413 when too large) with a message naming the field.
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
HANDLER = paths.module_dir("05-deployment") / "lambda" / "lambda_function.py"


@pytest.fixture(scope="module")
def lf(churn_model_dir):
    """lambda_function imported as Lambda imports it: the model loads from MODEL_DIR."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODEL_DIR", str(churn_model_dir))
        spec = importlib.util.spec_from_file_location("churn_lambda_function", HANDLER)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # as an import registers it
        spec.loader.exec_module(module)
    return module


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
    scoring = sys.modules[lf.FastScorer.__module__]
    assert scoring.__file__ == str(paths.module_dir("05-deployment") / "churn_scoring.py")
    assert lf.Customer is predict.Customer


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
    assert answer["error"].count("; ") == lf.MAX_ERRORS  # 10 errors and the count
    assert answer["error"].endswith("more")


def test_an_internal_error_is_a_500_without_details(lf, capsys):
    class Broken:
        def proba(self, customer):
            raise RuntimeError("secret detail")

    answer = lf.handle(gateway(json.dumps({"customer": EXAMPLE})), Broken())
    assert answer["statusCode"] == 500 and "secret" not in answer["body"]
    assert "secret detail" in capsys.readouterr().out  # logged for CloudWatch


def test_load_refuses_a_tampered_model(lf, tmp_path, churn_model_dir):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(churn_model_dir, folder)
    (folder / "model.json").write_bytes((folder / "model.json").read_bytes() + b" ")
    scoring = sys.modules[lf.FastScorer.__module__]
    with pytest.raises(scoring.ModelError, match="sha256"):
        lf.load(folder)
