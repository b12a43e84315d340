"""What ``bench.py`` runs inside the images: one image's figures, measured the same way for
the project's images and the course-style one (README, "Performance").

Every container is pinned to one CPU (``--cpuset-cpus``, as a Lambda function of up to
1769 MB gets at most one vCPU), so "one thread" holds for ONNX Runtime's default pool too.
"""

from __future__ import annotations

import base64
import contextlib
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import build
import numpy as np
from fetch import MAX_PIXELS
from PIL import Image

from zoomcamp.errors import ZoomcampError

# in the image: the import (cold start) by parts, then the handler over the test images
IN_PROCESS = r"""
import base64, glob, json, os, sys, time
rounds = int(sys.argv[1])
imports = {}
for name in ("numpy", "PIL.Image", "onnxruntime", "lambda_function"):  # the project's: no numpy
    s = time.perf_counter()
    try:
        __import__(name)
    except ImportError:
        continue
    imports[name.split(".")[0].lower()] = time.perf_counter() - s
out = {"import_s": {**imports, "total": sum(imports.values())}}
import lambda_function as f
files = sorted(glob.glob("/tmp/test/*/*"))
events = [{"image_b64": base64.b64encode(open(p, "rb").read()).decode()} for p in files]
for e in events[:10]:
    f.lambda_handler(e, None)
def p50(fn, items, r=rounds):
    ts = []
    for _ in range(r):
        for i in items:
            s = time.perf_counter(); fn(i); ts.append(time.perf_counter() - s)
    return ts
out["handler_s"] = p50(lambda e: f.lambda_handler(e, None), events)
if hasattr(f, "metadata"):  # the project's function: its parts
    import hair_lambda as hl, preprocess as pp, ort_session
    datas = [open(p, "rb").read() for p in files]
    med = lambda ts: sorted(ts)[len(ts) // 2] * 1000
    parts = {"decode_header_ms": med(p50(pp.open_image, datas))}
    other = pp.Preprocessing(f.metadata, draft=not f.preprocess.draft)
    for name, pre in (("draft" if f.preprocess.draft else "exact", f.preprocess),
                      ("exact" if f.preprocess.draft else "draft", other)):
        parts[f"preprocess_{name}_ms"] = med(p50(lambda d: pre(pp.open_image(d)), datas))
    imgs = [f.preprocess.resized(pp.open_image(d)) for d in datas]
    parts["normalise_ms"] = med(p50(f.preprocess.normalise, imgs))
    # memory: a JPEG at the pixel limit (made on the host), what a downloaded image may be;
    # the peak only grows, so the draft decode (smaller) is measured before the exact one
    import resource
    rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    big = open("/tmp/big.jpg", "rb").read()
    large = {"pixels": pp.open_image(big).size, "maxrss_before_mb": rss()}
    for name, d in (("draft", True), ("exact", False)):
        x = pp.Preprocessing(f.metadata, draft=d)(pp.open_image(big))
        f.session.run([f.output_name], {f.input_name: x})
        large[f"maxrss_after_{name}_mb"] = rss()
    out["large_image"] = large
    x = f.preprocess(pp.open_image(datas[0]))
    path = hl.default_model_path()
    s = time.perf_counter(); hl.read_metadata(path.parent); parts["metadata_check_ms"] = (time.perf_counter() - s) * 1000
    def session(**over):
        settings = {**hl.session_settings(f.metadata), **over}
        s = time.perf_counter()
        sess = ort_session.Session(path, **settings)
        return sess, (time.perf_counter() - s) * 1000
    variants = {"chosen": {}, "reoptimise_all": {"graph_optimization_level": "ORT_ENABLE_ALL"},
                "no_optimisation": {"graph_optimization_level": "ORT_DISABLE_ALL"},
                "ort_defaults": {"intra_op_num_threads": 0, "inter_op_num_threads": 0, "config": {},
                                 "graph_optimization_level": "ORT_ENABLE_ALL"},
                "no_arena": {"enable_cpu_mem_arena": False}}
    sessions = {k: session(**v) for k, v in variants.items()}
    runs = {k: [] for k in variants}
    for _ in range(max(rounds, 1) * 4):  # interleaved, so load spikes hit every variant
        for k, (sess, _) in sessions.items():
            for _ in range(25):
                s = time.perf_counter(); sess.run([f.output_name], {f.input_name: x}); runs[k].append(time.perf_counter() - s)
    out["session"] = {k: {"create_ms": sessions[k][1], "run_p50_ms": med(runs[k])} for k in variants}
    out["parts_p50_ms"] = parts
print(json.dumps(out))
"""

