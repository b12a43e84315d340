"""uv run python 05-deployment/homework.py [--json]

Homework 5 (2025): uv, the course's pickled pipelines, FastAPI and Docker.

- Q1 ``uv --version`` of the uv running here;
- Q2 the first sha256 recorded for scikit-learn in ``hw-sklearn161/uv.lock`` (a uv
  project locking scikit-learn==1.6.1, kept in this module);
- Q3 pipeline_v1.bin scored under scikit-learn 1.6.1, in that project's environment
  (``uv run --project 05-deployment/hw-sklearn161``), never in the root one;
- Q4 the same pipeline served by FastAPI (``hw-sklearn161/lead_service.py`` under uvicorn
  on 127.0.0.1, same environment), one POST;
- Q5 the size of the course's base image ``agrigorev/zoomcamp-model:2025`` when it is here or
  can be pulled; otherwise value and option are null (the size of the local equivalent
  built from ``hw-sklearn161/base.Dockerfile``, python:3.13-slim + pipeline_v2.bin in
  /code, depends on the machine: it is printed to stderr, not answered);
- Q6 the service image built on that base (``hw-sklearn161/Dockerfile``), run with
  ``--network host``, sent the Q4 record.
Q5/Q6 need a Docker engine (``bash ../shared/ci/docker-offline.sh``); without one they
are answered null with a note. Progress goes to stderr.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from zoomcamp import datasets, homework, script
from zoomcamp.errors import ZoomcampError

MODULE = "05-deployment"
HERE = Path(__file__).resolve().parent
HW = HERE / "hw-sklearn161"
OPTIONS_Q3 = ["0.333", "0.533", "0.733", "0.933"]
OPTIONS_Q4 = ["0.334", "0.534", "0.734", "0.934"]
OPTIONS_Q5 = ["45 MB", "121 MB", "245 MB", "330 MB"]
OPTIONS_Q6 = ["0.39", "0.59", "0.79", "0.99"]
RECORD_Q3 = {"lead_source": "paid_ads", "number_of_courses_viewed": 2, "annual_income": 79276.0}
RECORD_Q4 = {
    "lead_source": "organic_search",
    "number_of_courses_viewed": 4,
    "annual_income": 80304.0,
}
BASE_TAG = "local/zoomcamp-model:2025"
IMAGE_TAG = "zoomcamp-hw5-service"
COURSE_BASE = "agrigorev/zoomcamp-model:2025"  # the course's base image (Q5)


def progress(msg: str) -> None:
    print(f"[05-deployment] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kw) -> str:
    """stdout of ``cmd``; a failure raises ZoomcampError with its stderr."""
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise ZoomcampError(
            f"{' '.join(cmd[:6])} ... failed ({proc.returncode}):\n{proc.stderr[-2000:]}"
        )
    return proc.stdout


def uv() -> str:
    exe = shutil.which("uv")
    if not exe:
        raise ZoomcampError("uv is not on PATH (pip install uv)")
    return exe


def uv_version() -> str:
    out = run([uv(), "--version"]).strip()  # "uv 0.13.8 (x86_64-unknown-linux-gnu)"
    match = re.match(r"uv (\S+)", out)
    if not match:
        raise ZoomcampError(f"unexpected `uv --version` output: {out!r}")
    return match.group(1)


def first_sklearn_hash(lock: Path = HW / "uv.lock") -> str:
    """The first ``hash = "sha256:..."`` inside the scikit-learn package of a uv.lock."""
    text = lock.read_text(encoding="utf-8")
    blocks = text.split("[[package]]")
    block = next((b for b in blocks if re.search(r'^name = "scikit-learn"$', b, re.M)), None)
    if block is None:
        raise ZoomcampError(f"no scikit-learn package in {lock}")
    if 'version = "1.6.1"' not in block:
        raise ZoomcampError(f"{lock} does not lock scikit-learn 1.6.1")
    return re.search(r'hash = "(sha256:[0-9a-f]{64})"', block).group(1)


def hw_python(*args: str) -> list[str]:
    return [uv(), "run", "--quiet", "--locked", "--project", str(HW), "python", *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, record: dict) -> dict:
    req = urllib.request.Request(
        url, data=json.dumps(record).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def wait_for(url: str, alive, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive():
            raise ZoomcampError(f"the server behind {url} stopped before answering")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.3)
    raise ZoomcampError(f"{url} did not answer within {seconds:.0f} s")


@contextmanager
def uvicorn_server(model: Path):
    port = free_port()
    cmd = hw_python(
        "-m",
        "uvicorn",
        "lead_service:app",
        "--app-dir",
        str(HW),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    )
    proc = subprocess.Popen(
        cmd, env={**_env(), "MODEL_PATH": str(model)}, stdout=subprocess.DEVNULL, stderr=sys.stderr
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/health", lambda: proc.poll() is None)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _env() -> dict:
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)  # the root venv; uv uses the project's own
    return env


def docker_engine() -> str | None:
    exe = shutil.which("docker")
    if exe and subprocess.run([exe, "info"], capture_output=True, timeout=30).returncode == 0:
        return exe
    return None


def course_image_mb(docker: str) -> float | str:
    """Size in MB of the course's base image when it is here or can be pulled, else why not."""
    have = subprocess.run([docker, "image", "inspect", COURSE_BASE], capture_output=True)
    if have.returncode != 0:
        try:
            pull = subprocess.run(
                [docker, "pull", COURSE_BASE], capture_output=True, text=True, timeout=300
            )
        except subprocess.TimeoutExpired:
            return f"docker pull {COURSE_BASE} timed out"
        if pull.returncode != 0:  # the daemon's message names local addresses: stderr only
            progress(f"docker pull {COURSE_BASE}: {(pull.stderr or pull.stdout).strip()[-300:]}")
            return "docker pull failed: no registry access"
    out = run([docker, "image", "inspect", "--format", "{{.Size}}", COURSE_BASE])
    return round(int(out) / 1e6, 1)


