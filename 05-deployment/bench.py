"""uv run python 05-deployment/bench.py [--images NAME=TAG[@APP] ...] [--rounds 3] [--cold-starts 5]

Image sizes, cold start and throughput of the churn service's images, each run with
``docker run --network host`` on a free port (README: "Image size, cold start, throughput").

- ``service``: the image (``docker build -t churn-service 05-deployment``);
- ``baseline``: the course's way, built here from ``model/model.bin`` when the tag is
  missing (scikit-learn, a plain FastAPI ``def`` endpoint calling ``predict_proba``);
- any other ``NAME=TAG``; ``NAME=TAG@APP`` runs ``uvicorn APP`` in that image instead of its
  CMD, with the same flags (``fastapi=churn-service@predict:api``: the FastAPI routes
  without the fast lanes).

Every container first answers customer.json, the same for all. Throughput: rounds in
alternating order, each container started afresh, ``--warmup`` then ``--requests`` POST
/predict from ``--clients`` keep-alive connections, then 1,000 customers through
/predict/batch ``--batch-repeats`` times where there is one; medians, every run and the
load average go to ``--output`` and ``bench-runs.json`` next to it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# the load client, a sibling file: found because this script's folder is on sys.path
from bench_client import batch_times, drive, has_batch, http_request, random_customers

from zoomcamp import fileio, script
from zoomcamp.errors import ZoomcampError

HERE = Path(__file__).resolve().parent
REPORT = HERE.parent / "reports" / "05-deployment" / "bench.json"
CUSTOMER = HERE / "customer.json"  # the example customer every container must answer alike
RUNS = "bench-runs.json"  # next to --output: every run's summary, appended (load varies)
BASE = "python:3.13-slim"
# the image's uvicorn limits (limits.SERVER; the service image has them in its CMD)
FLAGS = "--timeout-keep-alive 5 --limit-concurrency 128 --timeout-graceful-shutdown 10"

# --------------------------------------------------------------------------- baseline

BASELINE_APP = """\
import pickle

from fastapi import FastAPI

with open("model.bin", "rb") as f_in:
    pipeline = pickle.load(f_in)

app = FastAPI(title="churn (course style)")


@app.post("/predict")
def predict(customer: dict):
    prob = float(pipeline.predict_proba(customer)[0, 1])
    return {"churn_probability": prob, "churn": prob >= 0.5}


@app.get("/health")
def health():
    return {"status": "ok"}
"""
BASELINE_DOCKERFILE = f"""\
FROM {BASE}
RUN pip install --no-cache-dir fastapi==0.165.0 uvicorn==0.54.0 uvloop==0.22.1 \\
    httptools==0.7.1 scikit-learn==1.9.1
