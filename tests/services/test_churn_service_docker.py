"""05-deployment: build the churn-service image, run it, call it with test.py.

The image is built as the README says, from a copy of ``05-deployment/`` whose ``model/``
build_model.py filled with this run's model (``churn_service_image``, built once per run
and shared with test_k8s_container.py; its .dockerignore keeps the context to the lock,
the code and the model). It runs on the host network on a free port (``PORT``), and once
with the README's published port; containers go whatever the outcome.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess
import sys

import pytest
import service_files
from docker_images import http_json
from ports import free_port

from zoomcamp import paths

pytestmark = pytest.mark.docker

MODULE = paths.module_dir("05-deployment")
client = service_files.load("05-deployment", "test")


@pytest.fixture(scope="module")
def service(images, churn_service_image):
    with images.run(
        churn_service_image, port_env=lambda port: {"PORT": str(port)}, ready=http_json("/health")
    ) as container:
        yield container


def run_test_py(port: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(MODULE / "test.py"), "--url", f"http://127.0.0.1:{port}/predict"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_test_py_gets_the_pipelines_answer(service, churn_model_dir):
    proc = run_test_py(service.port)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout.splitlines()[0])
    with open(churn_model_dir / "model.bin", "rb") as fh:
        expected = pickle.load(fh).predict_proba([client.CUSTOMER])[0, 1]
    assert abs(answer["churn_probability"] - expected) <= 1e-9
    assert answer["churn"] is bool(expected >= 0.5)
    assert "churn probability" in proc.stdout


def test_health_names_the_served_model(service, churn_model_dir):
    health = service.ready  # the /health answer the container was waited for with
    digest = hashlib.sha256((churn_model_dir / "model.json").read_bytes()).hexdigest()
    assert health["status"] == "ok" and health["model"]["files"]["model.json"] == digest


def image_bytes(docker, tag: str) -> int:
    out = subprocess.run(
        [docker, "image", "inspect", "-f", "{{.Size}}", tag],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return int(out.stdout.strip())


def test_image_is_slim_without_scikit_learn_uv_or_pickle(docker, service, churn_service_image):
    code = (
        "import importlib.util as u, json, os, shutil; print(json.dumps({'mods': {m: "
        "u.find_spec(m) is not None for m in ['sklearn', 'scipy', 'numpy', 'fastapi']}, "
        "'uv': shutil.which('uv') is not None, 'model': sorted(os.listdir('/app/model'))}))"
    )
    proc = service.exec("python", "-c", code)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["mods"] == {"sklearn": False, "scipy": False, "numpy": False, "fastapi": True}
    assert found["uv"] is False and found["model"] == ["metadata.json", "model.json"]
    # what the image adds to its base (the Dockerfile's final FROM), in bytes
    added = image_bytes(docker, churn_service_image.tag) - image_bytes(docker, "python:3.13-slim")
    assert 0 < added <= 60_000_000, added


def test_runs_as_non_root_with_a_healthcheck(docker, service, churn_service_image):
    uid = service.exec("id", "-u", timeout=30)
    assert uid.returncode == 0 and uid.stdout.strip() != "0"
    check = subprocess.run(
        [docker, "image", "inspect", "-f", "{{json .Config.Healthcheck.Test}}"]
        + [churn_service_image.tag],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "/health" in check.stdout
    bad = service.exec(
        "python",
        "-c",
        "import urllib.request, os; "
        "urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ['PORT'], timeout=2)",
        timeout=30,
    )
    assert bad.returncode == 0, bad.stderr  # the HEALTHCHECK command itself succeeds


def test_refuses_to_start_without_its_model(images, churn_service_image):
    flags = ("-e", f"PORT={free_port()}", "-e", "MODEL_DIR=/app/model/missing")
    proc = images.run_once(churn_service_image, flags=flags)
    assert proc.returncode != 0
    assert "refusing to start" in proc.stderr and "no model at" in proc.stderr


def test_the_readme_published_port_path(bridge, images, churn_service_image):
    """``docker run -p 127.0.0.1:9696:9696`` as the README says (a free host port here; the
    container keeps its default 9696), then test.py against it."""
    with images.run(churn_service_image, publish=9696, ready=http_json("/health")) as container:
        proc = run_test_py(container.port)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "churn probability" in proc.stdout
