"""09-serverless: the hair Lambda's downloads (``fetch.py``), over real HTTP and HTTPS.

Everything goes through ``lambda_function.lambda_handler`` on a tiny stand-in model
(``lambda_events``), so these tests need no trained model. URLs are fetched
from a small HTTP server this file starts on 127.0.0.1 (slow, trickling, huge, untyped, 404,
redirects, non-ASCII names, a decompression bomb, a good image); nothing connects
elsewhere. What is refused before connecting (URL syntax, inline images, limits) is
``test_lambda_input.py``; the address policy is ``test_lambda_policy.py``.
"""

from __future__ import annotations

import http.server
import socket
import subprocess
import threading
import time

import pytest
from lambda_events import JPEG, PNG, answer, assert_400, expected, fx, image_bytes


# ---------------------------------------------------------------- the test server
class _Server(http.server.BaseHTTPRequestHandler):
    routes: dict = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.routes.get(self.path.split("?")[0], _Server.not_found)(self)

    def send(self, status, ctype, body, length=True):
        self.send_response(status)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def not_found(self):
        self.send(404, "text/plain", b"no")


def _stream(self, chunk=b"\0" * 65536, n=800, pause=0.0, ctype="image/jpeg"):
    self.send_response(200)
    self.send_header("Content-Type", ctype)
    self.end_headers()
    try:
        for _ in range(n):
            self.wfile.write(chunk)
            self.wfile.flush()
            time.sleep(pause)
    except OSError:
        pass


def _redirect(location: bytes):
    """A 302 whose Location goes out as these exact bytes (UTF-8, Latin-1, malformed)."""

    def go(self):
        self.send_response(302)
        self.send_header("Location", location.decode("latin-1"))  # back to the same bytes
        self.send_header("Content-Length", "0")
        self.end_headers()

    return go


def _slow(self):
    time.sleep(3)
    self.send(200, "image/jpeg", JPEG)


def _trickle_headers(self):
    self.send_response(200)
    self.flush_headers()  # the status line, then one header line every 0.3 s
    try:
        for i in range(50):
            self.wfile.write(f"X-Slow-{i}: a\r\n".encode())
            self.wfile.flush()
            time.sleep(0.3)
    except OSError:
        pass


def _declared_huge(self):
    self.send_response(200)
    self.send_header("Content-Type", "image/jpeg")
    self.send_header("Content-Length", str(10**9))
    self.end_headers()


ROUTES = {
    "/good.jpg": lambda s: s.send(200, "image/jpeg; charset=binary", JPEG),
    "/octet": lambda s: s.send(200, "application/octet-stream", JPEG),
    "/s3-untyped": lambda s: s.send(200, "binary/octet-stream", JPEG),
    "/no-type": lambda s: s.send(200, None, JPEG),
    "/text-typed.png": lambda s: s.send(200, "text/plain", PNG),
    "/chunked.jpg": lambda s: s.send(200, "image/jpeg", JPEG, length=False),
    "/caf%C3%A9.jpg": lambda s: s.send(200, "image/jpeg", JPEG),  # /café.jpg, encoded
    "/caf%E9.jpg": lambda s: s.send(200, "image/jpeg", JPEG),  # a Latin-1 byte, encoded
    "/a%20b.jpg": lambda s: s.send(200, "image/jpeg", JPEG),
    "/page.html": lambda s: s.send(200, "text/html", b"<html>cat</html>"),
    "/image-typed-html": lambda s: s.send(200, "image/jpeg", b"<html>cat</html>"),
    "/fake.jpg": lambda s: s.send(200, "image/jpeg", b"GIF89a but not really"),
    "/bomb.png": lambda s: s.send(200, "image/png", image_bytes((10_000, 10_000), "PNG", "1")),
    "/declared-huge": _declared_huge,
    "/huge": _stream,
    "/trickle": lambda s: _stream(s, chunk=b"\xff", n=100, pause=0.2),
    "/trickle-slowly": lambda s: _stream(s, chunk=b"\xff", n=5, pause=1.5),
    "/slow": _slow,
    "/trickle-headers": _trickle_headers,
    "/error": lambda s: s.send(500, "text/plain", b"oops"),
    "/redirect": _redirect(b"/good.jpg"),
    "/redirect-loop": _redirect(b"/redirect-loop"),
    "/redirect-ftp": _redirect(b"ftp://127.0.0.1/x.jpg"),
    "/redirect-metadata": _redirect(b"http://169.254.169.254/latest/meta-data/"),
    "/redirect-utf8": _redirect("/café.jpg".encode()),
    "/redirect-latin1": _redirect("/café.jpg".encode("latin-1")),
    "/redirect-unclosed": _redirect(b"http://[::1/a.jpg"),
    "/redirect-bracketed-name": _redirect(b"http://[example.com]/a.jpg"),
    "/redirect-nul": _redirect(b"http://exa\x00mple.com/a.jpg"),
}


@pytest.fixture(scope="module")
def server():
    _Server.routes = ROUTES
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def limits(monkeypatch):
    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "1")
    monkeypatch.setattr(fx, "READ_TIMEOUT", 1.0)
    monkeypatch.setattr(fx, "TOTAL_TIMEOUT", 2.0)
    monkeypatch.setattr(fx, "MAX_BYTES", 1_000_000)


