"""The dataset registry and downloader: verification, mirror, network errors, atomicity."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

from zoomcamp import datasets, transfer
from zoomcamp.errors import ZoomcampError

PAYLOAD = b"a,b\r\n1,2\r\n3,4\r\n" * 1000


class _Handler(http.server.BaseHTTPRequestHandler):
    body = PAYLOAD
    truncate_at: int | None = None
    statuses: list[int] = []  # every status code sent, in order

    def do_GET(self):  # noqa: N802 (http.server API)
        if self.path != "/files/data.csv":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if self.truncate_at is None:
            self.wfile.write(self.body)
        else:  # the connection drops half-way through the body
            self.wfile.write(self.body[: self.truncate_at])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    def send_response(self, code, message=None):
        type(self).statuses.append(code)
        super().send_response(code, message)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.statuses = []
    yield httpd
    httpd.shutdown()
    _Handler.truncate_at = None


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A scratch data folder, no mirror, and a fresh registry entry per test."""
    monkeypatch.setenv("ZOOMCAMP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv(datasets.MIRROR_ENV, raising=False)
    return tmp_path


def _register(
    monkeypatch, url: str, body: bytes = PAYLOAD, digest: str | None = None
) -> datasets.Dataset:
    ds = datasets.Dataset(
        "toy", url, (digest or hashlib.sha256(body).hexdigest(),), len(body), "toy data"
    )
    monkeypatch.setitem(datasets.REGISTRY, "toy", ds)
    return ds


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_download_verifies_and_caches(server, isolated, monkeypatch):
    ds = _register(monkeypatch, f"http://127.0.0.1:{server.server_port}/files/data.csv")
    path = datasets.fetch("toy")
    assert path == ds.local_path() and path.read_bytes() == PAYLOAD
    server.shutdown()  # a good cached file is never downloaded again
    assert datasets.fetch("toy").read_bytes() == PAYLOAD


def test_checksum_mismatch_names_file_and_digests(server, isolated, monkeypatch):
    wrong = "0" * 64
    _register(monkeypatch, f"http://127.0.0.1:{server.server_port}/files/data.csv", digest=wrong)
    with pytest.raises(datasets.ChecksumError) as err:
        datasets.fetch("toy")
    message = str(err.value)
    assert (
        "data.csv" in message
        and wrong in message
        and hashlib.sha256(PAYLOAD).hexdigest() in message
    )
    assert _leftovers(isolated / "data") == []  # nothing half-good left behind


def test_size_mismatch_is_reported(server, isolated, monkeypatch):
    ds = _register(monkeypatch, f"http://127.0.0.1:{server.server_port}/files/data.csv")
    monkeypatch.setitem(
        datasets.REGISTRY, "toy", datasets.Dataset(ds.name, ds.url, ds.sha256, ds.size + 1, "")
    )
    with pytest.raises(datasets.ChecksumError, match="size"):
        datasets.fetch("toy")


def test_interrupted_download_leaves_no_file(server, isolated, monkeypatch):
    monkeypatch.setattr(transfer, "RETRY_DELAYS", (0.01, 0.01, 0.01))  # 13 s of waiting else
    _register(monkeypatch, f"http://127.0.0.1:{server.server_port}/files/data.csv")
    _Handler.truncate_at = len(PAYLOAD) // 3
    with pytest.raises(datasets.DatasetUnavailable, match="cannot download"):
        datasets.fetch("toy")
    assert _leftovers(isolated / "data") == []


def test_keyboard_interrupt_leaves_no_file(server, isolated, monkeypatch):
    _register(monkeypatch, f"http://127.0.0.1:{server.server_port}/files/data.csv")

    def interrupted(read, total, out, *args):
        out.write(read(100))
        raise KeyboardInterrupt

    # patched where retrieve looks it up
    monkeypatch.setattr(transfer, "_copy_with_progress", interrupted)
    with pytest.raises(KeyboardInterrupt):
        datasets.fetch("toy")
    assert _leftovers(isolated / "data") == []


def test_corrupted_cache_is_an_error_not_a_silent_redownload(server, isolated, monkeypatch):
    _register(monkeypatch, f"http://127.0.0.1:{server.server_port}/files/data.csv")
    path = datasets.fetch("toy")
    path.write_bytes(PAYLOAD[:-1] + b"X")
    with pytest.raises(datasets.ChecksumError):
        datasets.fetch("toy")
    assert datasets.status("toy").startswith("BAD")


def test_mirror_is_used_instead_of_network(isolated, monkeypatch):
    url = "https://example.invalid/some/path/data.csv"  # unreachable on purpose
    _register(monkeypatch, url)
    mirror = isolated / "mirror"
    (mirror / "example.invalid/some/path").mkdir(parents=True)
    (mirror / "example.invalid/some/path/data.csv").write_bytes(PAYLOAD)
    monkeypatch.setenv(datasets.MIRROR_ENV, str(mirror))
    assert datasets.fetch("toy").read_bytes() == PAYLOAD


def test_mirror_without_the_file_says_where_it_looked(isolated, monkeypatch):
    _register(monkeypatch, "https://example.invalid/x/data.csv")
    monkeypatch.setenv(datasets.MIRROR_ENV, str(isolated / "empty-mirror"))
    with pytest.raises(datasets.DatasetUnavailable, match=r"example\.invalid/x/data\.csv"):
        datasets.fetch("toy")


def test_no_network_gives_a_clear_message(isolated, monkeypatch):
    monkeypatch.setattr(transfer, "RETRY_DELAYS", (0.01, 0.01, 0.01))  # 13 s of waiting else
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _register(monkeypatch, f"http://127.0.0.1:{port}/files/data.csv")
    with pytest.raises(datasets.DatasetUnavailable) as err:
        datasets.fetch("toy", timeout=5)
    message = str(err.value)
    assert datasets.MIRROR_ENV in message and "cannot download" in message
    assert (
        err.value.__cause__ is None and err.value.__suppress_context__
    )  # no socket traceback chain
    assert _leftovers(isolated / "data") == []


def test_http_404_is_a_clear_error(server, isolated, monkeypatch):
    # The local server really answers 404, once: a 404 is not retried. The message is matched
    # on status, reason and URL together; "404" alone would also match this test's own tmp
    # path, which the message names as the place to put the file.
    url = f"http://127.0.0.1:{server.server_port}/files/missing.csv"
    _register(monkeypatch, url)
    with pytest.raises(datasets.DatasetUnavailable) as err:
        datasets.fetch("toy")
    assert f"HTTP 404 Not Found for {url}" in str(err.value)
    assert _Handler.statuses == [404]
    assert _leftovers(isolated / "data") == []


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(ZoomcampError, match="car-price"):
        datasets.get("no-such-dataset")


def test_registry_entries_are_well_formed():
    for name, ds in datasets.REGISTRY.items():
        assert ds.name == name
        assert ds.url.startswith("https://")
        assert all(len(d) == 64 and int(d, 16) >= 0 for d in ds.sha256)
        assert ds.is_archive == ds.filename.endswith(".zip")
