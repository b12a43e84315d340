"""05-deployment: the churn service's limits against a real uvicorn on 127.0.0.1 (issue 11).

urllib (what test.py uses) gets the 413 for oversized bodies, plain and chunked; test.py
still works; /health is not stalled by the worst bodies; a slow body gets 408; too many
connections get 503 and the service resumes; idle keep-alive connections are closed; and
what uvicorn alone cannot close (silent connections, slow headers: the README's reason
for a proxy in front) is pinned down. h11 here (the root environment), httptools in the
image: both serve the same ASGI app.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from churn_hostile import EXAMPLE, WORST, limits
from ports import free_port, running

from zoomcamp import paths

MODULE = paths.module_dir("05-deployment")
SERVED = {**limits.SERVER, "limit_concurrency": 6, "timeout_keep_alive": 1}
LAUNCH = """import sys, uvicorn
sys.path.insert(0, {folder!r})
import limits
limits.BODY_TIMEOUT_S = 1.0
uvicorn.run("predict:app", host="127.0.0.1", port={port}, log_level="warning", **{options!r})
"""


@pytest.fixture(scope="module")
def served(churn_model_dir):
    """``http://127.0.0.1:<free port>`` of a uvicorn serving predict:app with SERVED."""
    port = free_port()
    code = LAUNCH.format(folder=str(MODULE), port=port, options=SERVED)
    env = {**os.environ, "MODEL_DIR": str(churn_model_dir)}
    url = f"http://127.0.0.1:{port}"
    with running([sys.executable, "-c", code], url + "/health", env=env, stderr=subprocess.PIPE):
        yield url


def post(url: str, body, content_type: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize("path,size", [
    ("/predict", 64 * 1024), ("/predict", 2 * 2**20), ("/predict/batch", 2 * 2**20),
    ("/predict/batch", 6 * 2**20),
])  # fmt: skip
def test_urllib_gets_the_413(served, path, size):
    assert size <= limits.DRAIN_BYTES
    for _ in range(3):  # a reset came often, not always
        status, body = post(served + path, b" " * size)
        assert status == 413 and "over" in body["detail"]
    chunked = iter([b" " * 65536] * (size // 65536))  # no length: urllib sends it chunked
    assert post(served + path, chunked)[0] == 413


def test_the_course_client_and_other_media_types(served):
    proc = subprocess.run(
        [sys.executable, str(MODULE / "test.py"), "--url", served + "/predict"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert 0 <= json.loads(proc.stdout.splitlines()[0])["churn_probability"] <= 1
    assert post(served + "/predict", json.dumps(EXAMPLE).encode(), "text/plain")[0] == 415


def test_health_is_not_stalled_by_the_worst_bodies(served):
    latencies, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            t0 = time.perf_counter()
            urllib.request.urlopen(served + "/health", timeout=10).read()
            latencies.append(time.perf_counter() - t0)

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        for name, (path, body) in WORST.items():
            assert post(served + path, body)[0] in (413, 422), name
    finally:
        stop.set()
        thread.join()
    assert latencies and max(latencies) < 0.5, max(latencies)


def raw(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def test_a_slow_body_gets_408_and_the_connection_closes(served):
    with raw(served) as s:
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 500\r\n\r\n{")  # fmt: skip
        t0 = time.monotonic()
        head = s.recv(65536)
        assert head.startswith(b"HTTP/1.1 408"), head
        assert 1.0 <= time.monotonic() - t0 < 4
        while s.recv(65536):  # the rest of the answer, then the close
            pass


def test_too_many_connections_get_503_then_service_resumes(served):
    idle = [raw(served) for _ in range(SERVED["limit_concurrency"])]
    try:
        time.sleep(0.3)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(served + "/health", timeout=5)
        assert info.value.code == 503
    finally:
        for s in idle:
            s.close()
    time.sleep(0.5)
    assert urllib.request.urlopen(served + "/health", timeout=5).status == 200


def test_an_idle_keep_alive_connection_is_closed(served):
    with raw(served) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := s.recv(65536):  # the answer, then b"" once the server closes
            answer, last = answer + chunk, time.monotonic()
        assert answer.startswith(b"HTTP/1.1 200")
        idle = time.monotonic() - last
        assert SERVED["timeout_keep_alive"] - 0.5 < idle < SERVED["timeout_keep_alive"] + 2


def test_uvicorn_alone_keeps_silent_and_slow_header_connections(served):
    """What the README says needs a proxy in front: one uvicorn process never times out a
    connection before its first request's headers are complete."""
    with raw(served) as silent, raw(served) as slow:
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        for _ in range(2 * SERVED["timeout_keep_alive"] + 1):
            time.sleep(1)
            slow.sendall(b"X: y\r\n")
        silent.settimeout(0.5)
        with pytest.raises(TimeoutError):  # still open: nothing to read, no close
            silent.recv(1)
        slow.sendall(b"\r\n")
        assert slow.recv(65536).startswith(b"HTTP/1.1 200")
