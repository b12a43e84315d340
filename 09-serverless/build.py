"""uv run python 09-serverless/build.py [--tag hair-classifier:v1]

The make-like path from a fresh clone to the Lambda image:

1. if ``09-serverless/model/hair_classifier.onnx`` is missing, export it with
   08-deep-learning's ``export.py`` (training the Keras model with ``train.py`` first when
   ``<models>/hair/hair-model.keras`` does not exist either);
2. check the ONNX file against the sha256 in its metadata JSON;
3. ``docker build -t TAG 09-serverless``.

``--tiny-model DIR`` writes a tiny stand-in ONNX model (same input/output names and
layout, three weights, NOT the hair classifier) for smoke tests of the container.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

from zoomcamp import io, paths
from zoomcamp.errors import ZoomcampError

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE / "model"
DL = paths.REPO_ROOT / "08-deep-learning"
TAG = "hair-classifier:v1"
CONTEXT_FILES = [
    "Dockerfile",
    ".dockerignore",
    "pyproject.toml",
    "uv.lock",
    "hair_lambda.py",
    "lambda_function.py",
]
NETWORK = "host"  # the engine here has no bridge network; "default" elsewhere also works


def keras_model_path() -> Path:
    return paths.models_dir() / "hair" / "hair-model.keras"


def write_tiny_model(out_dir: Path) -> Path:
    """A 3-weight ONNX model with the real one's interface: input ``input`` [N,3,200,200]
    -> global average pool -> Gemm -> ``output`` [N,1] (a logit). For tests only."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.array([[2.0], [-1.0], [0.5]], dtype=np.float32), "w")
    b = numpy_helper.from_array(np.array([0.1], dtype=np.float32), "b")
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"]),
            helper.make_node("Gemm", ["flat", "w", "b"], ["output"]),
        ],
        "tiny_hair",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 200, 200])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 1])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "hair_classifier.onnx"
    with io.atomic_path(path) as tmp:
        onnx.save(model, str(tmp))
    io.write_json(
        out_dir / "hair_classifier.json",
        {
            "tiny_stand_in": True,
            "input_name": "input",
            "output_name": "output",
            "input_shape": [None, 3, 200, 200],
            "output": "logit",
            "classes": ["curly", "straight"],
            "positive_class": "straight",
            "onnx_sha256": io.sha256_file(path),
        },
    )
    return path


def ensure_model(model_dir: Path, train_args: list[str]) -> Path:
    """The exported ONNX model in ``model_dir``, exporting (and training) when missing."""
    onnx_path = model_dir / "hair_classifier.onnx"
    if not onnx_path.is_file():
        if not (DL / "export.py").is_file():
            raise ZoomcampError(f"no {onnx_path} and no 08-deep-learning/export.py to make it")
        if not keras_model_path().is_file():
            print(
                f"no {keras_model_path()}: training it (08-deep-learning/train.py)", file=sys.stderr
            )
            _run([sys.executable, str(DL / "train.py"), *train_args])
        _run(
            [
                sys.executable,
                str(DL / "export.py"),
                "--model",
                str(keras_model_path()),
                "--output-dir",
                str(model_dir),
            ]
        )
    verify_model(onnx_path)
    return onnx_path


def verify_model(onnx_path: Path) -> dict:
    meta_path = onnx_path.with_suffix(".json")
    if not meta_path.is_file():
        raise ZoomcampError(f"{meta_path} is missing (export the model again)")
    meta = json.loads(meta_path.read_text())
    if meta.get("onnx_sha256") and meta["onnx_sha256"] != io.sha256_file(onnx_path):
        raise ZoomcampError(f"{onnx_path} does not match the sha256 in {meta_path.name}")
    return meta


def docker_build(
    context: Path, tag: str, network: str | None = NETWORK, quiet: bool = False
) -> None:
    docker = shutil.which("docker")
    if not docker:
        raise ZoomcampError("no docker on PATH")
    cmd = [docker, "build", "-t", tag]
    if network:
        cmd += ["--network", network]
    if quiet:
        cmd.append("-q")
    _run([*cmd, str(context)], stdout=sys.stderr)


def docker_available() -> tuple[bool, str]:
    docker = shutil.which("docker")
    if not docker:
        return False, "no docker client on PATH"
    proc = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=30)
    return (proc.returncode == 0, "" if proc.returncode == 0 else "no Docker engine answers")


def image_size(tag: str) -> int:
    """Bytes of the image (what ``docker images`` shows, in 10^6-byte MB)."""
    out = subprocess.run(
        ["docker", "image", "inspect", tag, "--format", "{{.Size}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(tag: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """``docker run`` the image on the host network with the emulator on free ports;
    yields (container name, invocation URL); the container is always removed."""
    port, api_port = free_port(), free_port()
    name = f"hair-lambda-{uuid.uuid4().hex[:8]}"
    cmd = [
        "docker",
        "run",
        "-d",
        "--rm",
        "--name",
        name,
        "--network",
        "host",
        "-e",
        f"AWS_LAMBDA_RIE_ADDRESS=127.0.0.1:{port}",
        "-e",
        f"AWS_LAMBDA_RIE_API_ADDRESS=127.0.0.1:{api_port}",
    ]
    for k, v in (env or {}).items():
        cmd += ["-e", f"{k}={v}"]
    try:
        subprocess.run([*cmd, tag], check=True, capture_output=True, timeout=60)
        yield name, f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def invoke(endpoint: str, event: dict, timeout: float = 60.0) -> dict:
    req = urllib.request.Request(
        endpoint,
        data=json.dumps(event).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def invoke_when_ready(endpoint: str, event: dict, wait: float = 60.0) -> dict:
    """The first answer, retrying while the emulator does not listen yet."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return invoke(endpoint, event)
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def scratch_context(model_dir: Path, dest: Path) -> Path:
    """A copy of this build context with the model files of ``model_dir`` in ``model/``."""
    for name in CONTEXT_FILES:
        shutil.copy2(HERE / name, dest / name)
    (dest / "model").mkdir(exist_ok=True)
    for f in model_dir.glob("hair_classifier.*"):
        shutil.copy2(f, dest / "model" / f.name)
    return dest


def _run(cmd: list[str], **kw) -> None:
    print("+ " + " ".join(cmd), file=sys.stderr)
    proc = subprocess.run(cmd, cwd=paths.REPO_ROOT, **kw)
    if proc.returncode != 0:
        raise ZoomcampError(f"command failed (exit {proc.returncode}): {' '.join(cmd[:3])} ...")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default=TAG, help="image tag")
    parser.add_argument("--network", default=NETWORK, help="docker build --network ('' for none)")
    parser.add_argument("--no-build", action="store_true", help="only make sure the model exists")
    parser.add_argument(
        "--tiny-model",
        type=Path,
        metavar="DIR",
        help="write a tiny stand-in model into DIR and stop (tests)",
    )
    parser.add_argument(
        "--train-args",
        default="",
        help="extra arguments for 08's train.py, e.g. '--limit 64 --epochs 1'",
    )
    args = parser.parse_args(argv)
    try:
        if args.tiny_model:
            print(write_tiny_model(args.tiny_model))
            return 0
        onnx_path = ensure_model(MODEL_DIR, args.train_args.split())
        print(f"model: {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
        if not args.no_build:
            docker_build(HERE, args.tag, args.network or None)
            print(f"built {args.tag}: docker run -it --rm -p 8080:8080 {args.tag}", file=sys.stderr)
    except ZoomcampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