# ---------------------------------------------------------------- good downloads
@pytest.mark.parametrize(
    "path",
    [
        "/good.jpg",
        "/octet",
        "/chunked.jpg",
        "/redirect",
        # the bytes decide, not the Content-Type (S3 serves untyped objects like this)
        "/s3-untyped",
        "/no-type",
        "/text-typed.png",
        # non-ASCII paths and redirects are percent-encoded as UTF-8 (raw bytes when not)
        "/café.jpg",
        "/caf%C3%A9.jpg",
        "/a b.jpg",
        "/café.jpg?q=é",
        "/redirect-utf8",
        "/redirect-latin1",
    ],
)
def test_good_urls(server, limits, path):
    assert answer({"url": server + path}) == expected(PNG if path.endswith(".png") else JPEG)


# ---------------------------------------------------------------- bad downloads
# Every failure to fetch answers the same text; the reason goes to the log (stdout: CloudWatch)
GENERIC = "could not fetch the image"


@pytest.mark.parametrize(
    "path, fragment, max_seconds",
    [
        ("/page.html", "not a decodable image", 2),
        ("/image-typed-html", "not a decodable image", 2),
        ("/fake.jpg", "not a decodable image", 2),
        ("/bomb.png", "exceed", 5),
    ],
)
def test_fetched_bytes_that_are_no_image_answer_400_quickly(
    server, limits, path, fragment, max_seconds
):
    start = time.monotonic()
    assert_400(answer({"url": server + path}), fragment)
    assert time.monotonic() - start < max_seconds


@pytest.mark.parametrize(
    "path, reason, max_seconds",
    [
        ("/missing.jpg", "HTTP 404", 2),
        ("/error", "HTTP 500", 2),
        ("/declared-huge", "limit is 1000000", 2),
        ("/huge", "limit of 1000000 bytes", 3),
        ("/slow", "timed out", 2.5),
        ("/trickle", "longer than 2 s", 3),
        ("/trickle-headers", "longer than 2 s", 3),
        ("/trickle-slowly", "no byte for 1 s", 3),  # a pause longer than the read timeout
        ("/redirect-loop", "more than 3 redirects", 2),
        ("/redirect-ftp", "http and https", 2),
        ("/redirect-unclosed", "redirect Location is malformed", 2),
        ("/redirect-bracketed-name", "redirect Location", 2),
        ("/redirect-nul", "redirect Location contains a control character", 2),
    ],
)
def test_failed_downloads_answer_one_text_quickly_and_log_why(
    server, limits, capsys, path, reason, max_seconds
):
    start = time.monotonic()
    result = answer({"url": server + path})
    assert time.monotonic() - start < max_seconds
    assert result["statusCode"] == 400 and result["error"] == GENERIC, result
    assert reason in capsys.readouterr().out


def test_a_refused_port_and_a_404_give_the_same_answer(server, limits, monkeypatch, capsys):
    monkeypatch.setattr(fx, "CONNECT_TIMEOUT", 1.0)
    with socket.socket() as s:  # a port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
        refused = answer({"url": f"http://127.0.0.1:{closed}/a.jpg"})
    missing = answer({"url": server + "/missing.jpg"})
    assert refused["statusCode"] == missing["statusCode"] == 400
    assert refused["error"] == missing["error"] == GENERIC
    log = capsys.readouterr().out
    assert "ConnectionRefusedError" in log and "HTTP 404" in log


def test_redirect_to_private_address_is_refused_by_default(server, monkeypatch):
    # the first hop is allowed only because the test server is on 127.0.0.1; check the
    # policy on the second hop with the allowance off
    monkeypatch.delenv("ALLOW_PRIVATE_URLS", raising=False)
    real = fx._resolve
    monkeypatch.setattr(
        fx, "_resolve", lambda host, port: "127.0.0.1" if host == "127.0.0.1" else real(host, port)
    )
    assert_400(answer({"url": server + "/redirect-metadata"}), "non-public address")


def test_unreachable_and_unresolvable_hosts(monkeypatch, capsys):
    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "1")
    monkeypatch.setattr(fx, "CONNECT_TIMEOUT", 1.0)
    assert_400(answer({"url": "http://127.0.0.1:9/a.jpg"}), GENERIC)
    assert "cannot fetch" in capsys.readouterr().out
    # .invalid never resolves (RFC 6761): no lookup leaves this machine
    assert_400(answer({"url": "http://no-such-host.invalid/a.jpg"}), GENERIC)
    assert "cannot resolve" in capsys.readouterr().out


# ---------------------------------------------------------------- https: certificates are verified
@pytest.fixture(scope="module")
def https_server(tmp_path_factory):
    import shutil
    import ssl

    if not shutil.which("openssl"):
        pytest.skip("no openssl command to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost"],
        check=True,
        capture_output=True,
    )
    _Server.routes = ROUTES
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    httpd.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "cert.pem", d / "key.pem")
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1], d / "cert.pem"
    httpd.shutdown()
    httpd.server_close()


def test_https_verifies_the_certificate_and_the_host_name(
    https_server, limits, monkeypatch, capsys
):
    import ssl

    port, cert = https_server
    url = f"https://localhost:{port}/good.jpg"
    # an unknown (self-signed) certificate is refused
    assert_400(answer({"url": url}), GENERIC)
    assert "CERTIFICATE_VERIFY_FAILED" in capsys.readouterr().out
    original = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: original(cafile=str(cert)))
    # trusted: the name in the URL is checked against the certificate (SNI + hostname check)
    assert answer({"url": url}) == expected(JPEG)
    # the same server by IP: the certificate does not name 127.0.0.1
    assert_400(answer({"url": f"https://127.0.0.1:{port}/good.jpg"}), GENERIC)
    assert "cannot fetch" in capsys.readouterr().out
