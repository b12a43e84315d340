"""uv run python 09-serverless/bench.py [--runs 5] [--n 200] [--no-build] [--model-dir DIR]

Builds the Lambda image with 08's export and measures its size, cold start (``docker run``
to the first answer), warm latency (the handler alone in the container and through the
emulator), and memory peak; writes ``reports/09-serverless/bench.json`` and appends a line
to ``bench-runs.json``. What each figure means: README, "Performance".
"""

from __future__ import annotations

import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import build
import hair_lambda as hl
import numpy as np
from fetch import MAX_PIXELS
from PIL import Image

from zoomcamp import datasets, fileio, paths, reports, script
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import model_keras as hair_model

MODULE = "09-serverless"
IMAGE = "test/straight/01b8ef4743e2a5d1b3e888ef18acdfd0.jpg"

IN_CONTAINER = r"""
import base64, json, os, sys, time
t0 = time.perf_counter()
import lambda_function as f
init = time.perf_counter() - t0
event = {"image_b64": base64.b64encode(open("/tmp/img.jpg", "rb").read()).decode()}
for _ in range(10):
    f.lambda_handler(event, None)
times = []
for _ in range(int(sys.argv[1])):
    t = time.perf_counter(); f.lambda_handler(event, None); times.append(time.perf_counter() - t)
import hair_lambda as hl
raw = open("/tmp/img.jpg", "rb").read()
img = f.open_image(raw)
x = f.preprocess(img)
run = lambda: f.session.run([f.output_name], {f.input_name: x})
parts = {}
for name, fn in (("decode", lambda: f.open_image(raw)), ("preprocess", lambda: f.preprocess(img)),
                 ("onnx_1_thread", run)):
    ts = []
    for _ in range(int(sys.argv[1])):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    parts[name] = sorted(ts)[len(ts) // 2] * 1000
# memory: the largest image the limits allow (made on the host: /tmp/big.jpg)
import resource
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
data = open("/tmp/big.jpg", "rb").read()
before = rss()
# what a URL's bytes go through after the download (inline, this size is over the limit)
answer = f.predict(f.open_image(data))
after = rss()
large = {"pixels": f.open_image(data).size, "jpeg_mb": len(data) / 1e6, "answered": "label" in answer,
         "maxrss_before_mb": before, "maxrss_after_mb": after}
os.environ["ORT_THREADS"] = "0"  # ORT's default thread pool (one thread per core), for comparison
default_threads = hl.HairClassifier(hl.default_model_path())
for _ in range(10):
    default_threads.logits(x)
ts = []
for _ in range(int(sys.argv[1])):
    t = time.perf_counter(); default_threads.logits(x); ts.append(time.perf_counter() - t)
parts["onnx_ort_default_threads"] = sorted(ts)[len(ts) // 2] * 1000
print(json.dumps({"init_s": init, "times": times, "parts_p50_ms": parts, "large_image": large}))
"""

PEAK = r"""
import glob, json, os
out = {}
for d in glob.glob("/proc/[0-9]*"):
    if d == f"/proc/{os.getpid()}":
        continue
    try:
        cmd = open(d + "/cmdline", "rb").read().replace(b"\0", b" ").decode()
        if "awslambdaric" in cmd:
            st = dict(l.split(":", 1) for l in open(d + "/status") if ":" in l)
            out = {"vmhwm_kb": int(st["VmHWM"].split()[0]), "vmrss_kb": int(st["VmRSS"].split()[0])}
    except OSError:
        pass
for f in ("/sys/fs/cgroup/memory.peak", "/sys/fs/cgroup/memory/memory.max_usage_in_bytes"):
    try:
        out["cgroup_peak_bytes"] = int(open(f).read()); break
    except (OSError, ValueError):
        pass
print(json.dumps(out))
"""


def loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def summary_ms(seconds: list[float]) -> dict:
    ms = [v * 1000 for v in seconds]
    return {
        "n": len(ms),
        "p50_ms": pct(ms, 0.5),
        "p90_ms": pct(ms, 0.9),
        "p99_ms": pct(ms, 0.99),
        "mean_ms": statistics.fmean(ms),
        "min_ms": min(ms),
        "max_ms": max(ms),
    }


def model_info(model_dir: Path) -> dict:
    path = model_dir / hair_model.ONNX_FILE
    meta = hl.read_metadata(model_dir)
    return {
        "path": str(path),
        "mb": path.stat().st_size / 1e6,
        "onnx_sha256": meta["files"].get(path.name),
        "training": meta.get("training"),
        "tiny_stand_in": bool(meta.get("tiny_stand_in")),
    }


