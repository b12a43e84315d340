"""Shared fixtures. Tests are grouped by what they protect:

- ``code/``      from-scratch maths against references, the data registry, the CLI
- ``data/``      the real datasets load with the expected shape and columns
- ``model/``     trained models behave (metrics, exports agree with their source)
- ``notebooks/`` every notebook executes top to bottom
- ``homework/``  every ``homework.py --json`` follows the answers contract
- ``services/``  the FastAPI service and the Lambda function, in process and in containers

Everything costly is made once per run by a session fixture here and shared: each fast
model (``fast_models``: churn, car price, both hair tracks and their exports, clothing)
and each service image (``docker_images``: the churn service, the churn Lambda, the hair
Lambda).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import fast_models
import pytest
from docker_images import Image, Images

from zoomcamp import paths

REPO_ROOT = paths.REPO_ROOT

# A process that imports TensorFlow and then triton (torch imports it through torch._dynamo,
# e.g. from torchvision) dies with a segmentation fault while triton loads its C library;
# loaded first, both work. A test process may do both in either order (an xdist worker that
# ran the Keras tests and then a PyTorch one crashed, and xdist then waited forever).
if importlib.util.find_spec("triton") is not None:
    import triton._C.libtriton  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    # Tests write models and reports into a scratch folder, never over the committed ones;
    # subprocesses and notebook kernels inherit these variables. Long training runs use
    # their fast settings.
    # A fresh scratch folder per run, so no model left by an earlier run can hide a failure.
    scratch = Path(
        os.environ.get("ZOOMCAMP_TEST_SCRATCH") or tempfile.mkdtemp(prefix="zoomcamp-tests-")
    )
    # pytest-xdist's workers start after this hook and inherit the environment: the whole
    # run shares one scratch folder, so each fast model is trained once, not once per worker
    os.environ["ZOOMCAMP_TEST_SCRATCH"] = str(scratch)
    os.environ.setdefault("ZOOMCAMP_MODELS_DIR", str(scratch / "models"))
    os.environ.setdefault("ZOOMCAMP_REPORTS_DIR", str(scratch / "reports"))
    os.environ.setdefault("ZOOMCAMP_FAST", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# The session fixtures that train a model (fast_models.ensure); the exports and service
# folders depend on them, so a test that uses any of those uses one of these too.
TRAINING_FIXTURES = frozenset(
    {
        "churn_model",
        "car_price_model",
        "hair_torch_model",
        "hair_keras_model",
        "clothing_torch_model",
    }
)


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        # a test that needs a trained model is `slow`, whatever its own body costs: the
        # quick lane (-m "not slow ...") trains nothing
        if TRAINING_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        # One pytest-xdist worker runs every container test (--dist loadgroup): each image
        # is built once per run, and the other workers take the notebooks and the rest.
        if item.get_closest_marker("docker"):
            item.add_marker(pytest.mark.xdist_group("docker"))
    # The longest work first (the container tests, then the notebooks, a minute or two each):
    # the workers then finish on short tests together instead of one waiting on a notebook.
    items.sort(key=_start_order)


def _start_order(item: pytest.Item) -> int:
    if item.get_closest_marker("docker"):
        return 0
    return 1 if item.get_closest_marker("notebook") else 2


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


# ---- the fast models, each trained once per run ------------------------------------------


@pytest.fixture(scope="session")
def churn_model() -> Path:
    """``models/churn/``: 03-classification/train.py."""
    return fast_models.ensure("churn", "03-classification/train.py")


@pytest.fixture(scope="session")
def car_price_model() -> Path:
    """``models/car-price/`` (and ``reports/02-regression/``): 02-regression/train.py."""
    return fast_models.ensure("car-price", "02-regression/train.py")


@pytest.fixture(scope="session")
def hair_torch_model() -> Path:
    """``models/hair-torch/``: 08's train_torch.py (60 images, 1 + 1 epochs: about 15 s)."""
    return fast_models.ensure("hair-torch", "08-deep-learning/train_torch.py")


@pytest.fixture(scope="session")
def hair_torch_onnx(hair_torch_model) -> Path:
    """``models/hair-torch-onnx/``: export_torch.py of this run's PyTorch model, what 09's
    build step ships by default."""
    return fast_models.ensure(
        "hair-torch-onnx", "08-deep-learning/export_torch.py", source=hair_torch_model
    )


