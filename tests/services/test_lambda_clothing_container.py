"""09-serverless's clothing image, as the 09 workshop runs it: the context ``build.py --model
clothing`` makes (this run's fast clothing model), built once (``images.build``: the
workshop's ``clothing-classifier:v1``, under this run's own tag), run with the emulator as a
non-root user, and called with ``test.py --clothing`` (the workshop's pants image). The
answer must equal the same handler's in process; that one equals 08's PyTorch model on every
test image (test_lambda_clothing.py). The container always goes.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import service_files
from lambda_events import load_handler
from PIL import Image
from ports import free_port

from zoomcamp import paths
from zoomcamp.clothing import data as cdata
from zoomcamp.clothing import features_torch as ft

pytestmark = pytest.mark.docker

build = service_files.load("09-serverless", "build")
client = service_files.load("09-serverless", "test")
TEST_PY = paths.module_dir("09-serverless") / "test.py"
INVOCATIONS = "/2015-03-31/functions/function/invocations"


@pytest.fixture(scope="module")
def context(clothing_torch_model, tmp_path_factory):
    return build.prepare_context(tmp_path_factory.mktemp("clothing-image"), clothing_torch_model)


@pytest.fixture(scope="module")
def endpoint(images, context):
    image = images.build(context, name="clothing-lambda")

    def emulator_env(port: int) -> dict[str, str]:
        return {
            "AWS_LAMBDA_RIE_ADDRESS": f"127.0.0.1:{port}",
            "AWS_LAMBDA_RIE_API_ADDRESS": f"127.0.0.1:{free_port()}",
        }

    with images.run(image, port_env=emulator_env, flags=["--user", "993:990"]) as container:
        yield container.url + INVOCATIONS


def call(endpoint: str, *args: str, status: int = 0) -> dict:
    """test.py's answer; its exit status is 1 when the answer is an error."""
    proc = subprocess.run(
        [sys.executable, str(TEST_PY), "--endpoint", endpoint, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == status, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_the_image_answers_the_pants_image_like_the_handler_in_process(endpoint, context):
    got = call(endpoint, "--clothing")
    local = load_handler(context / "model" / ft.ONNX_FILE)
    want = local.predict(Image.open(cdata.data_root() / client.PANTS_IMAGE))
    assert got["label"] == want["label"]
    assert list(got["probabilities"]) == list(cdata.CLASSES)
    for key in ("probabilities", "logits"):
        for cls in cdata.CLASSES:
            assert got[key][cls] == pytest.approx(want[key][cls], abs=1e-5), (key, cls)


def test_bad_input_is_a_400_through_the_emulator(endpoint):
    got = call(endpoint, "--url", "http://169.254.169.254/latest/meta-data/", status=1)
    assert got.get("statusCode") == 400, got