def docker_answers(docker: str, pipeline_v2: Path) -> tuple[float, float]:
    """(size of the local base image in MB, Q6 probability from the service image)."""
    with tempfile.TemporaryDirectory() as ctx:
        shutil.copy(HW / "base.Dockerfile", Path(ctx) / "Dockerfile")
        shutil.copy(pipeline_v2, Path(ctx) / "pipeline_v2.bin")
        progress(f"docker build {BASE_TAG} (python:3.13-slim + pipeline_v2.bin)")
        run([docker, "build", "-q", "--network", "host", "-t", BASE_TAG, ctx])
    size_mb = int(run([docker, "image", "inspect", "--format", "{{.Size}}", BASE_TAG])) / 1e6
    progress(f"docker build {IMAGE_TAG} on {BASE_TAG} (uv sync of hw-sklearn161/uv.lock)")
    run(
        [
            docker,
            "build",
            "-q",
            "--network",
            "host",
            "--build-arg",
            f"BASE={BASE_TAG}",
            "-t",
            IMAGE_TAG,
            str(HW),
        ],
        timeout=900,
    )
    port = free_port()
    name = f"zoomcamp-hw5-{port}"
    run(
        [
            docker,
            "run",
            "-d",
            "--rm",
            "--network",
            "host",
            "-e",
            f"PORT={port}",
            "--name",
            name,
            IMAGE_TAG,
        ]
    )
    try:

        def alive() -> bool:
            out = subprocess.run(
                [docker, "inspect", "-f", "{{.State.Running}}", name],
                capture_output=True,
                text=True,
            )
            return out.stdout.strip() == "true"

        wait_for(f"http://127.0.0.1:{port}/health", alive)
        q6 = post(f"http://127.0.0.1:{port}/predict", RECORD_Q4)["conversion_probability"]
    finally:
        subprocess.run([docker, "rm", "-f", name], capture_output=True)
    return round(size_mb, 1), q6


def compute() -> dict:
    progress("Q1 uv --version; Q2 hw-sklearn161/uv.lock")
    answers = {"q1": homework.answer(uv_version()), "q2": homework.answer(first_sklearn_hash())}

    v1, v2 = datasets.fetch("pipeline-v1"), datasets.fetch("pipeline-v2")
    progress("Q3 pipeline_v1.bin under scikit-learn 1.6.1 (uv run --project hw-sklearn161)")
    out = json.loads(
        run(
            hw_python(str(HW / "lead_service.py"), str(v1), json.dumps(RECORD_Q3)),
            env=_env(),
            timeout=600,
        )
    )
    if out["sklearn_version"] != "1.6.1":
        raise ZoomcampError(
            f"pipeline_v1 must load under scikit-learn 1.6.1, got {out['sklearn_version']}"
        )
    answers["q3"] = homework.answer(out["probability"], OPTIONS_Q3)

    progress("Q4 pipeline_v1.bin served by FastAPI + uvicorn on 127.0.0.1")
    with uvicorn_server(v1) as url:
        answers["q4"] = homework.answer(
            post(url + "/predict", RECORD_Q4)["conversion_probability"], OPTIONS_Q4
        )

    docker = docker_engine()
    if docker is None:
        why = "no Docker engine answers here (start one: bash ../shared/ci/docker-offline.sh)"
        answers["q5"] = homework.answer(None, note=f"not measurable: {why}")
        answers["q6"] = homework.answer(None, note=f"not measurable: {why}")
        return answers
    size_mb, q6 = docker_answers(docker, v2)
    progress(f"size of the local stand-in {BASE_TAG}: {size_mb} MB (not an answer)")
    course = course_image_mb(docker)
    if isinstance(course, str):
        answers["q5"] = homework.answer(
            None,
            note=(
                f"not reproducible as asked: {COURSE_BASE} cannot be pulled ({course}); the "
                f"local equivalent {BASE_TAG} (python:3.13-slim stand-in from Debian packages + "
                "pipeline_v2.bin in /code) is a different image whose size depends on the "
                "machine, so neither a value nor an option is claimed"
            ),
        )
    else:
        answers["q5"] = homework.answer(
            course, OPTIONS_Q5, note=f"docker image inspect {COURSE_BASE} (MB = 10^6 bytes)"
        )
    answers["q6"] = homework.answer(
        q6,
        OPTIONS_Q6,
        note=(
            f"served by {IMAGE_TAG}, built FROM the local equivalent {BASE_TAG} (its /code/pipeline_v2.bin)"
        ),
    )
    return answers


if __name__ == "__main__":
    homework.main(MODULE, compute, script.description(__doc__))
