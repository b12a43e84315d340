"""uv run --project 05-deployment python 05-deployment/bench.py

Throughput and latency of the churn service against the course-style baseline.

Both servers run the same model file under the same uvicorn settings (one worker,
127.0.0.1, the image's flags from ``limits.SERVER``; in the service's locked environment
uvloop + httptools for both, in the root one h11 and asyncio):

- ``service``:  ``predict:app`` (strict validation, ``FastScorer``);
- ``baseline``: ``bench:baseline``, the course's way: a plain FastAPI endpoint that calls
  ``pipeline.predict_proba`` on the request dict (a sync ``def``, run in the threadpool).

Each gets the same load from a small keep-alive HTTP/1.1 client written on asyncio
(``--clients`` connections sending ``--requests`` POST /predict in total after a warm-up;
random valid customers). Then 1,000 customers go through ``/predict/batch``
``--batch-repeats`` times. Prints req/s, p50/p99 latency and errors, the ratio, and the
machine load (``os.getloadavg``, other work on these cores skews the figures); writes
everything to ``reports/05-deployment/bench.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from churn_scoring import THRESHOLD, ModelError, load_model, model_path
from fastapi import FastAPI
from limits import server_flags

HERE = Path(__file__).resolve().parent
REPORT = HERE.parent / "reports" / "05-deployment" / "bench.json"
RUNS = "bench-runs.json"  # next to --output: every run's summary, appended (load varies)


# --------------------------------------------------------------------------- baseline


@asynccontextmanager
async def _baseline_lifespan(app: FastAPI):
    app.state.pipeline, _ = load_model(model_path())
    yield


baseline = FastAPI(title="course-style baseline", lifespan=_baseline_lifespan)


@baseline.post("/predict")
def baseline_predict(customer: dict[str, Any]) -> dict[str, Any]:
    p = float(baseline.state.pipeline.predict_proba(customer)[0, 1])
    return {"churn_probability": p, "churn": p >= THRESHOLD}


# --------------------------------------------------------------------------- load


def random_customers(n: int, meta: dict[str, Any], seed: int = 42) -> list[dict[str, Any]]:
    """Valid customers drawn from the model's own categories (metadata) and sane numbers."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        c = {f: rng.choice(v) for f, v in meta["categories"].items()}
        c["tenure"] = rng.randint(0, 72)
        c["monthlycharges"] = round(rng.uniform(18, 120), 2)
        c["totalcharges"] = round(c["monthlycharges"] * max(c["tenure"], 1), 2)
        out.append(c)
    return out


