"""uv run python 09-serverless/build.py [--model pytorch|pytorch-fp32|keras|clothing] [--no-build] [--network NET]

Copies 08's ONNX export (``models/hair-torch-onnx/``; ``--model pytorch-fp32``: its
float32 export ``models/hair-torch-onnx-fp32/``; ``--model keras``:
``models/hair-keras-onnx/``; ``--model clothing``: the clothing model's ONNX file from
``models/clothing-torch/``), verified against its metadata, into the build context's
``model/`` and runs ``docker build -t hair-classifier:v1 09-serverless`` (clothing:
``clothing-classifier:v1``). It never trains: without the model it says to run
``uv run zoomcamp reproduce 08``. ``--tiny-model DIR`` writes a tiny stand-in model (same
interface, NOT the hair classifier) for tests.
"""

from __future__ import annotations

import contextlib
import json
import os
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

from zoomcamp import artifacts, fileio, paths, script, settings
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import model_keras as hair_model
from zoomcamp.hair import model_torch as hair_torch

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE / "model"
TAG = "hair-classifier:v1"
CLOTHING = "clothing"
TAGS = {CLOTHING: "clothing-classifier:v1"}  # the other models: TAG
# docker's --network for build and run: Docker's own unless set (README, "Without NAT")
NETWORK = os.environ.get("ZOOMCAMP_DOCKER_NETWORK") or None


