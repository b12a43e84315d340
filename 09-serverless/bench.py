"""uv run python 09-serverless/bench.py [--runs 5] [--rounds 2] [--images project,draft,fp32,course]

Builds images with the same hair model and measures each the same way, in one run:
``project`` (this folder's image, 08's optimised export ``models/hair-torch-onnx``),
``draft`` (the same with ``jpeg_draft`` on), ``fp32`` (the project's image with
``models/hair-torch-onnx-fp32``) and ``course`` (the workshop's way, ``course-style/``,
with the fp32 model). Figures: image size, cold start (``docker run`` to the first answer),
warm answers over the hair test images through the emulator and in process, memory peak;
and, in process here, what JPEG draft decoding changes. Writes ``reports/09-serverless/bench.json`` and a line of ``bench-runs.json``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import bench_container
import build
import hair_lambda as hl
import numpy as np
import preprocess as pp
from PIL import Image

from zoomcamp import datasets, fileio, paths, reports, script
from zoomcamp.errors import ZoomcampError

MODULE = "09-serverless"
HERE = Path(__file__).resolve().parent
# draft: the project's image with ``jpeg_draft`` set in its copy of the metadata
IMAGES = ("project", "draft", "fp32", "course")
TAGS = {name: f"hair-bench:{name}" for name in IMAGES}
BASE = "public.ecr.aws/lambda/python:3.13"
# the cold-start floor: the base image with a handler that imports nothing
FLOOR_TAG = "hair-bench:floor"
FLOOR = f"""FROM {BASE}
RUN echo 'def lambda_handler(event, context): return {{}}' > ${{LAMBDA_TASK_ROOT}}/lambda_function.py
CMD ["lambda_function.lambda_handler"]
"""
ONNX_FILE = "hair_classifier.onnx"


def loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def test_dir() -> Path:
    return datasets.unpack("hair-type") / "data" / "test"


def draft_agreement(model_dir: Path) -> dict:
    """Draft decoding against 08's exact preprocessing, with the model, on every test image:
    pixel differences of the resized image, tensor and logit differences, decisions."""
    clf = hl.HairClassifier(model_dir / ONNX_FILE)
    exact, draft = (pp.Preprocessing(clf.meta, draft=d) for d in (False, True))
    pixel_mean, pixel_max, tensor_max, logit_diff, same, drafted = [], 0, 0.0, [], 0, 0
    files = sorted(p for p in test_dir().glob("*/*") if p.is_file())
    for path in files:
        data = path.read_bytes()
        a = np.asarray(exact.resized(pp.open_image(data)), dtype=np.int16)
        img = pp.open_image(data)
        b = np.asarray(draft.resized(img), dtype=np.int16)
        drafted += int(img.size != Image.open(path).size)  # decoded at reduced scale
        pixel_mean.append(float(np.abs(a - b).mean()))
        pixel_max = max(pixel_max, int(np.abs(a - b).max()))
        xa, xb = (np.asarray(pre(pp.open_image(data))) for pre in (exact, draft))
        tensor_max = max(tensor_max, float(np.abs(xa - xb).max()))
        la, lb = float(clf.logits(xa)[0]), float(clf.logits(xb)[0])
        logit_diff.append(abs(la - lb))
        same += (la >= 0) == (lb >= 0)
    return {
        "images": len(files),
        "decoded_at_reduced_scale": drafted,
        "pixel_abs_diff_mean": float(np.mean(pixel_mean)),
        "pixel_abs_diff_max": pixel_max,
        "tensor_abs_diff_max": tensor_max,
        "logit_abs_diff_max": max(logit_diff),
        "logit_abs_diff_mean": float(np.mean(logit_diff)),
        "same_decision": same,
    }


def decisions(a: list[float], b: list[float]) -> dict:
    """How often two images' answers over the test images agree (logit sign)."""
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    return {
        "images": len(pairs),
        "same_decision": sum((x >= 0) == (y >= 0) for x, y in pairs),
        "logit_abs_diff_max": max(abs(x - y) for x, y in pairs),
    }


def course_context(scratch: Path, fp32_dir: Path) -> Path:
    """``course-style/`` with the fp32 model beside its ``lambda_function.py``."""
    context = scratch / "course"
    shutil.copytree(HERE / "course-style", context)
    shutil.copy2(fp32_dir / ONNX_FILE, context / ONNX_FILE)
    (context / ONNX_FILE).chmod(0o644)
    return context


def build_all(names: list[str], model_dir: Path, fp32_dir: Path, scratch: Path, network):
    (scratch / "floor").mkdir()
    (scratch / "floor" / "Dockerfile").write_text(FLOOR)
    build.docker_build(scratch / "floor", FLOOR_TAG, network, quiet=True)
    for name in names:
        if name == "course":
            context = course_context(scratch, fp32_dir)
        else:
            source = fp32_dir if name == "fp32" else model_dir
            context = build.prepare_context(scratch / name, source)
            if name == "draft":
                meta = json.loads((context / "model" / "metadata.json").read_text())
                meta["preprocessing"]["jpeg_draft"] = True
                fileio.write_json(context / "model" / "metadata.json", meta).chmod(0o644)
        build.docker_build(context, TAGS[name], network, quiet=True)


