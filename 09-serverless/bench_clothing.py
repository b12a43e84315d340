"""uv run python 09-serverless/bench_clothing.py [--runs 3] [--n 100] [--no-build]

The clothing image (``build.py --model clothing``, from a scratch copy of the context):
the handler's agreement with 08's PyTorch model on every clothing test image (in process),
the image's size, cold start (``docker run`` to the first answer), warm latency of the
workshop's pants image (the handler alone in the container, and through the emulator).
Writes ``reports/09-serverless/bench-clothing.json``; README, "The clothing model on Lambda".
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import build
import numpy as np

from zoomcamp import reports, script
from zoomcamp.errors import ZoomcampError

MODULE = "09-serverless"
PANTS = "test/pants/4aabd82c-82e1-4181-a84d-d0c6e550d26d.jpg"  # test.py --clothing

IN_CONTAINER = r"""
import base64, json, sys, time
t0 = time.perf_counter()
import lambda_function as f
init = time.perf_counter() - t0
event = {"image_b64": base64.b64encode(open("/tmp/img.jpg", "rb").read()).decode()}
answer = f.lambda_handler(event, None)
for _ in range(10):
    f.lambda_handler(event, None)
times = []
for _ in range(int(sys.argv[1])):
    t = time.perf_counter(); f.lambda_handler(event, None); times.append(time.perf_counter() - t)
print(json.dumps({"init_s": init, "times": times, "answer": answer}))
"""


def loadavg() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def summary_ms(seconds: list[float]) -> dict:
    ms = sorted(v * 1000 for v in seconds)
    return {"n": len(ms), "p50_ms": statistics.median(ms), "p90_ms": ms[int(0.9 * (len(ms) - 1))]}


def agreement(model_dir: Path, served: Path) -> dict:
    """The handler (``lambda_function`` on the served copy) against 08's PyTorch model
    (checkpoint, 08's decoding and normalisation, ``torch.softmax``) on every test image."""
    import importlib

    import torch

    from zoomcamp.clothing import data as cdata
    from zoomcamp.clothing import model_torch as mt

    os.environ["MODEL_PATH"] = str(served)
    lf = importlib.import_module("lambda_function")
    model, backbone, _ = mt.load_trained(model_dir / mt.CHECKPOINT_FILE)
    root = cdata.data_root()
    items = cdata.list_split(root, "test")
    pixels, labels = mt.load_pixels(root, items)
    with torch.inference_mode():
        logits = torch.cat([model(mt.normalise(b, backbone)) for b in pixels.split(64)]).double()
    probs = torch.softmax(logits, 1).numpy()
    same, dp, dz, correct = 0, 0.0, 0.0, 0
    for (rel, label), z, p in zip(items, logits.numpy(), probs, strict=True):
        got = lf.lambda_handler(
            {"image_b64": base64.b64encode((root / rel).read_bytes()).decode()}, None
        )
        same += got["label"] == cdata.CLASSES[int(np.argmax(z))]
        correct += got["label"] == cdata.CLASSES[label]
        dp = max(dp, float(np.abs(np.array(list(got["probabilities"].values())) - p).max()))
        dz = max(dz, float(np.abs(np.array(list(got["logits"].values())) - z).max()))
    return {
        "images": len(items),
        "same_top_class": same,
        "max_abs_probability_diff": dp,
        "max_abs_logit_diff": dz,
        "handler_test_accuracy": round(correct / len(items), 4),
    }


def measure(tag: str, runs: int, n: int, network: str | None) -> dict:
    from zoomcamp.clothing import data as cdata

    image = cdata.data_root() / PANTS
    event = {"image_b64": base64.b64encode(image.read_bytes()).decode()}
    result = {"tag": tag, "image": PANTS, "load_before": loadavg(), "cpus": os.cpu_count()}
    result["image_mb"] = build.image_size(tag) / 1e6
    result["base_mb"] = build.image_size("public.ecr.aws/lambda/python:3.13") / 1e6
    cold, e2e = [], []
    for i in range(runs):
        t0 = time.perf_counter()
        with build.running(tag, network=network) as (_, endpoint):
            answer = build.invoke_when_ready(endpoint, event)
            cold.append(time.perf_counter() - t0)
            if i == runs - 1:
                for _ in range(n):
                    t = time.perf_counter()
                    build.invoke(endpoint, event)
                    e2e.append(time.perf_counter() - t)
    result["answer"] = answer
    result["cold_start_s"] = {"runs": cold, "median": statistics.median(cold)}
    result["warm_emulator"] = summary_ms(e2e)
    cmd = ["docker", "run", "--rm", "--network", "none", "-v", f"{image}:/tmp/img.jpg:ro"]
    cmd += ["--entrypoint", "python", tag, "-c", IN_CONTAINER, str(n)]
    inner = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    if inner["answer"] != answer:
        raise ZoomcampError("the handler and the emulator answer the pants image differently")
    result["warm_handler"] = summary_ms(inner["times"])
    result["handler_module_import_s"] = inner["init_s"]
    result["load_after"] = loadavg()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    parser.add_argument("--tag", default=build.TAGS[build.CLOTHING], help="image tag")
    parser.add_argument("--runs", type=int, default=3, help="cold starts (new container each)")
    parser.add_argument("--n", type=int, default=100, help="warm invocations")
    parser.add_argument("--no-build", action="store_true", help="measure the existing image")
    parser.add_argument("--network", default=build.NETWORK, help="docker --network")
    args = parser.parse_args(argv)
    ok, why = build.docker_available()
    if not ok:
        raise ZoomcampError(why)
    source = build.source_model_dir(build.CLOTHING)
    with tempfile.TemporaryDirectory(prefix="clothing-lambda-ctx-") as scratch:
        context = build.prepare_context(Path(scratch), source)
        served = next((context / "model").glob("*.onnx"))
        result = {"agreement_with_pytorch": agreement(source, served)}
        print(json.dumps(result, indent=1), file=sys.stderr)
        if not args.no_build:
            build.docker_build(context, args.tag, args.network, quiet=True)
    result.update(measure(args.tag, args.runs, args.n, args.network))
    path = reports.save_metrics(MODULE, "bench-clothing", result)
    keys = ("image_mb", "cold_start_s", "warm_handler", "warm_emulator", "load_after")
    print(json.dumps({k: result[k] for k in keys}, indent=1), file=sys.stderr)
    print(path)


if __name__ == "__main__":
    script.run(main)
