"""The SAM templates of both Lambdas: cfn-lint, then ``sam build``, ``sam local invoke`` and
``sam local start-api`` (a real HTTP request through the emulated API Gateway).

Nothing reaches AWS. Each function is built once per session, in a scratch copy of its
build context prepared by its own build step (09: 08's export of this run, else the tiny
stand-in model; 05: this run's churn model), never in the checkout. ``sam build`` builds
Image functions with docker-py on the engine's default bridge, which has no NAT here, so
a ``docker build --network host`` of the same context first fills the layer cache (where
the Dockerfile reaches PyPI); ``sam build`` then builds from that cache. sam runs with
telemetry off, its version check marked done, no AWS credentials or profiles, and
``--skip-pull-image``: it never pulls or calls out. Containers come and go with each
invocation (sam removes them); start-api is stopped whatever the outcome.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import service_files
from cfnlint.decode import decode
from PIL import Image
from ports import free_port

from zoomcamp import artifacts, datasets, paths
from zoomcamp.hair import model_keras as hair_model

SAM = Path(sys.executable).with_name("sam")
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
HAIR = paths.module_dir("09-serverless")
CHURN = paths.module_dir("05-deployment") / "lambda"
TEMPLATES = {"hair": HAIR / "template.yaml", "churn": CHURN / "template.yaml"}
LOGICAL_IDS = {"hair": "HairClassifierFunction", "churn": "ChurnFunction"}
HTTP_API_TIMEOUT_S = 30  # API Gateway HTTP API's maximum integration timeout


def function(name: str) -> dict:
    template, _ = decode(str(TEMPLATES[name]))
    assert template is not None, f"{TEMPLATES[name]} does not parse"
    return template["Resources"][LOGICAL_IDS[name]]


# ---- the templates, without Docker ----------------------------------------------------


def test_templates_pass_cfn_lint():
    proc = subprocess.run(
        [str(CFN_LINT), *map(str, TEMPLATES.values())], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cfn_lint_fails_a_broken_template(tmp_path):
    broken = tmp_path / "template.yaml"
    text, n = re.subn(
        r"MemorySize: \d+", "MemorySize: 64", TEMPLATES["churn"].read_text(encoding="utf-8")
    )
    assert n == 1
    broken.write_text(text, encoding="utf-8")
    proc = subprocess.run([str(CFN_LINT), str(broken)], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "E3034 64 is less than the minimum" in proc.stdout, proc.stdout


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_function_is_an_image_behind_an_http_api(name):
    res = function(name)
    props, meta = res["Properties"], res["Metadata"]
    assert res["Type"] == "AWS::Serverless::Function" and props["PackageType"] == "Image"
    assert 128 <= props["MemorySize"] <= 10240
    assert 1 <= props["Timeout"] < HTTP_API_TIMEOUT_S
    assert props["Architectures"] in (["x86_64"], ["arm64"])
    (event,) = props["Events"].values()
    assert event["Type"] == "HttpApi"
    assert event["Properties"] == {"Path": "/predict", "Method": "POST"}
    folder = TEMPLATES[name].parent
    dockerfile = (folder / meta["DockerContext"] / meta["Dockerfile"]).read_text(encoding="utf-8")
    assert 'CMD ["lambda_function.lambda_handler"]' in dockerfile
    assert "FROM public.ecr.aws/lambda/python:" in dockerfile
    # the template and sam's .aws-sam/ stay out of the image: the context admits by name
    ignore = (folder / meta["DockerContext"] / ".dockerignore").read_text(encoding="utf-8")
    assert [ln for ln in ignore.splitlines() if ln and not ln.startswith("#")][0] == "*"


# ---- sam build / local invoke / local start-api ----------------------------------------


@dataclass
class Built:
    name: str
    context: Path
    env: dict[str, str]
    good: dict  # an event the function answers
    expected: dict  # what it must answer (computed here, not by the function)
    bad: dict  # an event it must refuse with a 400


def sam_env(home: Path) -> dict[str, str]:
    """sam's environment: no AWS credentials or profile of the developer (sam local would
    hand them to the container), no metadata-endpoint lookups, telemetry off, and sam's
    config folder (``__SAM_CLI_APP_DIR``, sam's own override) in the scratch folder with the
    weekly PyPI version check marked as done."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "metadata.json").write_text(
        json.dumps({"telemetryEnabled": False, "lastVersionCheck": time.time()}), encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        __SAM_CLI_APP_DIR=str(home),
        SAM_CLI_TELEMETRY="0",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(home / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "no-aws-credentials"),
        AWS_DEFAULT_REGION="us-east-1",
    )
    return env


