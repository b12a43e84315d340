"""05-deployment: build the churn-service image, run it, call it with test.py.

The image is built as the README says, from a copy of ``05-deployment/`` whose ``model/``
build_model.py filled with this run's model (the ``churn_service_dir`` fixture; its
.dockerignore keeps the context to the lock, the code and the model), run with
``--network host`` on a free port (``PORT``), and removed whatever the outcome.
"""

from __future__ import annotations

import hashlib
import json
import pickle
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

MODULE = paths.module_dir("05-deployment")
TAG = "churn-service:pytest"
client = service_files.load("05-deployment", "test")


@pytest.fixture(scope="module")
def image(docker, churn_service_dir):
    proc = subprocess.run(
        [docker, "build", "--network", "host", "-q", "-t", TAG, str(churn_service_dir)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return TAG


def running(docker, name: str) -> bool:
    out = subprocess.run(
        [docker, "inspect", "-f", "{{.State.Running}}", name], capture_output=True, text=True
    )
    return out.stdout.strip() == "true"


@pytest.fixture(scope="module")
def service(docker, image):
    port, name = free_port(), f"churn-service-test-{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run(
            [docker, "run", "-d", "--name", name, "--network", "host", "-e", f"PORT={port}", image],
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                health = json.load(
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                )
                break
            except OSError:
                logs = subprocess.run([docker, "logs", name], capture_output=True, text=True).stderr
                assert running(docker, name), f"the container stopped:\n{logs[-3000:]}"
                assert time.monotonic() < deadline, f"no /health within 90 s:\n{logs[-3000:]}"
                time.sleep(0.5)
        yield name, port, health
    finally:
        subprocess.run([docker, "rm", "-f", name], capture_output=True, timeout=60)


def test_test_py_gets_the_pipelines_answer(service, churn_model_dir):
    _, port, _ = service
    proc = subprocess.run(
        [sys.executable, str(MODULE / "test.py"), "--url", f"http://127.0.0.1:{port}/predict"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout.splitlines()[0])
    with open(churn_model_dir / "model.bin", "rb") as fh:
        expected = pickle.load(fh).predict_proba([client.CUSTOMER])[0, 1]
    assert abs(answer["churn_probability"] - expected) <= 1e-9
    assert answer["churn"] is bool(expected >= 0.5)
    assert "churn probability" in proc.stdout


def test_health_names_the_served_model(service, churn_model_dir):
    _, _, health = service
    digest = hashlib.sha256((churn_model_dir / "model.json").read_bytes()).hexdigest()
    assert health["status"] == "ok" and health["model"]["files"]["model.json"] == digest


def image_bytes(docker, tag: str) -> int:
    out = subprocess.run(
        [docker, "image", "inspect", "-f", "{{.Size}}", tag],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return int(out.stdout.strip())


def test_image_is_slim_without_scikit_learn_uv_or_pickle(docker, service, image):
    name, _, _ = service
    code = (
        "import importlib.util as u, json, os, shutil; print(json.dumps({'mods': {m: "
        "u.find_spec(m) is not None for m in ['sklearn', 'scipy', 'numpy', 'fastapi']}, "
        "'uv': shutil.which('uv') is not None, 'model': sorted(os.listdir('/app/model'))}))"
    )
    proc = subprocess.run(
        [docker, "exec", name, "python", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["mods"] == {"sklearn": False, "scipy": False, "numpy": False, "fastapi": True}
    assert found["uv"] is False and found["model"] == ["metadata.json", "model.json"]
    # what the image adds to its base (the Dockerfile's final FROM), in bytes
    added = image_bytes(docker, image) - image_bytes(docker, "python:3.13-slim")
    assert 0 < added <= 60_000_000, added


def test_runs_as_non_root_with_a_healthcheck(docker, service, image):
    name, _, _ = service
    uid = subprocess.run(
        [docker, "exec", name, "id", "-u"], capture_output=True, text=True, timeout=30
    )
    assert uid.returncode == 0 and uid.stdout.strip() != "0"
    check = subprocess.run(
        [docker, "image", "inspect", "-f", "{{json .Config.Healthcheck.Test}}", image],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "/health" in check.stdout
    bad = subprocess.run(
        [
            docker,
            "exec",
            name,
            "python",
            "-c",
            "import urllib.request, os; "
            "urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ['PORT'], timeout=2)",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 0, bad.stderr  # the HEALTHCHECK command itself succeeds


def test_refuses_to_start_without_its_model(docker, image):
    proc = subprocess.run(
        [
            docker,
            "run",
            "--rm",
            "--network",
            "host",
            "-e",
            f"PORT={free_port()}",
            "-e",
            "MODEL_DIR=/app/model/missing",
            image,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "refusing to start" in proc.stderr and "no model at" in proc.stderr


def test_the_readme_published_port_path(bridge, image):
    """``docker run -p 127.0.0.1:9696:9696`` as the README says (a free host port here; the
    container keeps its default 9696), then test.py against it."""
    host_port, name = free_port(), f"churn-service-port-{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run(
            [bridge, "run", "-d", "--name", name, "-p", f"127.0.0.1:{host_port}:9696", image],
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 90
        while True:
            proc = subprocess.run(
                [sys.executable, str(MODULE / "test.py")]
                + ["--url", f"http://127.0.0.1:{host_port}/predict"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if proc.returncode == 0 or time.monotonic() > deadline:
                break
            assert running(bridge, name), "the container stopped"
            time.sleep(0.5)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "churn probability" in proc.stdout
    finally:
        subprocess.run([bridge, "rm", "-f", name], capture_output=True, timeout=60)