WORKDIR /app
COPY predict.py model.bin ./
ENV PORT=9696
CMD ["sh", "-c", "exec uvicorn predict:app --host 0.0.0.0 --port $PORT --no-access-log {FLAGS}"]
"""


def build_baseline(tag: str, model_bin: Path) -> None:
    if not model_bin.is_file():
        raise ZoomcampError(f"no {model_bin}: run uv run python 05-deployment/build_model.py")
    with tempfile.TemporaryDirectory() as ctx:
        Path(ctx, "predict.py").write_text(BASELINE_APP, encoding="utf-8")
        Path(ctx, "Dockerfile").write_text(BASELINE_DOCKERFILE, encoding="utf-8")
        shutil.copy(model_bin, Path(ctx, "model.bin"))
        print(f"building the course-style baseline {tag} ...", file=sys.stderr)
        docker("build", "--network", "host", "-q", "-t", tag, ctx)


def docker(*args: str, timeout: float = 1200) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise ZoomcampError(f"docker {args[0]} failed: {proc.stderr.strip()[-500:]}")
    return proc.stdout.strip()


def image_size(tag: str) -> int | None:
    proc = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Size}}", tag], capture_output=True, text=True
    )
    return int(proc.stdout) if proc.returncode == 0 else None


# --------------------------------------------------------------------------- containers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_health(port: int, name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
            raise ZoomcampError(f"{name} never answered /health: {logs.stderr[-500:]}")
        time.sleep(0.01)


@contextmanager
def container(image: str):
    """``docker run`` the image (``TAG`` or ``TAG@APP``) on the host network at a free port;
    yields (port, seconds from ``docker run`` to the first 200 on /health); always removed."""
    tag, _, app = image.partition("@")
    port, name = free_port(), f"churn-bench-{os.getpid()}-{free_port()}"
    command = ["uvicorn", app, "--host", "0.0.0.0", "--port", str(port), *FLAGS.split()]
    t0 = time.perf_counter()
    try:
        docker("run", "-d", "--rm", "--name", name, "--network", "host", "-e", f"PORT={port}",
               tag, *(command if app else []))  # fmt: skip
        wait_health(port, name)
        yield port, time.perf_counter() - t0
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)


def answer_example(port: int) -> float:
    """The churn probability the container at ``port`` gives customer.json."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/predict",
        data=CUSTOMER.read_bytes(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["churn_probability"]


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    parser.add_argument(
        "--images",
        nargs="+",
        default=["service=churn-service", "baseline=churn-baseline:bench"],
        help="NAME=TAG[@APP] to compare",
    )
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds")
    parser.add_argument("--cold-starts", type=int, default=5, help="cold starts per image")
    parser.add_argument("--requests", type=int, default=20_000, help="POST /predict per run")
    parser.add_argument("--clients", type=int, default=32, help="connections")
    parser.add_argument("--warmup", type=int, default=1_000, help="warm-up requests")
    parser.add_argument(
        "--batch-repeats", type=int, default=20, help="timed 1,000-customer batches"
    )
    parser.add_argument("--model", type=Path, default=HERE / "model", help="model folder")
    parser.add_argument("--output", type=Path, default=REPORT, help="results")
    args = parser.parse_args(argv)
    if args.requests < 100 or args.clients < 1 or args.rounds < 0 or args.cold_starts < 0:
        raise ZoomcampError("--requests must be >= 100, --clients >= 1, counts >= 0")
    images = dict(item.split("=", 1) for item in args.images if "=" in item)
    if len(images) != len(args.images):
        raise ZoomcampError("--images takes NAME=TAG pairs")
    if shutil.which("docker") is None:
        raise ZoomcampError("no docker on PATH")
    try:
        allowed = json.loads((args.model / "model.json").read_text(encoding="utf-8"))["allowed"]
    except (OSError, ValueError, KeyError) as exc:
        raise ZoomcampError(
            f"no usable {args.model}/model.json ({exc}): run build_model.py"
        ) from None
    tags = {name: image.partition("@")[0] for name, image in images.items()}
    for name, tag in tags.items():
        if image_size(tag) is None:
            if name != "baseline":
                raise ZoomcampError(f"no image {tag} (build it first)")
            build_baseline(tag, args.model / "model.bin")

    customers = random_customers(2_000, allowed)
    bodies = [json.dumps(c).encode() for c in customers]
    base = image_size(BASE)
    result: dict[str, Any] = {
        "load_before": load(),
        "cpus": os.cpu_count(),
        "images": images,
        "sizes_mb": {
            name: {
                "size": round(image_size(tag) / 1e6, 1),
                "over_base": round((image_size(tag) - base) / 1e6, 1),
            }
            for name, tag in tags.items()
        }
        | {"base": {"size": round(base / 1e6, 1), "over_base": 0.0}},
        "cold_start_s": {name: [] for name in images},
        "runs": {name: [] for name in images},
        "batch": {},
        "example": {},
    }
    order = list(images)
    for name in order:  # the same answer everywhere, or the figures compare nothing
        with container(images[name]) as (port, _):
            result["example"][name] = answer_example(port)
    if max(result["example"].values()) - min(result["example"].values()) > 1e-9:
        raise ZoomcampError(f"the images answer customer.json differently: {result['example']}")
    print(f"customer.json: {result['example']}", file=sys.stderr)
    for i in range(args.cold_starts):
        for name in order if i % 2 == 0 else order[::-1]:
            with container(images[name]) as (_, seconds):
                result["cold_start_s"][name].append(round(seconds, 3))
        print(f"cold start {i + 1}: {result['cold_start_s']}", file=sys.stderr)
    for i in range(args.rounds):
        for name in order if i % 2 == 0 else order[::-1]:
            with container(images[name]) as (port, _):
                reqs = [
                    http_request("/predict", bodies[j % len(bodies)], port)
                    for j in range(args.requests)
                ]
                asyncio.run(drive(port, reqs[: args.warmup], args.clients))
                run = asyncio.run(drive(port, reqs, args.clients))
                run["load"] = load()
                result["runs"][name].append(run)
                print(
                    f"round {i + 1} {name:>9}: {run['req_per_s']:8.1f} req/s  p50 "
                    f"{run['p50_ms']:.2f} ms  p99 {run['p99_ms']:.2f} ms  errors {run['errors']}"
                    f"  load {run['load'][0]}",
                    file=sys.stderr,
                )
                if has_batch(port):
                    batch = batch_times(port, customers[:1000], args.batch_repeats)
                    result["batch"].setdefault(name, []).append(batch)
    result["load_after"] = load()
    summarise(result)
    result["at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    fileio.write_json(args.output, result)
    runs_path = args.output.parent / RUNS
    runs = json.loads(runs_path.read_text(encoding="utf-8")) if runs_path.is_file() else []
    runs.append({k: result[k] for k in ("at", "load_before", "load_after", "summary")})
    fileio.write_json(runs_path, runs)
    print(f"saved {args.output} (+ {RUNS}: {len(runs)} runs)")


def summarise(result: dict[str, Any]) -> None:
    """Medians per image, printed; ``result["summary"]``."""
    summary = {}
    for name, runs in result["runs"].items():
        starts = result["cold_start_s"][name]
        row = {
            "size_mb": result["sizes_mb"][name]["size"],
            "over_base_mb": result["sizes_mb"][name]["over_base"],
            "cold_start_median_s": round(statistics.median(starts), 3) if starts else None,
        }
        if runs:
            row |= {
                k: round(statistics.median(r[k] for r in runs), 3)
                for k in ("req_per_s", "p50_ms", "p99_ms")
            } | {
                "errors": sum(r["errors"] for r in runs),
                "req_per_s_all": [r["req_per_s"] for r in runs],
            }
        if name in result["batch"]:
            row["batch_median_ms"] = statistics.median(
                b["median_ms"] for b in result["batch"][name]
            )
        summary[name] = row
        print(f"{name:>9}: {json.dumps(row)}")
    print(
        f"base {BASE}: {result['sizes_mb']['base']['size']} MB; load {result['load_before']} -> {result['load_after']}"
    )
    result["summary"] = summary


if __name__ == "__main__":
    script.run(main)