def append_run(result: dict) -> Path:
    """One line per run in ``bench-runs.json``: the shared machine's load moves the timings,
    so the README quotes the spread over runs, not one lucky (or unlucky) run."""
    path = paths.reports_dir() / MODULE / "bench-runs.json"
    runs = json.loads(path.read_text()) if path.is_file() else []
    line = {"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "load_before": result["load_before"]}
    for name, r in result["images"].items():
        line[name] = {
            "image_mb": round(r["image_mb"], 1),
            "cold_start_median_s": round(r["cold_start_s"]["median"], 3),
            "in_process_p50_ms": round(r["in_process"]["p50_ms"], 2),
            "emulator_p50_ms": round(r["emulator"]["p50_ms"], 2),
            "function_vmhwm_mb": round(r["function_vmhwm_mb"], 1),
        }
    line["load_after"] = result["load_after"]
    runs.append(line)
    return fileio.write_json(path, runs)


def table(result: dict) -> str:
    rows = [("image MB", lambda r: f"{r['image_mb']:.1f}")]
    rows += [("cold start s (median)", lambda r: f"{r['cold_start_s']['median']:.2f}")]
    rows += [("import s", lambda r: f"{r['import_s']['total']:.2f}")]
    for where in ("in_process", "emulator"):
        rows += [
            (f"{where} p50/p99 ms", lambda r, w=where: f"{r[w]['p50_ms']:.1f}/{r[w]['p99_ms']:.1f}")
        ]
    rows += [("function peak MB", lambda r: f"{r['function_vmhwm_mb']:.0f}")]
    images = result["images"]
    lines = ["figure".ljust(24) + "".join(n.rjust(14) for n in images)]
    for label, fn in rows:
        lines.append(label.ljust(24) + "".join(fn(r).rjust(14) for r in images.values()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = script.parser(__doc__)
    parser.add_argument("--runs", type=int, default=5, help="cold starts (new container each)")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the test images")
    parser.add_argument("--images", default=",".join(IMAGES), help="which images to measure")
    parser.add_argument("--no-build", action="store_true", help="measure the existing images")
    parser.add_argument("--model-dir", type=Path, help="default: models/hair-torch-onnx")
    parser.add_argument("--fp32-dir", type=Path, help="default: models/hair-torch-onnx-fp32")
    parser.add_argument("--cpuset", default="0", help="docker --cpuset-cpus ('' for all)")
    parser.add_argument(
        "--network",
        default=build.NETWORK,
        help="docker --network for build and run, e.g. host where build containers cannot "
        "reach PyPI (default: $ZOOMCAMP_DOCKER_NETWORK, else Docker's own)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.rounds < 1:
        raise ZoomcampError("--runs and --rounds must be at least 1")
    names = [n for n in args.images.split(",") if n]
    if not names or set(names) - set(IMAGES):
        raise ZoomcampError(f"--images: a comma-separated subset of {','.join(IMAGES)}")
    ok, why = build.docker_available()
    if not ok:
        raise ZoomcampError(why)
    model_dir = args.model_dir or build.source_model_dir()
    fp32_dir = args.fp32_dir or paths.model_dir("hair-torch-onnx-fp32")
    for folder in {model_dir, fp32_dir}:
        if not (folder / "metadata.json").is_file():
            raise ZoomcampError(f"no model at {folder}: run `uv run zoomcamp reproduce 08`")
    result: dict = {"load_before": loadavg(), "cpus": os.cpu_count(), "cpuset": args.cpuset}
    with tempfile.TemporaryDirectory(prefix="hair-bench-") as scratch:
        if not args.no_build:
            build_all(names, model_dir, fp32_dir, Path(scratch), args.network)
    result["base_mb"] = build.image_size(BASE) / 1e6
    result["models"] = {}
    for d in (model_dir, fp32_dir):
        meta = hl.read_metadata(d)
        result["models"][d.name] = {
            "mb": (d / ONNX_FILE).stat().st_size / 1e6,
            "sha256": meta["files"][ONNX_FILE],
            "optimization": meta.get("optimization"),
            "metrics": meta.get("metrics"),
        }
    result["draft_vs_exact"] = draft_agreement(model_dir)
    print(json.dumps(result["draft_vs_exact"]), file=sys.stderr)
    result["images"] = {}
    for name in names:
        r = bench_container.measure(TAGS[name], test_dir(), args.rounds, args.cpuset)
        result["images"][name] = r
        print(f"{name}: {json.dumps(r)}", file=sys.stderr)
    # cold starts and warm calls interleaved across the images: a change in the shared
    # machine's load then hits every image alike
    first = min(p for p in test_dir().glob("*/*") if p.is_file())
    event = {"image_b64": base64.b64encode(first.read_bytes()).decode()}
    cold: dict[str, list[float]] = {name: [] for name in ("floor", *names)}
    for _ in range(args.runs):
        for name in cold:
            tag, ev = (FLOOR_TAG, {}) if name == "floor" else (TAGS[name], event)
            cold[name] += bench_container.cold_starts(tag, ev, 1, args.cpuset, args.network)["runs"]
    result["floor_cold_start_s"] = {
        "runs": cold["floor"],
        "median": statistics.median(cold["floor"]),
    }
    warm = bench_container.warm_interleaved(
        [TAGS[n] for n in names], test_dir(), args.rounds, args.cpuset, args.network
    )
    for name in names:
        result["images"][name]["cold_start_s"] = {
            "runs": cold[name],
            "median": statistics.median(cold[name]),
        }
        result["images"][name].update(warm[TAGS[name]])
    images = result["images"]
    for a, b in (("project", "fp32"), ("draft", "project"), ("course", "fp32")):
        if a in images and b in images:
            result[f"{a}_vs_{b}"] = decisions(images[a]["logits"], images[b]["logits"])
    for r in images.values():
        del r["logits"]  # summarised above
    result["load_after"] = loadavg()
    path = reports.save_metrics(MODULE, "bench", result)
    append_run(result)
    print(table(result), file=sys.stderr)
    print(path)


if __name__ == "__main__":
    script.run(main)
