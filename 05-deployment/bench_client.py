"""The load client of bench.py: a small asyncio HTTP/1.1 client over keep-alive
connections, and the random valid customers it sends.

Standard library only, like bench.py (it runs on the host, outside any image); a sibling
module found because the script's folder is on ``sys.path`` when bench.py runs. Kept out of
the service image by ``.dockerignore``, which lets in only what the image needs.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
import urllib.error
import urllib.request
from typing import Any


def random_customers(n: int, allowed: dict[str, list], seed: int = 42) -> list[dict[str, Any]]:
    """Valid customers drawn from the model's own allowed values and sane numbers."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        c = {f: rng.choice(v) for f, v in allowed.items()}
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


def has_batch(port: int) -> bool:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/predict/batch", method="POST")
    try:
        urllib.request.urlopen(request, timeout=5)
    except urllib.error.HTTPError as exc:
        return exc.code != 404
    except OSError:
        return False
    return True


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