@pytest.fixture(scope="session")
def hair_torch_onnx_fp32(hair_torch_model) -> Path:
    """``models/hair-torch-onnx-fp32/``: ``export_torch.py --fp32`` of this run's PyTorch
    model (``build.py --model pytorch-fp32``)."""
    return fast_models.ensure(
        "hair-torch-onnx-fp32", "08-deep-learning/export_torch.py --fp32", source=hair_torch_model
    )


@pytest.fixture(scope="session")
def hair_keras_model() -> Path:
    """``models/hair-keras/``: 08's train_keras.py."""
    return fast_models.ensure("hair-keras", "08-deep-learning/train_keras.py")


@pytest.fixture(scope="session")
def hair_keras_onnx(hair_keras_model) -> Path:
    """``models/hair-keras-onnx/``: export_keras.py of this run's Keras model."""
    return fast_models.ensure(
        "hair-keras-onnx", "08-deep-learning/export_keras.py", source=hair_keras_model
    )


@pytest.fixture(scope="session")
def clothing_torch_model() -> Path:
    """``models/clothing-torch/``: 08's clothing_torch.py."""
    return fast_models.ensure("clothing-torch", "08-deep-learning/clothing_torch.py")


# ---- the build contexts the services ship -------------------------------------------------


def _build_step(*args: str) -> None:
    proc = subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    if proc.returncode != 0:
        pytest.fail(f"{args[0]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}", pytrace=False)


@pytest.fixture(scope="session")
def churn_service_dir(churn_model, tmp_path_factory) -> Path:
    """A copy of the 05-deployment build context whose ``model/`` holds this run's churn
    model, copied in by the service's build step, build_model.py. The checkout's own
    git-ignored ``model/`` is never read or written, so the service tests pass on a fresh
    clone and leave no files behind."""
    module = paths.module_dir("05-deployment")
    context = tmp_path_factory.mktemp("churn-service") / module.name
    context.mkdir()
    for file in module.iterdir():  # the top-level files: Dockerfile, .dockerignore, code, lock
        if file.is_file():
            shutil.copy2(file, context / file.name)
    _build_step(str(context / "build_model.py"), "--dest", str(context / "model"))
    return context


@pytest.fixture(scope="session")
def churn_model_dir(churn_service_dir) -> Path:
    """The served churn model folder (``model.json`` + ``metadata.json``, and the pipeline
    ``model.bin``) of this run, as the image gets it; point ``MODEL_DIR`` at it to start
    the service on it."""
    return churn_service_dir / "model"


@pytest.fixture(scope="session")
def churn_lambda_context(churn_model, tmp_path_factory) -> Path:
    """05-deployment/lambda's build context, made by its build step (``build.py --no-build
    --dest``: the shared ``churn_scoring.py`` and this run's churn model)."""
    context = tmp_path_factory.mktemp("churn-lambda")
    build = paths.module_dir("05-deployment") / "lambda" / "build.py"
    _build_step(str(build), "--no-build", "--dest", str(context))
    return context


@pytest.fixture(scope="session")
def hair_lambda_context(hair_torch_onnx, tmp_path_factory) -> Path:
    """09-serverless's build context with the model its build step ships by default
    (08's PyTorch export of this run)."""
    import service_files

    build = service_files.load("09-serverless", "build")
    return build.prepare_context(tmp_path_factory.mktemp("hair-lambda"), hair_torch_onnx)


# ---- Docker -------------------------------------------------------------------------------


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


_IMAGES: list[Images] = []  # the run's one registry, for the failure-report hook below


@pytest.fixture(scope="session")
def images(docker) -> Images:
    """Builds each image once per run and runs containers that always go
    (``docker_images``); at the end of the run, whatever is left of them is removed."""
    registry = Images(docker)
    _IMAGES.append(registry)
    yield registry
    _IMAGES.remove(registry)
    registry.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and _IMAGES:  # a failing test shows the log of every live container
        for container in list(_IMAGES[0].live.values()):
            report.sections.append(
                (f"container {container.name} ({container.image.tag}) log", container.logs())
            )
    return report


@pytest.fixture(scope="session")
def churn_service_image(images, churn_service_dir) -> Image:
    return images.build(churn_service_dir, name="churn-service")


@pytest.fixture(scope="session")
def churn_lambda_image(images, churn_lambda_context) -> Image:
    return images.build(churn_lambda_context, name="churn-lambda")


@pytest.fixture(scope="session")
def hair_lambda_image(images, hair_lambda_context) -> Image:
    return images.build(hair_lambda_context, name="hair-lambda")