def http_request(path: str, body: bytes, port: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _send(reader, writer, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def drive(port: int, requests: list[bytes], clients: int) -> dict[str, Any]:
    """Send every request once over ``clients`` keep-alive connections."""
    latencies: list[float] = []
    errors = 0
    queue = iter(requests)

    async def client():
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in queue:
                t0 = time.perf_counter()
                try:
                    status = await _send(reader, writer, request)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                latencies.append(time.perf_counter() - t0)
                errors += status != 200
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(requests),
        "clients": clients,
        "seconds": round(elapsed, 3),
        "req_per_s": round(len(requests) / elapsed, 1),
        "p50_ms": round(q[49] * 1e3, 3),
        "p99_ms": round(q[98] * 1e3, 3),
        "max_ms": round(latencies[-1] * 1e3, 3),
        "errors": errors,
    }


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(app: str):
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--app-dir",
        str(HERE),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        *server_flags(),  # the image's limits (keep-alive, concurrency): the same for both
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise SystemExit(f"error: {app} exited with {proc.returncode}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"error: {app} did not answer within 30 s")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def batch_times(port: int, customers: list[dict[str, Any]], repeats: int) -> dict[str, Any]:
    body = json.dumps({"customers": customers}).encode()
    request = http_request("/predict/batch", body, port)

    async def run():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        times = []
        for _ in range(repeats + 2):  # two warm-up calls
            t0 = time.perf_counter()
            status = await _send(reader, writer, request)
            times.append(time.perf_counter() - t0)
            if status != 200:
                raise SystemExit(f"error: /predict/batch answered {status}")
        writer.close()
        return times[2:]

    times = asyncio.run(run())
    return {
        "customers": len(customers),
        "body_bytes": len(body),
        "repeats": repeats,
        "median_ms": round(statistics.median(times) * 1e3, 2),
        "max_ms": round(max(times) * 1e3, 2),
    }


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[1].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=20_000,
        help="POST /predict per server (default: %(default)s)",
    )
    parser.add_argument(
        "--clients", type=int, default=32, help="concurrent connections (default: %(default)s)"
    )
    parser.add_argument(
        "--warmup", type=int, default=1_000, help="requests before measuring (default: %(default)s)"
    )
    parser.add_argument(
        "--batch-repeats",
        type=int,
        default=20,
        help="timed 1,000-customer batches (default: %(default)s)",
    )
    parser.add_argument(
        "--output", type=Path, default=REPORT, help="results JSON (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.requests < 100 or args.clients < 1:
        raise SystemExit("error: --requests must be >= 100 and --clients >= 1")

    try:
        meta = load_model(model_path())[1]  # checked: the model both servers will load
    except ModelError as exc:
        raise SystemExit(f"error: {exc}") from None
    customers = random_customers(2_000, meta)
    bodies = [json.dumps(c).encode() for c in customers]
    result: dict[str, Any] = {
        "load_before": load(),
        "cpus": os.cpu_count(),
        "model": meta.get("files"),
        "server_flags": server_flags(),
    }
    for name, app in (("baseline", "bench:baseline"), ("service", "predict:app")):
        with server(app) as port:
            reqs = [
                http_request("/predict", bodies[i % len(bodies)], port)
                for i in range(args.requests)
            ]
            asyncio.run(drive(port, reqs[: args.warmup], args.clients))
            result[name] = asyncio.run(drive(port, reqs, args.clients))
            print(
                f"{name:>8}: {result[name]['req_per_s']:8.1f} req/s  p50 {result[name]['p50_ms']:.2f} ms"
                f"  p99 {result[name]['p99_ms']:.2f} ms  errors {result[name]['errors']}",
                file=sys.stderr,
            )
            if name == "service":
                result["batch"] = batch_times(port, customers[:1000], args.batch_repeats)
    result["ratio"] = round(result["service"]["req_per_s"] / result["baseline"]["req_per_s"], 2)
    result["load_after"] = load()

    print(f"throughput ratio service/baseline: {result['ratio']}x")
    for name in ("baseline", "service"):
        r = result[name]
        print(
            f"{name:>8}: {r['req_per_s']:8.1f} req/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms"
            f"  errors {r['errors']}/{r['requests']}  ({r['clients']} clients)"
        )
    b = result["batch"]
    print(
        f"   batch: {b['customers']} customers in {b['median_ms']:.1f} ms median ({b['max_ms']:.1f} ms max"
        f" of {b['repeats']})"
    )
    print(
        f"load average before {result['load_before']}, after {result['load_after']} ({result['cpus']} CPUs)"
    )
    result["at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_json(args.output, result)
    runs_path = args.output.parent / RUNS
    runs = json.loads(runs_path.read_text(encoding="utf-8")) if runs_path.is_file() else []
    runs.append(
        {k: result[k] for k in ("at", "load_before", "load_after", "ratio")}
        | {
            n: {k: result[n][k] for k in ("req_per_s", "p50_ms", "p99_ms", "errors")}
            for n in ("baseline", "service")
        }
        | {
            "batch_median_ms": result["batch"]["median_ms"],
            "batch_max_ms": result["batch"]["max_ms"],
        }
    )
    write_json(runs_path, runs)
    print(f"saved {args.output} (+ {RUNS}: {len(runs)} runs)")


def write_json(path: Path, obj: Any) -> None:
    """Atomic: a temp file renamed over ``path`` (this environment has no zoomcamp.io)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as fh:
        json.dump(obj, fh, indent=2)
        fh.write("\n")
    os.replace(fh.name, path)


if __name__ == "__main__":
    main()
