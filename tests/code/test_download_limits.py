"""A download stops at the size it should have and at an overall deadline, and a server's
nonsense (an unparsable Content-Length) is one line, not a traceback. A real HTTP server on
127.0.0.1 misbehaves on purpose; every misbehaviour is bounded so the test ends even when
the client does not stop."""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import sys
import threading
import time

import pytest

from zoomcamp import datasets, downloads, paths

DECLARED = 1000
ENDLESS_CAP = 64 << 20  # what the endless server sends at most before it gives up itself


class _Misbehaving(http.server.BaseHTTPRequestHandler):
    mode = "endless"
    sent = 0  # body bytes the client accepted before it hung up

    def do_GET(self):  # noqa: N802 (http.server API)
        cls = type(self)
        self.send_response(200)
        if cls.mode == "bad-length":
            self.send_header("Content-Length", "abc")
        elif cls.mode == "huge-length":
            self.send_header("Content-Length", str(10**12))
        elif cls.mode == "drip":
            self.send_header("Content-Length", str(DECLARED))
        self.end_headers()
        block, pause = (b"x" * 65536, 0.0) if cls.mode != "drip" else (b"x", 0.05)
        try:
            while cls.sent < (ENDLESS_CAP if cls.mode != "drip" else 200):
                self.wfile.write(block)
                self.wfile.flush()
                cls.sent += len(block)
                time.sleep(pause)
        except OSError:  # the client closed the connection
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Misbehaving)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _Misbehaving.sent = 0
    url = f"http://127.0.0.1:{httpd.server_address[1]}/files/small.csv"
    ds = datasets.Dataset("small", url, ("0" * 64,), DECLARED, "a 1,000-byte file")
    monkeypatch.setitem(datasets.REGISTRY, ds.name, ds)
    monkeypatch.setenv("ZOOMCAMP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv(datasets.MIRROR_ENV, raising=False)
    yield ds
    httpd.shutdown()
    httpd.server_close()


def _leftovers(ds):
    folder = ds.local_path().parent
    return [p for p in folder.iterdir()] if folder.exists() else []


def test_an_endless_body_stops_at_the_declared_size(server):
    _Misbehaving.mode = "endless"
    with pytest.raises(datasets.ChecksumError, match=f"more than the {DECLARED} bytes"):
        datasets.fetch(server.name)
    assert _leftovers(server) == []
    # the client hung up after its first read; what the server got rid of is what fits in
    # the loopback socket buffers, far below the cap it would otherwise reach
    assert _Misbehaving.sent < ENDLESS_CAP // 4


def test_an_announced_oversize_body_is_not_read(server):
    _Misbehaving.mode = "huge-length"
    with pytest.raises(datasets.ChecksumError, match="announces 1000000000000 bytes"):
        datasets.fetch(server.name)
    assert _Misbehaving.sent < ENDLESS_CAP // 4 and _leftovers(server) == []


def test_a_trickle_meets_the_overall_deadline(server):
    _Misbehaving.mode = "drip"  # 1 byte every 0.05 s: the socket timeout never fires
    with pytest.raises(datasets.DatasetUnavailable, match=r"did not arrive within 1 s"):
        downloads.fetch_file(server, deadline_s=1.0)
    assert _Misbehaving.sent < 200  # stopped before the server finished its 10 s drip
    assert _leftovers(server) == []


def test_an_unparsable_content_length_is_the_download_error(server):
    _Misbehaving.mode = "bad-length"
    with pytest.raises(datasets.DatasetUnavailable, match="unparsable Content-Length 'abc'"):
        datasets.fetch(server.name)


def test_the_command_line_says_it_in_one_line(server):
    """What a user sees from ``zoomcamp datasets fetch`` (the registry entry is added in
    the child process: the command only knows registered names)."""
    _Misbehaving.mode = "bad-length"
    code = (
        "import sys\nfrom zoomcamp import cli, datasets\n"
        f"datasets.REGISTRY['small'] = datasets.Dataset('small', {server.url!r}, "
        f"('0' * 64,), {DECLARED}, 'x')\n"
        "cli.main(['datasets', 'fetch', 'small'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "400"},
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert lines[-1].startswith("error: small:") and "unparsable Content-Length" in lines[-1]
    assert "Traceback" not in proc.stderr


def test_a_mirror_file_must_be_a_regular_file_of_bounded_size(tmp_path, monkeypatch):
    url = "https://example.invalid/files/small.csv"
    body = b"y" * DECLARED
    ds = datasets.Dataset("small", url, (hashlib.sha256(body).hexdigest(),), DECLARED, "x")
    monkeypatch.setitem(datasets.REGISTRY, ds.name, ds)
    monkeypatch.setenv("ZOOMCAMP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(datasets.MIRROR_ENV, str(tmp_path / "mirror"))
    source = tmp_path / "mirror" / ds.mirror_relpath
    source.parent.mkdir(parents=True)
    source.symlink_to("/dev/zero")
    with pytest.raises(datasets.DatasetUnavailable, match="not a regular file"):
        datasets.fetch(ds.name)
    source.unlink()
    source.write_bytes(body * 50)
    with pytest.raises(datasets.ChecksumError, match="more than the 1000 expected"):
        datasets.fetch(ds.name)
    assert _leftovers(ds) == []
    source.write_bytes(body)
    assert datasets.fetch(ds.name).read_bytes() == body
