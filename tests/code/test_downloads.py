"""Downloads retry what is transient, name the HTTP status, and point at --force for a
damaged cache. A real HTTP server on 127.0.0.1 answers; nothing else is contacted."""

from __future__ import annotations

import hashlib
import http.server
import subprocess
import sys
import threading

import pytest

from zoomcamp import datasets, downloads, paths, transfer

BODY = b"x,y\n1,2\n" * 500


class _Scripted(http.server.BaseHTTPRequestHandler):
    """Answers each GET with the next status of ``script`` (then 200 with ``BODY``)."""

    script: list[int] = []
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server API)
        type(self).seen.append(self.path)
        status = type(self).script.pop(0) if type(self).script else 200
        if status != 200:
            self.send_error(status)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


@pytest.fixture
def toy(tmp_path, monkeypatch):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _Scripted.script, _Scripted.seen = [], []
    url = f"http://127.0.0.1:{httpd.server_address[1]}/files/toy.csv"
    ds = datasets.Dataset("toy", url, (hashlib.sha256(BODY).hexdigest(),), len(BODY), "toy")
    monkeypatch.setitem(datasets.REGISTRY, "toy", ds)
    monkeypatch.setenv("ZOOMCAMP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv(datasets.MIRROR_ENV, raising=False)
    sleeps: list[float] = []
    monkeypatch.setattr(transfer.time, "sleep", sleeps.append)
    yield ds, sleeps
    httpd.shutdown()
    httpd.server_close()


def test_transient_failures_are_retried_with_backoff(toy):
    ds, sleeps = toy
    _Scripted.script = [503, 502]
    assert datasets.fetch("toy").read_bytes() == BODY
    assert len(_Scripted.seen) == 3
    assert sleeps == list(downloads.RETRY_DELAYS[:2])
    assert sleeps == sorted(sleeps) and sleeps[0] > 0


def test_retries_end_with_the_status_and_nothing_left_behind(toy):
    ds, sleeps = toy
    _Scripted.script = [503] * 10
    with pytest.raises(datasets.DatasetUnavailable) as err:
        datasets.fetch("toy")
    assert len(_Scripted.seen) == len(downloads.RETRY_DELAYS) + 1
    assert "HTTP 503" in str(err.value) and "busy or failing" in str(err.value)
    assert not ds.local_path().exists()


def test_404_names_the_status_and_url_and_is_not_retried(toy):
    ds, sleeps = toy
    _Scripted.script = [404]
    with pytest.raises(datasets.DatasetUnavailable) as err:
        datasets.fetch("toy")
    message = str(err.value)
    assert "HTTP 404" in message and ds.url in message and "moved or removed" in message
    assert "internet" not in message  # the network works: it is the file that is gone
    assert len(_Scripted.seen) == 1 and sleeps == []


def test_a_damaged_cache_names_the_file_and_the_fix(toy):
    ds, _ = toy
    datasets.fetch("toy")
    ds.local_path().write_bytes(BODY[:-1] + b"!")
    with pytest.raises(datasets.ChecksumError) as err:
        datasets.fetch("toy")
    message = str(err.value)
    assert str(ds.local_path()) in message
    assert "uv run zoomcamp datasets fetch --force toy" in message
    assert datasets.fetch("toy", force=True).read_bytes() == BODY
    assert len(_Scripted.seen) == 2


def test_cli_fetch_has_force():
    proc = subprocess.run(
        [sys.executable, "-m", "zoomcamp.cli", "datasets", "--help"],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and "--force" in proc.stdout
