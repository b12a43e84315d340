"""05-deployment/lambda: build the churn Lambda image, run it with the emulator, invoke it.

The build context is a scratch copy prepared by the folder's build step (``build.py
--dest``: the shared ``churn_scoring.py`` and this run's ``models/churn/``), built once per
session; the container runs as a non-root user on free 127.0.0.1 ports (host network) and
is removed whatever the outcome. Answers are compared with the handler in process, which
the in-process tests prove equal to the FastAPI service's.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
import service_files
from ports import free_port

from zoomcamp import paths

pytestmark = pytest.mark.docker

LAMBDA = paths.module_dir("05-deployment") / "lambda"
TAG = "churn-lambda:pytest"
CUSTOMER_FIELDS = 19
scoring = service_files.load("05-deployment", "churn_scoring")


@pytest.fixture(scope="module")
def image(docker, churn_service_dir, tmp_path_factory):
    # churn_service_dir: this run's model is trained and in the scratch models folder
    ctx = tmp_path_factory.mktemp("churn-lambda")
    proc = subprocess.run(
        [sys.executable, str(LAMBDA / "build.py"), "--no-build", "--dest", str(ctx)],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ,
    )
    assert proc.returncode == 0, proc.stderr
    assert (ctx / "churn_scoring.py").read_bytes() == (
        LAMBDA.parent / "churn_scoring.py"
    ).read_bytes()
    proc = subprocess.run(
        [docker, "build", "--network", "host", "-q", "-t", TAG, str(ctx)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return TAG


def invoke(url: str, event) -> dict:
    req = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def endpoint(docker, image):
    port, api_port = free_port(), free_port()
    name = f"churn-lambda-test-{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run(
            [docker, "run", "-d", "--rm", "--name", name, "--network", "host",
             "--user", "993:990",  # non-root, like Lambda: the files must be world-readable
             "-e", f"AWS_LAMBDA_RIE_ADDRESS=127.0.0.1:{port}",
             "-e", f"AWS_LAMBDA_RIE_API_ADDRESS=127.0.0.1:{api_port}", image],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
        deadline = time.monotonic() + 60
        while True:  # the emulator needs a moment to listen
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "the emulator never listened"
            time.sleep(0.2)
        yield url
    finally:
        logs = subprocess.run([docker, "logs", name], capture_output=True, text=True)
        print(logs.stdout[-2000:], logs.stderr[-2000:])
        subprocess.run([docker, "rm", "-f", name], capture_output=True)


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


def test_image_holds_no_scikit_learn_and_no_pickle(docker, image):
    code = (
        "import importlib.util as u, json, os; print(json.dumps({'mods': {m: u.find_spec(m) "
        "is not None for m in ['sklearn', 'scipy', 'numpy', 'pydantic']}, "
        "'model': sorted(os.listdir(os.environ['LAMBDA_TASK_ROOT'] + '/model'))}))"
    )
    proc = subprocess.run(
        [docker, "run", "--rm", "--network", "host", "--entrypoint", "python", image, "-c", code],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
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
