"""05-deployment/lambda: build the churn Lambda image, run it with the emulator, invoke it.

The build context is a scratch copy prepared by the folder's build step (``build.py
--dest``: the shared ``churn_scoring.py`` and this run's ``models/churn/``); the image
(``churn_lambda_image``) is built once per run and shared with test_sam.py. The container
runs as a non-root user on free 127.0.0.1 ports (host network) and is removed whatever
the outcome. Answers are compared with the handler in process, which the in-process tests
prove equal to the FastAPI service's.
"""

from __future__ import annotations

import base64
import json
import pickle
import subprocess
import sys
import urllib.request

import pytest
import service_files
from docker_images import http_any
from ports import free_port

from zoomcamp import paths

pytestmark = pytest.mark.docker

LAMBDA = paths.module_dir("05-deployment") / "lambda"
INVOCATIONS = "/2015-03-31/functions/function/invocations"
CUSTOMER_FIELDS = 19
scoring = service_files.load("05-deployment", "churn_scoring")


def test_the_context_holds_the_shared_scorer(churn_lambda_context):
    assert (churn_lambda_context / "churn_scoring.py").read_bytes() == (
        LAMBDA.parent / "churn_scoring.py"
    ).read_bytes()


def invoke(url: str, event) -> dict:
    req = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def emulator_env(port: int) -> dict[str, str]:
    """The emulator's two listening addresses on the host network: ``port`` for the
    invocations, a free one for the runtime API."""
    return {
        "AWS_LAMBDA_RIE_ADDRESS": f"127.0.0.1:{port}",
        "AWS_LAMBDA_RIE_API_ADDRESS": f"127.0.0.1:{free_port()}",
    }


@pytest.fixture(scope="module")
def endpoint(images, churn_lambda_image):
    with images.run(
        churn_lambda_image,
        port_env=emulator_env,
        flags=["--user", "993:990"],  # non-root, like Lambda: the files must be world-readable
        ready=http_any(),
        timeout=60,
    ) as container:
        yield container.url + INVOCATIONS


def test_test_py_gets_the_pipelines_answer(endpoint, churn_model_dir):
    proc = subprocess.run(
        [sys.executable, str(LAMBDA / "test.py"), "--endpoint", endpoint],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    sys.path.insert(0, str(LAMBDA))
    try:
        import test as client  # the Lambda's client: its example customer
    finally:
        sys.path.remove(str(LAMBDA))
        sys.modules.pop("test", None)
    assert len(client.CUSTOMER) == CUSTOMER_FIELDS
    with open(churn_model_dir / "model.bin", "rb") as fh:
        expected = pickle.load(fh).predict_proba([client.CUSTOMER])[0, 1]
    assert set(answer) == {"churn_probability", "churn"}
    assert abs(answer["churn_probability"] - expected) <= 1e-9
    assert answer["churn"] is bool(expected >= 0.5)


def test_gateway_events_and_bad_input(endpoint, churn_model_dir):
    direct = invoke(endpoint, {"customer": EXAMPLE})
    # the service's schema and scorer in process (3.11 here, 3.13 in the image)
    scorer, _ = scoring.load_model(churn_model_dir)
    p = scorer.proba(scoring.Customer.model_validate_json(json.dumps(EXAMPLE)).__dict__)
    assert direct["churn"] is (p >= 0.5)
    assert direct["churn_probability"] == pytest.approx(p, rel=0, abs=1e-15)
    body = json.dumps({"customer": EXAMPLE})
    for event in (
        {"body": body, "isBase64Encoded": False},
        {"body": base64.b64encode(body.encode()).decode(), "isBase64Encoded": True},
    ):
        answer = invoke(endpoint, event)
        assert answer["statusCode"] == 200 and json.loads(answer["body"]) == direct
    bad = invoke(endpoint, {"customer": {**EXAMPLE, "contract": "weekly"}})
    assert bad["statusCode"] == 400 and bad["error"].startswith("customer.contract: ")
    bad = invoke(endpoint, {"body": "{", "isBase64Encoded": False})
    assert bad["statusCode"] == 400 and "Invalid JSON" in json.loads(bad["body"])["error"]


def test_image_holds_no_scikit_learn_and_no_pickle(images, churn_lambda_image):
    code = (
        "import importlib.util as u, json, os; print(json.dumps({'mods': {m: u.find_spec(m) "
        "is not None for m in ['sklearn', 'scipy', 'numpy', 'pydantic']}, "
        "'model': sorted(os.listdir(os.environ['LAMBDA_TASK_ROOT'] + '/model'))}))"
    )
    proc = images.run_once(churn_lambda_image, "-c", code, flags=("--entrypoint", "python"))
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["mods"] == {"sklearn": False, "scipy": False, "numpy": False, "pydantic": True}
    assert found["model"] == ["metadata.json", "model.json"]


EXAMPLE = {
    "gender": "male", "seniorcitizen": 1, "partner": "no", "dependents": "no",
    "phoneservice": "yes", "multiplelines": "yes", "internetservice": "fiber_optic",
    "onlinesecurity": "no", "onlinebackup": "no", "deviceprotection": "no",
    "techsupport": "no", "streamingtv": "yes", "streamingmovies": "yes",
    "contract": "month-to-month", "paperlessbilling": "yes",
    "paymentmethod": "electronic_check", "tenure": 2, "monthlycharges": 99.5,
    "totalcharges": 199.0,
}  # fmt: skip
