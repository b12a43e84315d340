"""Untrusted input of the hair Lambda before decoding: limits, URLs, the address policy, download.

Library file of ``lambda_function.py`` (copied next to it into the image); standard library
and ``address_policy.py`` only. Limits come from the environment once, at import: a bad
value stops the function at start-up with a one-line ``error: VARIABLE=...`` instead of a
traceback. Which addresses are refused is ``address_policy.py``'s table; here it is applied
to every address a host resolves to, before connecting.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import ipaddress
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import quote, urljoin, urlsplit

import address_policy


class BadInput(ValueError):
    """A problem with the request: answered with status 400 and the message."""


# Every failure of a download gets this one answer: distinct texts (refused, unresolvable,
# timed out, HTTP 404, too large) would let any caller map hosts and ports through the
# function. The reason goes to the log (CloudWatch) only.
FETCH_FAILED = "could not fetch the image"


class FetchFailed(Exception):
    """A download that did not work; the caller sees FETCH_FAILED, the log this reason."""


class ConfigError(ValueError):
    """A bad environment value; the message is one line naming the variable."""


# ---------------------------------------------------------------- limits (environment)
# Lambda refuses a synchronous invocation whose payload exceeds 6 MB; base64 turns n bytes
# into 4 * ceil(n / 3) characters, and the JSON around them needs a few more.
LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024
INLINE_CEILING = (LAMBDA_PAYLOAD_BYTES - 1024) // 4 * 3  # 4,717,824 bytes

# name: (default, kind, lowest, highest)
SETTINGS: dict[str, tuple[float, type, float, float]] = {
    "MAX_IMAGE_BYTES": (10 * 1024 * 1024, int, 1, 1024**3),  # a download
    "MAX_INLINE_BYTES": (4 * 1024 * 1024, int, 1, INLINE_CEILING),  # an inline image
    "MAX_IMAGE_PIXELS": (40_000_000, int, 1, 1_000_000_000),  # width * height
    "CONNECT_TIMEOUT": (3.0, float, 0.01, 900),  # seconds
    "READ_TIMEOUT": (5.0, float, 0.01, 900),  # seconds without a byte
    "TOTAL_TIMEOUT": (10.0, float, 0.01, 900),  # the whole download, redirects included
}


def read_limits(environ: Mapping[str, str]) -> dict[str, Any]:
    """The limits from ``environ`` (defaults for unset or empty), or a one-line ConfigError."""
    limits: dict[str, Any] = {}
    for name, (default, kind, low, high) in SETTINGS.items():
        raw = environ.get(name, "").strip()
        if not raw:
            limits[name] = kind(default)
            continue
        try:
            value = kind(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:  # also refuses nan and inf
            what = f"an integer from {low} to {high}" if kind is int else f"seconds, {low}-{high}"
            raise ConfigError(f"{name}={raw[:40]!r}: must be {what}")
        limits[name] = value
    private = environ.get("ALLOW_PRIVATE_URLS", "")
    if private not in ("", "0", "1"):
        raise ConfigError(f"ALLOW_PRIVATE_URLS={private[:40]!r}: must be 1, 0 or unset")
    return limits


try:
    _LIMITS = read_limits(os.environ)
except ConfigError as exc:
    raise SystemExit(f"error: {exc}") from None
MAX_BYTES: int = _LIMITS["MAX_IMAGE_BYTES"]
MAX_INLINE_BYTES: int = _LIMITS["MAX_INLINE_BYTES"]
MAX_PIXELS: int = _LIMITS["MAX_IMAGE_PIXELS"]
CONNECT_TIMEOUT: float = _LIMITS["CONNECT_TIMEOUT"]
READ_TIMEOUT: float = _LIMITS["READ_TIMEOUT"]
TOTAL_TIMEOUT: float = _LIMITS["TOTAL_TIMEOUT"]
MAX_REDIRECTS = 3
MAX_URL_CHARS = 2048


def allow_private_urls() -> bool:
    """``ALLOW_PRIVATE_URLS=1`` lets URLs reach non-public addresses (tests, local use)."""
    return os.environ.get("ALLOW_PRIVATE_URLS", "") == "1"


# ---------------------------------------------------------------- inline images
def _b64_chars(n: int) -> int:
    return 4 * ((n + 2) // 3)


def decode_inline(data: Any) -> bytes:
    """The bytes of ``image_b64``, within ``min(MAX_INLINE_BYTES, MAX_IMAGE_BYTES)``."""
    if not isinstance(data, str) or not data:
        raise BadInput('"image_b64" must be a non-empty base64 string')
    limit = min(MAX_INLINE_BYTES, MAX_BYTES)
    too_big = f"inline image exceeds the limit of {limit} bytes; send a larger image by URL"
    if len(data) > _b64_chars(limit):  # refused before decoding anything
        raise BadInput(too_big)
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput('"image_b64" is not valid base64') from None
    if len(raw) > limit:
        raise BadInput(too_big)
    return raw


# ---------------------------------------------------------------- the address policy, applied
def check_address(ip: str) -> None:
    why = address_policy.refusal(ip)
    if why:
        raise BadInput(f"URL resolves to a non-public address {ip} ({why}); refused")


def _resolve(host: str, port: int) -> str:
    """One vetted IP address for ``host`` (every address it resolves to must be public)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:
        raise FetchFailed(f"cannot resolve host {host!r}: {exc}") from None
    ips = [info[4][0] for info in infos]
    if not ips:
        raise FetchFailed(f"cannot resolve host {host!r}")
    if not allow_private_urls():
        for ip in ips:
            check_address(ip)
    return ips[0]