def prepare_hair(ctx: Path) -> tuple[dict, dict, dict]:
    build = service_files.load("09-serverless", "build")
    hl = service_files.load("09-serverless", "hair_lambda")
    source = paths.model_dir(hair_model.ONNX_NAME)
    try:
        artifacts.verify(source, check_versions=False)
        build.prepare_context(ctx, source)
    except artifacts.ArtifactError:  # no export in this run: the stand-in, same interface
        for name in build.context_files():
            shutil.copy2(HAIR / name, ctx / name)
        build.write_tiny_model(ctx / "model")
    image = sorted((datasets.unpack("hair-type") / "data" / "test" / "curly").glob("*.jpg"))[0]
    good = {"image_b64": base64.b64encode(image.read_bytes()).decode("ascii")}
    expected = hl.HairClassifier(ctx / "model" / hair_model.ONNX_FILE).predict(Image.open(image))
    return good, expected, {"url": "ftp://example.com/a.jpg"}


def prepare_churn(ctx: Path, model_dir: Path) -> tuple[dict, dict, dict]:
    proc = subprocess.run(
        [sys.executable, str(CHURN / "build.py"), "--no-build", "--dest", str(ctx)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    customer = service_files.load("05-deployment", "test").CUSTOMER
    with open(model_dir / "model.bin", "rb") as fh:  # the trained pipeline: the reference
        p = float(pickle.load(fh).predict_proba([customer])[0, 1])
    bad = {"customer": {**customer, "contract": "weekly"}}
    return {"customer": customer}, {"churn_probability": p, "churn": p >= 0.5}, bad


@pytest.fixture(scope="module", params=sorted(TEMPLATES))
def built(request, docker, tmp_path_factory) -> Built:
    name = request.param
    root = tmp_path_factory.mktemp(f"sam-{name}")
    ctx = root / "context"
    ctx.mkdir()
    if name == "hair":
        good, expected, bad = prepare_hair(ctx)
    else:
        model_dir = request.getfixturevalue("churn_model_dir")  # trains when needed
        good, expected, bad = prepare_churn(ctx, model_dir)
    text = TEMPLATES[name].read_text(encoding="utf-8")
    assert "DockerTag: v1" in text
    (ctx / "template.yaml").write_text(text.replace("DockerTag: v1", "DockerTag: pytest"))
    tag = f"{LOGICAL_IDS[name].lower()}:pytest"  # the name sam gives the image
    started = time.monotonic()
    warm = subprocess.run(
        [docker, "build", "--network", "host", "-q", "-t", tag, str(ctx)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert warm.returncode == 0, warm.stdout[-3000:] + warm.stderr[-3000:]
    env = sam_env(root / "sam-home")
    proc = subprocess.run(
        [str(SAM), "build", "--template-file", "template.yaml"],
        cwd=ctx,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (ctx / ".aws-sam" / "build" / "template.yaml").is_file()
    print(f"{name}: docker build + sam build {time.monotonic() - started:.1f} s")
    return Built(name, ctx, env, good, expected, bad)


def check_answer(built: Built, answer: dict) -> None:
    assert set(answer) == set(built.expected), answer
    for key, want in built.expected.items():
        if isinstance(want, float):
            assert answer[key] == pytest.approx(want, abs=1e-6 if built.name == "hair" else 1e-9)
        elif isinstance(want, dict):
            assert answer[key] == pytest.approx(want, abs=1e-6)
        else:
            assert answer[key] == want, key


def local_invoke(built: Built, event: dict) -> dict:
    (built.context / "event.json").write_text(json.dumps(event), encoding="utf-8")
    proc = subprocess.run(
        [str(SAM), "local", "invoke", LOGICAL_IDS[built.name], "--event", "event.json"]
        + ["--skip-pull-image"],
        cwd=built.context,
        env=built.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.docker
def test_sam_local_invoke_answers_and_refuses(built):
    started = time.monotonic()
    check_answer(built, local_invoke(built, built.good))
    refused = local_invoke(built, built.bad)
    assert refused["statusCode"] == 400 and refused["error"], refused
    print(f"{built.name}: two sam local invokes {time.monotonic() - started:.1f} s")


def post(url: str, event: dict) -> tuple[int, str]:
    req = urllib.request.Request(
        url, data=json.dumps(event).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.mark.docker
def test_sam_local_start_api_serves_post_predict(built):
    port = free_port()
    started = time.monotonic()
    api = subprocess.Popen(
        [str(SAM), "local", "start-api", "--host", "127.0.0.1", "--port", str(port)]
        + ["--skip-pull-image"],
        cwd=built.context,
        env=built.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:  # sam needs a few seconds to read the template and listen
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert api.poll() is None, api.stdout.read()[-3000:]
            assert time.monotonic() < deadline, "sam local start-api never listened"
            time.sleep(0.2)
        status, body = post(f"http://127.0.0.1:{port}/predict", built.good)
        assert status == 200, body
        check_answer(built, json.loads(body))
        status, body = post(f"http://127.0.0.1:{port}/predict", built.bad)
        assert status == 400 and json.loads(body)["error"], body
        status, _ = post(f"http://127.0.0.1:{port}/other", built.good)
        assert status in (403, 404)  # no route but POST /predict
    finally:
        api.send_signal(signal.SIGINT)  # sam stops its containers on Ctrl-C
        try:
            api.wait(timeout=60)
        except subprocess.TimeoutExpired:
            api.kill()
            api.wait(timeout=30)
    print(f"{built.name}: sam local start-api, 3 requests {time.monotonic() - started:.1f} s")
