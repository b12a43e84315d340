"""05-deployment: the request head is bounded in what the image runs (issue 18 #1): uvicorn
with httptools and ``head_limit.BoundedHttpTools`` answers 431 and closes once a head passes
16 KiB, while normal requests, large bodies and keep-alive work as before."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from churn_hostile import EXAMPLE, head_limit, limits
from ports import free_port, running

from zoomcamp import paths

MODULE = paths.module_dir("05-deployment")


@pytest.fixture(scope="module")
def port(churn_model_dir):
    """A free 127.0.0.1 port served by ``uvicorn predict:app --http head_limit:…``."""
    free = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "predict:app", "--http", "head_limit:BoundedHttpTools"]
    cmd += ["--host", "127.0.0.1", "--port", str(free), *limits.server_flags()]
    env = {**os.environ, "MODEL_DIR": str(churn_model_dir)}
    health = f"http://127.0.0.1:{free}/health"
    with running(cmd, health, cwd=MODULE, env=env, stderr=subprocess.PIPE):
        yield free


def _send(port: int, chunks, read: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            for chunk in chunks:
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed first: what it answered is still readable
        out = b""
        while read:
            try:
                part = s.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            out += part
        return out


def test_an_endless_head_gets_431_and_the_connection_closes(port):
    # 4 MiB of headers in 4 KiB writes, never finished: refused after 16 KiB
    header = b"x-filler: " + b"a" * 4080 + b"\r\n"
    chunks = [b"POST /predict HTTP/1.1\r\nhost: x\r\n", *([header] * 1024)]
    t0 = time.monotonic()
    answer = _send(port, chunks)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert time.monotonic() - t0 < 5


def test_a_long_request_line_is_refused_too(port):
    answer = _send(port, [b"GET /", *([b"a" * 8192] * 8)])
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_normal_heads_bodies_and_keep_alive_still_work(port):
    batch = json.dumps({"customers": [EXAMPLE] * 1000}).encode()  # ~0.5 MB body
    head = (
        f"POST /predict/batch HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        f"content-length: {len(batch)}\r\n"
    ).encode()
    headers = b"".join(b"x-h%d: %s\r\n" % (i, b"v" * 90) for i in range(100))  # 10 KiB
    single = json.dumps(EXAMPLE).encode()
    second = (
        b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        b"connection: close\r\ncontent-length: %d\r\n\r\n" % len(single)
    ) + single
    answer = _send(port, [head + headers + b"\r\n" + batch, second])
    assert answer.count(b"HTTP/1.1 200 ") == 2, answer[:300]


def test_the_image_runs_the_bounded_protocol():
    cmd = (MODULE / "Dockerfile").read_text().splitlines()[-1]
    assert "--http head_limit:BoundedHttpTools" in cmd
    assert head_limit.MAX_HEAD_BYTES == 16 * 1024