# ---------------------------------------------------------------- URLs
class Target(NamedTuple):
    scheme: str
    host: str  # ASCII: IDNA for names, the bare address for IPv6 literals
    port: int
    path: str  # percent-encoded path and query, what goes on the request line
    url: str  # the normalised URL, the base for a relative redirect


_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
_HOST_PORT = re.compile(r"(?:\[(?P<v6>[^\[\]]*)\]|(?P<name>[^:\[\]]*))(?::(?P<port>[0-9]*))?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_url(url: str, what: str = "URL") -> Target:
    """Check ``url`` and percent-encode its path and query; any defect is a BadInput."""
    if _CONTROL.search(url):
        raise BadInput(f"{what} contains a control character")
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:  # an unclosed or invalid [IPv6] host
        raise BadInput(f"{what} is malformed ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BadInput("only http and https URLs are accepted")
    if "@" in parts.netloc:
        raise BadInput("URLs with credentials are refused")
    match = _HOST_PORT.fullmatch(parts.netloc)
    if not match:
        raise BadInput(f"{what} has a malformed host or port")
    if match["v6"] is not None:
        try:
            if "%" in match["v6"]:  # a zone id: only link-local addresses have one
                raise ValueError
            host = ipaddress.IPv6Address(match["v6"]).compressed
        except ValueError:
            raise BadInput(f"{what} host [{match['v6'][:60]}] is not an IPv6 address") from None
        netloc = f"[{host}]"
    else:
        try:
            host = match["name"].encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise BadInput(f"{what} host {match['name'][:60]!r} is not a valid name") from None
        if not host:
            raise BadInput("URL has no host")
        if not _HOST_NAME.fullmatch(host):
            raise BadInput(f"{what} host {host[:60]!r} is not a valid name")
        netloc = host
    port = int(match["port"]) if match["port"] else (443 if scheme == "https" else 80)
    if not 1 <= port <= 65535:
        raise BadInput("URL has an invalid port")
    if match["port"]:
        netloc += f":{port}"
    # non-ASCII becomes %XX of its UTF-8; existing %XX escapes stay as they are
    path = quote(parts.path or "/", safe=_SAFE_PATH)
    if parts.query:
        path += "?" + quote(parts.query, safe=_SAFE_QUERY)
    return Target(scheme, host, port, path, f"{scheme}://{netloc}{path}")


def redirect_target(base: str, location: str) -> Target:
    """The next hop of a redirect; http.client hands ``Location`` over as Latin-1."""
    raw = location.encode("latin-1", errors="replace").strip()
    try:
        text = raw.decode("utf-8")  # what servers send in practice
    except UnicodeDecodeError:  # other bytes: percent-encode them as they are
        text = quote(raw, safe=bytes(range(0x21, 0x7F)))
    try:
        url = urljoin(base, text)
    except ValueError as exc:
        raise BadInput(f"redirect Location is malformed ({exc})") from None
    return parse_url(url, what="redirect Location")


# ---------------------------------------------------------------- download
class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the already vetted IP (no second DNS lookup: no DNS rebinding)."""

    def __init__(self, host: str, port: int, ip: str, **kw: Any) -> None:
        super().__init__(host, port, **kw)
        self._ip = ip

    def connect(self) -> None:
        self.sock = self.raw = socket.create_connection(
            (self._ip, self.port), timeout=CONNECT_TIMEOUT
        )
        self.sock.settimeout(READ_TIMEOUT)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, ip: str, **kw: Any) -> None:
        super().__init__(host, port, context=ssl.create_default_context(), **kw)
        self._ip = ip

    def connect(self) -> None:
        raw = socket.create_connection((self._ip, self.port), timeout=CONNECT_TIMEOUT)
        self.raw = raw
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)
        self.sock.settimeout(READ_TIMEOUT)


def _too_slow() -> FetchFailed:
    return FetchFailed(f"download took longer than {TOTAL_TIMEOUT:g} s")


def _get_once(target: Target, deadline: float) -> tuple[int, str, bytes | None]:
    """(status, Location, body): the body only for a 200, whatever its Content-Type."""
    ip = _resolve(target.host, target.port)
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = cls(target.host, target.port, ip)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _too_slow()
    # the whole-download deadline, even for a server that trickles its headers: a watchdog
    # shuts the socket down, which wakes up any blocked read
    watchdog = threading.Timer(remaining, _abort, [conn])
    watchdog.daemon = True
    watchdog.start()
    resp = None
    try:
        headers = {"User-Agent": "hair-classifier-lambda/1", "Accept": "image/*"}
        conn.request("GET", target.path, headers=headers)
        resp = conn.getresponse()
        if time.monotonic() >= deadline:  # the watchdog cut the headers short
            raise _too_slow()
        if resp.status != 200:
            return resp.status, resp.getheader("location", ""), None
        # no Content-Type check: S3 serves untyped objects as binary/octet-stream, and the
        # decoder decides from the bytes whether they are an image
        length = resp.getheader("content-length", "")
        if length.isascii() and length.isdigit() and int(length) > MAX_BYTES:
            raise FetchFailed(f"image is {int(length)} bytes; the limit is {MAX_BYTES}")
        chunks, total = [], 0
        while True:
            if time.monotonic() > deadline:
                raise _too_slow()
            chunk = resp.read1(65536)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_BYTES:
                raise FetchFailed(f"image exceeds the limit of {MAX_BYTES} bytes")
            chunks.append(chunk)
        if time.monotonic() >= deadline:  # the watchdog cut the body short
            raise _too_slow()
        return 200, "", b"".join(chunks)
    except (OSError, http.client.HTTPException) as exc:
        if time.monotonic() >= deadline:
            raise _too_slow() from None
        if isinstance(exc, TimeoutError):
            raise FetchFailed(
                f"timed out fetching the URL (no byte for {READ_TIMEOUT:g} s)"
            ) from None
        raise FetchFailed(f"cannot fetch the URL ({type(exc).__name__}: {exc})") from None
    finally:
        watchdog.cancel()
        if resp is not None:
            resp.close()  # the response owns the socket when the server closes the connection
        conn.close()


def _abort(conn: http.client.HTTPConnection) -> None:
    sock = getattr(conn, "raw", None)  # conn.sock is None once the response owns the socket
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def download(url: str) -> bytes:
    """GET ``url`` over http(s) within the limits above, following up to 3 redirects.

    A defect of ``url`` itself and a refused address are named in the BadInput; any other
    failure answers FETCH_FAILED and logs the reason."""
    target = parse_url(url)
    try:
        return _follow(target, time.monotonic() + TOTAL_TIMEOUT)
    except FetchFailed as exc:
        # repr: the reason may quote what the remote server sent (a Location, an error)
        print(f"fetch failed: {target.url[:200]!r}: {str(exc)!r}")  # CloudWatch
        raise BadInput(FETCH_FAILED) from None


def _follow(target: Target, deadline: float) -> bytes:
    for _ in range(MAX_REDIRECTS + 1):
        status, location, body = _get_once(target, deadline)
        if body is not None:
            return body
        if status in (301, 302, 303, 307, 308) and location.strip():
            try:  # the Location comes from the server, not from the caller
                target = redirect_target(target.url, location)
            except BadInput as exc:
                raise FetchFailed(str(exc)) from None
            continue
        raise FetchFailed(f"URL answered HTTP {status}")
    raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")