def layer_sizes(tag: str) -> list[dict]:
    out = subprocess.run(
        ["docker", "history", "--no-trunc", "--format", "{{json .}}", tag],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [
        {"size": r["Size"], "step": r["CreatedBy"][-90:]}
        for r in rows
        if r["Size"] not in ("0B", "0")
    ]


def bench(tag: str, runs: int, n: int, model_dir: Path, network: str | None) -> dict:
    image = datasets.unpack("hair-type") / "data" / IMAGE
    event = {"image_b64": base64.b64encode(image.read_bytes()).decode()}
    result: dict = {
        "tag": tag,
        "image": IMAGE,
        "image_bytes": image.stat().st_size,
        "load_before": loadavg(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    result["size"] = {
        "image_mb": build.image_size(tag) / 1e6,
        "base_mb": build.image_size("public.ecr.aws/lambda/python:3.13") / 1e6,
        "model": model_info(model_dir),
        "layers": layer_sizes(tag),
    }
    print(f"size: {result['size']['image_mb']:.1f} MB", file=sys.stderr)

    cold, answers = [], []
    for i in range(runs):
        t0 = time.perf_counter()
        with build.running(tag, network=network) as (name, endpoint):
            answers.append(build.invoke_when_ready(endpoint, event))
            cold.append(time.perf_counter() - t0)
            print(f"cold start {i + 1}/{runs}: {cold[-1]:.2f} s", file=sys.stderr)
            if i == runs - 1:  # the last container also gives the warm figures and memory
                e2e = []
                for _ in range(n):
                    t = time.perf_counter()
                    build.invoke(endpoint, event)
                    e2e.append(time.perf_counter() - t)
                peak = subprocess.run(
                    ["docker", "exec", name, "python", "-c", PEAK],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
    if any(a != answers[0] for a in answers):
        raise ZoomcampError("the cold-start answers differ between containers")
    result["answer"] = answers[0]
    result["cold_start_s"] = {
        "runs": cold,
        "median": statistics.median(cold),
        "min": min(cold),
        "max": max(cold),
    }
    result["warm_emulator"] = summary_ms(e2e)
    mem = json.loads(peak.strip().splitlines()[-1])
    result["memory"] = {
        "function_vmhwm_mb": mem.get("vmhwm_kb", 0) / 1024,
        "function_vmrss_mb": mem.get("vmrss_kb", 0) / 1024,
        "container_cgroup_peak_mb": mem.get("cgroup_peak_bytes", 0) / 2**20 or None,
    }

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.jpg"
        side = int(MAX_PIXELS**0.5) - 1  # the largest square image the pixel limit allows
        noise = np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8)
        Image.fromarray(noise).resize((side, side)).save(big, "JPEG", quality=70)
        big.chmod(0o644)
        proc = subprocess.run(
            [
                "docker",
                "run",
                "--rm",
                "--network",
                "none",  # the handler alone: no network needed
                "-v",
                f"{image}:/tmp/img.jpg:ro",
                "-v",
                f"{big}:/tmp/big.jpg:ro",
                "--entrypoint",
                "python",
                tag,
                "-c",
                IN_CONTAINER,
                str(n),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    inner = json.loads(proc.stdout.strip().splitlines()[-1])
    result["warm_handler"] = summary_ms(inner["times"])
    result["handler_module_import_s"] = inner["init_s"]
    result["warm_handler_parts_p50_ms"] = inner["parts_p50_ms"]
    result["memory"]["large_image_in_handler"] = inner["large_image"]
    result["load_after"] = loadavg()
    return result


def append_run(result: dict) -> Path:
    """One line per run in ``bench-runs.json``: the shared machine's load moves the timings,
    so the README quotes the spread over runs, not one lucky (or unlucky) run."""
    path = paths.reports_dir() / MODULE / "bench-runs.json"
    runs = json.loads(path.read_text()) if path.is_file() else []
    runs.append(
        {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "load_before": result["load_before"],
            "load_after": result["load_after"],
            "model_sha256": result["size"]["model"].get("onnx_sha256"),
            "image_mb": round(result["size"]["image_mb"], 1),
            "cold_start_median_s": round(result["cold_start_s"]["median"], 3),
            "warm_handler_p50_ms": round(result["warm_handler"]["p50_ms"], 2),
            "warm_emulator_p50_ms": round(result["warm_emulator"]["p50_ms"], 2),
            "onnx_1_thread_p50_ms": round(result["warm_handler_parts_p50_ms"]["onnx_1_thread"], 2),
            "onnx_default_threads_p50_ms": round(
                result["warm_handler_parts_p50_ms"]["onnx_ort_default_threads"], 2
            ),
            "function_vmhwm_mb": round(result["memory"]["function_vmhwm_mb"], 1),
        }
    )
    return fileio.write_json(path, runs)


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    parser.add_argument("--tag", default=build.TAG, help="image to benchmark")
    parser.add_argument("--runs", type=int, default=5, help="cold starts (new container each)")
    parser.add_argument("--n", type=int, default=200, help="warm invocations")
    parser.add_argument("--no-build", action="store_true", help="benchmark the existing image")
    parser.add_argument(
        "--model-dir", type=Path, help="export to build with (default: models/hair-torch-onnx)"
    )
    parser.add_argument(
        "--network",
        default=build.NETWORK,
        help="docker --network for build and run, e.g. host where build containers cannot "
        "reach PyPI (default: $ZOOMCAMP_DOCKER_NETWORK, else Docker's own)",
    )
    args = parser.parse_args(argv)
    ok, why = build.docker_available()
    if not ok:
        raise ZoomcampError(why)
    with tempfile.TemporaryDirectory(prefix="hair-lambda-ctx-") as scratch:
        # another model folder: built from a scratch copy of the context
        context = build.prepare_context(
            None if args.model_dir is None else Path(scratch), args.model_dir
        )
        if not args.no_build:
            build.docker_build(context, args.tag, args.network, quiet=True)
        result = bench(args.tag, args.runs, args.n, context / "model", args.network)
    path = reports.save_metrics(MODULE, "bench", result)
    append_run(result)
    keys = ("size", "cold_start_s", "warm_handler", "warm_emulator", "memory")
    print(json.dumps({k: result[k] for k in keys}, indent=1), file=sys.stderr)
    print(path)


if __name__ == "__main__":
    script.run(main)