def context_files() -> list[str]:
    """The files of this folder the image needs: the ones ``.dockerignore`` lets in."""
    names = ["Dockerfile", ".dockerignore"]
    for line in (HERE / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("!") and "/" not in line:
            names.append(line[1:])
    return names


# 08's exports by track; the first is the default. "clothing": zoomcamp.clothing.train_torch's
# NAME (that module imports torch), the model folder whose metadata's "onnx" names the export
EXPORTS = {
    "pytorch": hair_torch.ONNX_NAME,
    "pytorch-fp32": hair_torch.ONNX_FP32_NAME,
    "keras": hair_model.ONNX_NAME,
    CLOTHING: "clothing-torch",
}
DEFAULT_EXPORT = "pytorch"


def source_model_dir(track: str = DEFAULT_EXPORT) -> Path:
    """08's export of ``track``: ``models/hair-torch-onnx/``, ``hair-torch-onnx-fp32/``,
    ``hair-keras-onnx/`` or ``clothing-torch/`` (under ``.fast/models/`` in fast mode)."""
    if track not in EXPORTS:
        raise ZoomcampError(f"unknown model {track!r} (one of {', '.join(EXPORTS)})")
    return paths.model_dir(EXPORTS[track])


def default_context() -> Path:
    """``09-serverless/``, or its scratch copy ``.fast/09-serverless/`` in fast mode."""
    return paths.FAST_ROOT / HERE.name if settings.fast_mode() else HERE


def prepare_context(context: Path | None = None, source: Path | None = None) -> Path:
    """A build context with the verified model in ``model/``: the context files are copied
    first when ``context`` is not this folder. Returns the context."""
    context = default_context() if context is None else Path(context)
    source = source_model_dir() if source is None else Path(source)
    if not (source / artifacts.METADATA_FILE).is_file():
        raise ZoomcampError(
            f"no model at {source}: run `uv run zoomcamp reproduce 08` "
            "(it trains and exports the hair model)"
        )
    if artifacts.verify(source, check_versions=False).get("tiny_stand_in"):
        raise ZoomcampError(f"{source} is the tiny test stand-in, not the hair model")
    if context.resolve() != HERE:
        context.mkdir(parents=True, exist_ok=True)
        for name in context_files():
            if (HERE / name).is_file():
                shutil.copy2(HERE / name, context / name)
    model = context / "model"
    if "onnx" in artifacts.read(source):  # a trained model's folder holding its export
        meta = copy_onnx(source, model)
    else:
        meta = artifacts.copy(source, model)
    keep = {*meta["files"], artifacts.METADATA_FILE, ".gitignore", "README.md"}
    for stale in model.glob("*.onnx*"):  # another model's, or a .onnx.data of an earlier export
        if stale.name not in keep:
            stale.unlink()
    return context


# the keys of an ONNX record that the handler reads at the top of the metadata (hair's names)
INTERFACE = ("input_name", "output_name", "output", "input_shape", "output_shape")


def copy_onnx(source: Path, dest: Path) -> dict:
    """The ONNX file named by the ``onnx`` record of ``source``'s metadata (08's clothing
    model: ``clothing-torch.onnx`` beside its checkpoint), verified, into ``dest`` with a
    metadata of that file only: the record's graph names and output at the top, as a hair
    export has them, and ``source`` (the folder's name and files) saying where it came from."""
    meta = artifacts.verify(source, check_versions=False)
    onnx = meta["onnx"]
    name = onnx["file"]
    missing = [k for k in INTERFACE[:3] if k not in onnx]
    if name not in meta["files"] or missing or "preprocessing" not in meta:
        raise ZoomcampError(
            f"{source}: its metadata's onnx record lacks {missing or name}: export it again "
            "(uv run zoomcamp reproduce 08)"
        )
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / name
    if not (target.is_file() and target.read_bytes() == (source / name).read_bytes()):
        with fileio.atomic_path(target) as tmp:
            tmp.write_bytes((source / name).read_bytes())
    served = {k: v for k, v in meta.items() if k not in ("files", "onnx")}
    served.update({k: onnx[k] for k in INTERFACE if k in onnx})
    served.update(
        files={name: meta["files"][name]},
        source={"name": meta["name"], "files": meta["files"]},
    )
    fileio.write_json(dest / artifacts.METADATA_FILE, served)
    return served


def write_tiny_model(out_dir: Path) -> Path:
    """``zoomcamp.hair.model_keras.write_stand_in``: a 3-weight model with the export's interface
    and metadata, NOT the hair classifier (tests of the handler and the container)."""
    return hair_model.write_stand_in(out_dir)


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
def running(
    tag: str,
    env: dict[str, str] | None = None,
    network: str | None = NETWORK,
    cpuset: str | None = None,
) -> Iterator[tuple[str, str]]:
    """``docker run`` the image with the emulator on a free 127.0.0.1 port (``cpuset``: pinned
    to those CPUs, as bench.py measures); yields (container name, invocation URL); the
    container is always removed."""
    port = free_port()
    name = f"hair-lambda-{uuid.uuid4().hex[:8]}"
    cmd = ["docker", "run", "-d", "--rm", "--name", name]
    cmd += ["--cpuset-cpus", cpuset] if cpuset else []
    if network == "host":  # the emulator binds the host's ports: give it free ones
        cmd += ["--network", "host", "-e", f"AWS_LAMBDA_RIE_ADDRESS=127.0.0.1:{port}"]
        cmd += ["-e", f"AWS_LAMBDA_RIE_API_ADDRESS=127.0.0.1:{free_port()}"]
    else:
        cmd += [*(["--network", network] if network else []), "-p", f"127.0.0.1:{port}:8080"]
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


def _run(cmd: list[str], **kw) -> None:
    print("+ " + " ".join(cmd), file=sys.stderr)
    proc = subprocess.run(cmd, cwd=paths.REPO_ROOT, **kw)
    if proc.returncode != 0:
        raise ZoomcampError(f"command failed (exit {proc.returncode}): {' '.join(cmd[:3])} ...")


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    parser.add_argument(
        "--tag", help=f"image tag (default: {TAG}; --model clothing: {TAGS[CLOTHING]})"
    )
    parser.add_argument(
        "--model", choices=list(EXPORTS), default=DEFAULT_EXPORT, help="which export to ship"
    )
    parser.add_argument("--no-build", action="store_true", help="only copy the model")
    parser.add_argument(
        "--network",
        default=NETWORK,
        help="docker build --network, e.g. host where build containers cannot reach PyPI "
        "(default: $ZOOMCAMP_DOCKER_NETWORK, else Docker's own)",
    )
    parser.add_argument("--tiny-model", type=Path, metavar="DIR", help="write a tiny stand-in")
    args = parser.parse_args(argv)
    if args.tiny_model:
        print(write_tiny_model(args.tiny_model))
        return
    tag = args.tag or TAGS.get(args.model, TAG)
    context = prepare_context(source=source_model_dir(args.model))
    for name in artifacts.read(context / "model")["files"]:
        path = context / "model" / name
        print(f"model: {path} ({path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    if not args.no_build:
        docker_build(context, tag, args.network or None)
        print(f"built {tag}: docker run -it --rm -p 8080:8080 {tag}", file=sys.stderr)


if __name__ == "__main__":
    script.run(main)
