"""09-serverless: build the Lambda image, run it with the emulator, invoke it with test.py.

The build context is a scratch copy of ``09-serverless/`` made by its build step, holding
08's export of this test run (``models/hair-keras-onnx/`` in the scratch models folder) when it
exists, else the tiny stand-in model of the same interface. The container always goes,
whatever the test's outcome.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import uuid

import pytest
import service_files
from PIL import Image
from ports import free_port

from zoomcamp import artifacts, datasets, paths
from zoomcamp.hair import model_keras as hair_model

pytestmark = pytest.mark.docker

MODULE = paths.module_dir("09-serverless")
TEST_PY = MODULE / "test.py"


def invoke(endpoint: str, *args: str, timeout: float = 30) -> dict:
    proc = subprocess.run(
        [sys.executable, str(TEST_PY), "--endpoint", endpoint, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def image(docker, tmp_path_factory):
    hl = service_files.load("09-serverless", "hair_lambda")
    build = service_files.load("09-serverless", "build")
    ctx = tmp_path_factory.mktemp("lambda-context")
    source = paths.model_dir(hair_model.ONNX_NAME)
    try:
        artifacts.verify(source, check_versions=False)
        build.prepare_context(ctx, source)
    except artifacts.ArtifactError:
        for name in build.context_files():
            shutil.copy2(MODULE / name, ctx / name)
        build.write_tiny_model(ctx / "model")
    tag = "hair-classifier:pytest"
    proc = subprocess.run(
        [docker, "build", "--network", "host", "-q", "-t", tag, str(ctx)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return tag, hl.HairClassifier(ctx / "model" / hair_model.ONNX_FILE)


@pytest.fixture(scope="module")
def endpoint(docker, image):
    tag, _ = image
    port, api_port = free_port(), free_port()
    name = f"hair-lambda-test-{uuid.uuid4().hex[:8]}"
    try:
        # as a non-root user, like Lambda (the files must be world-readable)
        subprocess.run(
            [
                docker,
                "run",
                "-d",
                "--rm",
                "--name",
                name,
                "--network",
                "host",
                "--user",
                "993:990",
                "-e",
                f"AWS_LAMBDA_RIE_ADDRESS=127.0.0.1:{port}",
                "-e",
                f"AWS_LAMBDA_RIE_API_ADDRESS=127.0.0.1:{api_port}",
                tag,
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
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
        gone = subprocess.run(
            [docker, "ps", "-aq", "--filter", f"name={name}"], capture_output=True, text=True
        )
        assert gone.stdout.strip() == "", f"container {name} was not removed"


def test_image_answers_like_the_local_model(endpoint, image):
    _, local = image
    test_dir = datasets.unpack("hair-type") / "data" / "test"
    for path in [sorted((test_dir / c).glob("*.jpg"))[0] for c in ("curly", "straight")]:
        answer = invoke(endpoint, "--image", str(path))
        want = local.predict(Image.open(path))
        assert answer["label"] == want["label"]
        assert answer["logit"] == pytest.approx(want["logit"], abs=1e-5)
        assert answer["prediction"] == pytest.approx(want["prediction"], abs=1e-6)


def test_bad_input_and_private_urls_answer_400_in_the_container(endpoint):
    assert invoke(endpoint, "--url", "ftp://example.com/a.jpg")["statusCode"] == 400
    # the container runs with the default policy: no private addresses (metadata endpoint)
    refused = invoke(endpoint, "--url", "http://169.254.169.254/latest/meta-data/")
    assert refused["statusCode"] == 400 and "non-public" in refused["error"]


def test_image_holds_no_heavy_frameworks(docker, image):
    tag, _ = image
    proc = subprocess.run(
        [
            docker,
            "run",
            "--rm",
            "--network",
            "host",
            "--entrypoint",
            "python",
            tag,
            "-c",
            "import importlib.util as u, json; print(json.dumps({m: u.find_spec(m) is not None "
            "for m in ['tensorflow', 'keras', 'sklearn', 'onnxruntime', 'PIL', 'numpy']}))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found == {
        "tensorflow": False,
        "keras": False,
        "sklearn": False,
        "onnxruntime": True,
        "PIL": True,
        "numpy": True,
    }


def test_the_readme_published_port_path(bridge, image):
    """``docker run -p 127.0.0.1:8080:8080`` as the README says (a free host port here),
    called with test.py: the emulator answers through the engine's port publishing."""
    tag, local = image
    host_port = free_port()
    name = f"hair-lambda-port-{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run(
            [bridge, "run", "-d", "--rm", "--name", name]
            + ["-p", f"127.0.0.1:{host_port}:8080", tag],
            check=True,
            capture_output=True,
            timeout=60,
        )
        url = f"http://127.0.0.1:{host_port}/2015-03-31/functions/function/invocations"
        image_path = sorted(
            (datasets.unpack("hair-type") / "data" / "test" / "curly").glob("*.jpg")
        )[0]
        deadline = time.monotonic() + 60
        while True:  # docker-proxy accepts before the emulator listens: retry the call
            proc = subprocess.run(
                [sys.executable, str(TEST_PY), "--endpoint", url, "--image", str(image_path)],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if proc.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert proc.returncode == 0, proc.stderr[-2000:]
        answer = json.loads(proc.stdout)
        assert answer["label"] == local.predict(Image.open(image_path))["label"]
    finally:
        subprocess.run([bridge, "rm", "-f", name], capture_output=True, timeout=60)
