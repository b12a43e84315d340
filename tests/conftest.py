"""Shared fixtures. Tests are grouped by what they protect:

- ``code/``      from-scratch maths against references, the data registry, the CLI
- ``data/``      the real datasets load with the expected shape and columns
- ``model/``     trained models behave (metrics, exports agree with their source)
- ``notebooks/`` every notebook executes top to bottom
- ``homework/``  every ``homework.py --json`` follows the answers contract
- ``services/``  the FastAPI service and the Lambda function, in process and in containers
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from zoomcamp import artifacts, paths

REPO_ROOT = paths.REPO_ROOT


def pytest_configure(config: pytest.Config) -> None:
    # Tests write models and reports into a scratch folder, never over the committed ones;
    # subprocesses and notebook kernels inherit these variables. Long training runs use
    # their fast settings.
    # A fresh scratch folder per run, so no model left by an earlier run can hide a failure.
    scratch = Path(
        os.environ.get("ZOOMCAMP_TEST_SCRATCH") or tempfile.mkdtemp(prefix="zoomcamp-tests-")
    )
    os.environ.setdefault("ZOOMCAMP_MODELS_DIR", str(scratch / "models"))
    os.environ.setdefault("ZOOMCAMP_REPORTS_DIR", str(scratch / "reports"))
    os.environ.setdefault("ZOOMCAMP_FAST", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def _docker_available() -> tuple[bool, str]:
    if not shutil.which("docker"):
        return False, "no docker client on PATH"
    proc = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        return False, (
            "no Docker engine answers: install Docker (https://docs.docker.com/get-docker/) "
            "and start it"
        )
    return True, ""


@pytest.fixture(scope="session")
def docker() -> str:
    """The docker CLI path. Outside CI a missing engine skips the test with the reason;
    in CI (CI=true) it fails, so a container test can never pass by being skipped."""
    ok, why = _docker_available()
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"container tests must run in CI: {why}")
        pytest.skip(why)
    return shutil.which("docker")  # type: ignore[return-value]


@pytest.fixture(scope="session")
def churn_service_dir(tmp_path_factory) -> Path:
    """A copy of the 05-deployment build context whose ``model/`` holds the churn model of
    this run: 03-classification/train.py trains it into the scratch ``models/churn/`` (once
    per session; reused when it is already there and verifies), then the service's build
    step, build_model.py, copies it in. The checkout's own git-ignored ``model/`` is never
    read or written, so the service tests pass on a fresh clone and leave no files behind."""
    source = paths.model_dir("churn")
    try:
        artifacts.verify(source)
    except artifacts.ArtifactError:
        train = REPO_ROOT / "03-classification" / "train.py"
        proc = subprocess.run(
            [sys.executable, str(train)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if proc.returncode != 0:
            pytest.fail(f"{train} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    module = paths.module_dir("05-deployment")
    context = tmp_path_factory.mktemp("churn-service") / module.name
    context.mkdir()
    for file in module.iterdir():  # the top-level files: Dockerfile, .dockerignore, code, lock
        if file.is_file():
            shutil.copy2(file, context / file.name)
    proc = subprocess.run(
        [sys.executable, str(context / "build_model.py"), "--dest", str(context / "model")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        pytest.fail(f"build_model.py failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return context


@pytest.fixture(scope="session")
def churn_model_dir(churn_service_dir) -> Path:
    """The served churn model folder (``model.bin`` + ``metadata.json``) of this run, as the
    image gets it; point ``MODEL_DIR`` at it to start the service on it."""
    return churn_service_dir / "model"


@pytest.fixture(scope="session")
def hair_torch_onnx() -> Path:
    """08's PyTorch hair model and its ONNX export in the scratch models folder, the way
    ``reproduce 08`` makes them but with the fast settings (60 images, 1 + 1 epochs: about
    15 s): what 09's build step ships by default. Reused while it verifies."""
    folder = paths.model_dir("hair-torch-onnx")
    try:
        artifacts.verify(folder)
        return folder
    except artifacts.ArtifactError:
        pass
    for script in ("train_torch.py", "export_torch.py"):
        path = REPO_ROOT / "08-deep-learning" / script
        proc = subprocess.run(
            [sys.executable, str(path)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "ZOOMCAMP_FAST": "1"},
        )
        if proc.returncode != 0:
            pytest.fail(f"{path} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return folder


@pytest.fixture(scope="session")
def bridge(docker) -> str:
    """The README's ``docker run -p 127.0.0.1:PORT:PORT`` path needs the engine's bridge
    network. Outside CI an engine without one skips with the reason; in CI it fails."""
    proc = subprocess.run(
        [docker, "network", "inspect", "bridge"], capture_output=True, text=True, timeout=30
    )
    if proc.returncode != 0:
        why = f"the Docker engine has no bridge network ({proc.stderr.strip()[:200]})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"published-port tests must run in CI: {why}")
        pytest.skip(why)
    return docker
