"""09-serverless: build the Lambda image, run it with the emulator, invoke it with test.py.

The build context is a scratch copy of ``09-serverless/`` made by its build step with the
model it ships by default, 08's PyTorch export of this test run (``hair_lambda_context``);
the image (``hair_lambda_image``) is built once per run and shared with test_sam.py. The
container always goes, whatever the test's outcome.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import service_files
from docker_images import http_any
from PIL import Image
from ports import free_port

from zoomcamp import datasets, paths
from zoomcamp.hair import model_torch as hair_torch

pytestmark = pytest.mark.docker

MODULE = paths.module_dir("09-serverless")
TEST_PY = MODULE / "test.py"
INVOCATIONS = "/2015-03-31/functions/function/invocations"


def invoke(endpoint: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(TEST_PY), "--endpoint", endpoint, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def answer(endpoint: str, *args: str) -> dict:
    proc = invoke(endpoint, *args)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def local(hair_lambda_context):
    """The handler's classifier in process, on the model file the image holds."""
    hl = service_files.load("09-serverless", "hair_lambda")
    return hl.HairClassifier(hair_lambda_context / "model" / hair_torch.ONNX_FILE)


def emulator_env(port: int) -> dict[str, str]:
    return {
        "AWS_LAMBDA_RIE_ADDRESS": f"127.0.0.1:{port}",
        "AWS_LAMBDA_RIE_API_ADDRESS": f"127.0.0.1:{free_port()}",
    }


@pytest.fixture(scope="module")
def endpoint(images, hair_lambda_image):
    # as a non-root user, like Lambda (the files must be world-readable)
    with images.run(
        hair_lambda_image,
        port_env=emulator_env,
        flags=["--user", "993:990"],
        ready=http_any(),
        timeout=60,
    ) as container:
        yield container.url + INVOCATIONS


def test_image_answers_like_the_local_model(endpoint, local):
    test_dir = datasets.unpack("hair-type") / "data" / "test"
    for path in [sorted((test_dir / c).glob("*.jpg"))[0] for c in ("curly", "straight")]:
        got = answer(endpoint, "--image", str(path))
        want = local.predict(Image.open(path))
        assert got["label"] == want["label"]
        assert got["logit"] == pytest.approx(want["logit"], abs=1e-5)
        assert got["prediction"] == pytest.approx(want["prediction"], abs=1e-6)


def test_bad_input_and_private_urls_answer_400_in_the_container(endpoint):
    assert answer(endpoint, "--url", "ftp://example.com/a.jpg")["statusCode"] == 400
    # the container runs with the default policy: no private addresses (metadata endpoint)
    refused = answer(endpoint, "--url", "http://169.254.169.254/latest/meta-data/")
    assert refused["statusCode"] == 400 and "non-public" in refused["error"]


PYBIND = "onnxruntime.capi.onnxruntime_pybind11_state"  # ORT's Python binding


def test_image_holds_no_heavy_frameworks(images, hair_lambda_image):
    names = ["tensorflow", "keras", "sklearn", "onnxruntime", PYBIND, "PIL", "numpy"]
    code = (
        "import importlib.util as u, json; print(json.dumps({m: u.find_spec(m) is not None "
        f"for m in {names!r}}}))"
    )
    proc = images.run_once(hair_lambda_image, "-c", code, flags=("--entrypoint", "python"))
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found == {
        "tensorflow": False,
        "keras": False,
        "sklearn": False,
        "onnxruntime": True,  # only its C library: the function calls it through ctypes
        PYBIND: False,
        "PIL": True,
        "numpy": False,  # only ORT's Python binding needs NumPy, and the image has neither
    }


def test_the_readme_published_port_path(bridge, images, hair_lambda_image, local):
    """``docker run -p 127.0.0.1:8080:8080`` as the README says (a free host port here),
    called with test.py: the emulator answers through the engine's port publishing."""
    image_path = sorted((datasets.unpack("hair-type") / "data" / "test" / "curly").glob("*.jpg"))[0]
    with images.run(hair_lambda_image, publish=8080, ready=http_any(), timeout=60) as container:
        proc = invoke(container.url + INVOCATIONS, "--image", str(image_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["label"] == local.predict(Image.open(image_path))["label"]