# the function process's memory peak, read from /proc inside the running container
PEAK = r"""
import glob, json, os
out = {}
for d in glob.glob("/proc/[0-9]*"):
    try:
        cmd = open(d + "/cmdline", "rb").read().replace(b"\0", b" ").decode()
        if "awslambdaric" in cmd and d != f"/proc/{os.getpid()}":
            st = dict(l.split(":", 1) for l in open(d + "/status") if ":" in l)
            out = {"vmhwm_kb": int(st["VmHWM"].split()[0]), "vmrss_kb": int(st["VmRSS"].split()[0])}
    except OSError:
        pass
print(json.dumps(out))
"""


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
    }


def cold_starts(tag: str, event: dict, runs: int, cpuset: str, network: str | None) -> dict:
    """``docker run`` to the first answer, ``runs`` times, a new container each."""
    cold = []
    for _ in range(runs):
        t0 = time.perf_counter()
        with build.running(tag, network=network, cpuset=cpuset) as (_, endpoint):
            build.invoke_when_ready(endpoint, event)
            cold.append(time.perf_counter() - t0)
    return {"runs": cold, "median": statistics.median(cold)}


BLOCK = 25  # test images a container answers before the next one's turn


def docker(command: str, name: str) -> None:
    subprocess.run(["docker", command, name], check=True, capture_output=True)


def warm_interleaved(
    tags: list[str], test_dir: Path, rounds: int, cpuset: str, network: str | None
) -> dict:
    """Every image's container at once, taking turns (``BLOCK`` test images each, the others
    paused), so a change in the machine's load hits them all alike: per tag, the latencies
    through the emulator, the logits of the first pass, and the function's memory peak."""
    files = sorted(p for p in test_dir.glob("*/*") if p.is_file())
    events = [{"image_b64": base64.b64encode(p.read_bytes()).decode()} for p in files]
    out: dict = {tag: {"times": [], "logits": []} for tag in tags}
    with contextlib.ExitStack() as stack:
        ends = {
            tag: stack.enter_context(build.running(tag, network=network, cpuset=cpuset))
            for tag in tags
        }
        for name, endpoint in ends.values():
            build.invoke_when_ready(endpoint, events[0])
            docker("pause", name)
        for r in range(rounds):
            for start in range(0, len(events), BLOCK):
                for tag, (name, endpoint) in ends.items():
                    # only the measured container runs: ORT threads left spinning by
                    # another image's call would take the shared CPU from this one
                    docker("unpause", name)
                    for event in events[start : start + BLOCK]:
                        t = time.perf_counter()
                        answer = build.invoke(endpoint, event)
                        out[tag]["times"].append(time.perf_counter() - t)
                        if r == 0:
                            out[tag]["logits"].append(answer.get("logit"))
                    docker("pause", name)
        for tag, (name, _) in ends.items():
            docker("unpause", name)
            peak = subprocess.run(
                ["docker", "exec", name, "python", "-c", PEAK],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            mem = json.loads(peak.strip().splitlines()[-1])
            out[tag]["function_vmhwm_mb"] = mem.get("vmhwm_kb", 0) / 1024
    return {
        tag: {
            "emulator": summary_ms(o["times"]),
            "logits": o["logits"],
            "function_vmhwm_mb": o["function_vmhwm_mb"],
        }
        for tag, o in out.items()
    }


def measure(tag: str, test_dir: Path, rounds: int, cpuset: str) -> dict:
    """Size and the in-process figures (``IN_PROCESS``) of one image."""
    result: dict = {"tag": tag, "image_mb": build.image_size(tag) / 1e6}
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.jpg"
        side = int(MAX_PIXELS**0.5) - 1  # the largest square image the pixel limit allows
        noise = np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8)
        Image.fromarray(noise).resize((side, side)).save(big, "JPEG", quality=70)
        big.chmod(0o644)
        proc = subprocess.run(
            ["docker", "run", "--rm", "--network", "none"]
            + (["--cpuset-cpus", cpuset] if cpuset else [])
            + ["-v", f"{test_dir}:/tmp/test:ro", "-v", f"{big}:/tmp/big.jpg:ro"]
            + ["--entrypoint", "python", tag, "-c", IN_PROCESS, str(rounds)],
            capture_output=True,
            text=True,
        )
    if proc.returncode != 0:
        raise ZoomcampError(f"in-process run of {tag} failed:\n{proc.stderr[-2000:]}")
    inner = json.loads(proc.stdout.strip().splitlines()[-1])
    result["in_process"] = summary_ms(inner.pop("handler_s"))
    result.update(inner)
    return result
