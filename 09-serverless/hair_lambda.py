"""The hair-type classifier behind the Lambda handler: input checks, download, preprocessing, ONNX.

Library file of ``lambda_function.py`` (copied next to it into the container); it needs
only NumPy, Pillow and ONNX Runtime. The preprocessing repeats 08-deep-learning's
``hair.load_image`` step for step (the tests prove they agree) and then puts the channels
first, the layout the exported model expects (NCHW).
"""

from __future__ import annotations

import base64
import binascii
import http.client
import io
import ipaddress
import json
import math
import os
import socket
import ssl
import threading
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import numpy as np
from PIL import Image, UnidentifiedImageError

SIZE = (200, 200)
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
CLASSES = ("curly", "straight")

# Input limits (env overrides, read once at import)
MAX_BYTES = int(os.environ.get("MAX_IMAGE_BYTES", 10 * 1024 * 1024))  # download / inline size
MAX_PIXELS = int(os.environ.get("MAX_IMAGE_PIXELS", 40_000_000))  # width * height
CONNECT_TIMEOUT = float(os.environ.get("CONNECT_TIMEOUT", 3.0))  # seconds
READ_TIMEOUT = float(os.environ.get("READ_TIMEOUT", 5.0))  # seconds without a byte
TOTAL_TIMEOUT = float(os.environ.get("TOTAL_TIMEOUT", 10.0))  # whole download
MAX_REDIRECTS = 3
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
# Pillow raises DecompressionBombError above 2x this and warns above it; the warning is
# turned into an error below, and the header size is checked before decoding anyway.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class BadInput(ValueError):
    """A problem with the request: answered with status 400 and the message."""


def allow_private_urls() -> bool:
    """``ALLOW_PRIVATE_URLS=1`` lets URLs reach private/loopback addresses (tests, local use)."""
    return os.environ.get("ALLOW_PRIVATE_URLS", "") == "1"


# ---------------------------------------------------------------- preprocessing
def open_image(data: bytes) -> Image.Image:
    """Decode bytes into a Pillow image, refusing non-images and decompression bombs."""
    if not data:
        raise BadInput("empty image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = img.size
            if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
                raise BadInput(f"image dimensions {width}x{height} exceed {MAX_PIXELS} pixels")
            img.seek(0)  # first frame of an animated GIF/WebP
            img.load()
            return img
    except BadInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadInput(f"image too large: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadInput(f"not a decodable image ({type(exc).__name__})") from None


def preprocess(img: Image.Image) -> np.ndarray:
    """Pillow image -> float32 (1, 3, 200, 200): 08's ``load_image`` with channels first."""
    img = img.convert("RGB").resize(SIZE, Image.NEAREST)
    x = np.asarray(img, dtype=np.float32) / 255.0
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


# ---------------------------------------------------------------- download
def _check_address(ip: str) -> None:
    addr = ipaddress.ip_address(ip.split("%")[0])
    if getattr(addr, "ipv4_mapped", None):
        addr = addr.ipv4_mapped
    if not addr.is_global or addr.is_multicast:
        raise BadInput(f"URL resolves to a non-public address ({addr}); refused")


def _resolve(host: str, port: int) -> str:
    """One vetted IP address for ``host`` (every address it resolves to must be public)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BadInput(f"cannot resolve host {host!r}: {exc}") from None
    ips = [info[4][0] for info in infos]
    if not ips:
        raise BadInput(f"cannot resolve host {host!r}")
    if not allow_private_urls():
        for ip in ips:
            _check_address(ip)
    return ips[0]


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


def _get_once(url: str, deadline: float) -> tuple[int, dict[str, str], bytes | None]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BadInput("only http and https URLs are accepted")
    if not parts.hostname:
        raise BadInput("URL has no host")
    if parts.username or parts.password:
        raise BadInput("URLs with credentials are refused")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise BadInput("URL has an invalid port") from None
    ip = _resolve(parts.hostname, port)
    cls = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    conn = cls(parts.hostname, port, ip)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise BadInput(f"download took longer than {TOTAL_TIMEOUT:g} s")
    # the whole-download deadline, even for a server that trickles its headers: a watchdog
    # shuts the socket down, which wakes up any blocked read
    watchdog = threading.Timer(remaining, _abort, [conn])
    watchdog.daemon = True
    watchdog.start()
    resp = None
    try:
        conn.request(
            "GET", path, headers={"User-Agent": "hair-classifier-lambda/1", "Accept": "image/*"}
        )
        resp = conn.getresponse()
        if time.monotonic() >= deadline:  # the watchdog cut the headers short
            raise BadInput(f"download took longer than {TOTAL_TIMEOUT:g} s")
        headers = {k.lower(): v for k, v in resp.getheaders()}
        if resp.status != 200:
            return resp.status, headers, None
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if not (ctype.startswith("image/") or ctype == "application/octet-stream"):
            raise BadInput(f"URL content type is {ctype or 'missing'!r}, not an image")
        length = headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BYTES:
            raise BadInput(f"image is {int(length)} bytes; the limit is {MAX_BYTES}")
        chunks, total = [], 0
        while True:
            if time.monotonic() > deadline:
                raise BadInput(f"download took longer than {TOTAL_TIMEOUT:g} s")
            chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_BYTES:
                raise BadInput(f"image exceeds the limit of {MAX_BYTES} bytes")
            chunks.append(chunk)
        if time.monotonic() >= deadline:  # the watchdog cut the body short
            raise BadInput(f"download took longer than {TOTAL_TIMEOUT:g} s")
        return 200, headers, b"".join(chunks)
    except (OSError, http.client.HTTPException) as exc:
        if time.monotonic() >= deadline:
            raise BadInput(f"download took longer than {TOTAL_TIMEOUT:g} s") from None
        if isinstance(exc, TimeoutError):
            raise BadInput("timed out fetching the URL") from None
        raise BadInput(f"cannot fetch the URL ({type(exc).__name__}: {exc})") from None
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


def fetch(url: str) -> bytes:
    """GET an image over http(s) with the limits above, following up to 3 redirects."""
    deadline = time.monotonic() + TOTAL_TIMEOUT
    for _ in range(MAX_REDIRECTS + 1):
        status, headers, body = _get_once(url, deadline)
        if body is not None:
            return body
        if status in (301, 302, 303, 307, 308) and headers.get("location"):
            url = urljoin(url, headers["location"])
            continue
        raise BadInput(f"URL answered HTTP {status}")
    raise BadInput(f"more than {MAX_REDIRECTS} redirects")


# ---------------------------------------------------------------- model
def default_model_path() -> Path:
    """``MODEL_PATH``, else ``hair_classifier.onnx`` in ``LAMBDA_TASK_ROOT``, else ``model/``."""
    if os.environ.get("MODEL_PATH"):
        return Path(os.environ["MODEL_PATH"])
    here = Path(os.environ.get("LAMBDA_TASK_ROOT") or Path(__file__).resolve().parent)
    candidate = here / "hair_classifier.onnx"
    return candidate if candidate.is_file() else here / "model" / "hair_classifier.onnx"


def sigmoid(z: float) -> float:
    """P(positive class) from a logit, without overflow for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class HairClassifier:
    """An ONNX Runtime session over the exported model, checked against its metadata JSON."""

    def __init__(self, path: str | os.PathLike) -> None:
        import onnxruntime as ort  # imported here so preprocessing works without it

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"no ONNX model at {path} (export it: see 09-serverless/README.md)"
            )
        meta_path = path.with_suffix(".json")
        self.meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # one thread by default: Lambda gives < 1 vCPU below 1769 MB, and on a shared CPU
        # extra spinning threads made a call 2-3x slower (README); ORT_THREADS=0: ORT's choice
        threads = int(os.environ.get("ORT_THREADS", "1") or 1)
        if threads > 0:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        inp, out = self.session.get_inputs()[0], self.session.get_outputs()[0]
        self.input_name, self.output_name = inp.name, out.name
        for key, actual in (("input_name", inp.name), ("output_name", out.name)):
            if key in self.meta and self.meta[key] != actual:
                raise ValueError(f"{path}: metadata {key} {self.meta[key]!r} != graph {actual!r}")
        if list(inp.shape[1:]) != [3, *SIZE]:
            raise ValueError(f"{path}: input shape {inp.shape}, expected [N, 3, 200, 200]")
        self.classes = tuple(self.meta.get("classes", CLASSES))
        self.positive = self.meta.get("positive_class", self.classes[1])

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Raw logits, shape (N,), for a float32 (N, 3, 200, 200) batch."""
        return self.session.run([self.output_name], {self.input_name: x})[0].reshape(-1)

    def predict(self, img: Image.Image) -> dict[str, Any]:
        logit = float(self.logits(preprocess(img))[0])
        prob = sigmoid(logit)
        negative = next(c for c in self.classes if c != self.positive)
        return {
            "prediction": prob,
            "logit": logit,
            "label": self.positive if prob >= 0.5 else negative,
            "probabilities": {negative: 1.0 - prob, self.positive: prob},
        }


# ---------------------------------------------------------------- the request
def parse_event(event: Any) -> tuple[dict[str, Any], bool]:
    """The request fields and whether the event came through API Gateway (``body``)."""
    if not isinstance(event, dict):
        raise BadInput("the event must be a JSON object")
    if "body" in event:
        body = event["body"]
        if body is None:
            raise BadInput("empty request body")
        if event.get("isBase64Encoded") and isinstance(body, str):
            try:
                body = base64.b64decode(body, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise BadInput("body is not valid base64 UTF-8") from None
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except json.JSONDecodeError:
                raise BadInput("body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BadInput("body must be a JSON object")
        return body, True
    return event, False


def image_from_request(req: dict[str, Any]) -> Image.Image:
    has_url, has_b64 = "url" in req, "image_b64" in req
    if has_url == has_b64:
        raise BadInput('send exactly one of "url" or "image_b64"')
    if has_url:
        url = req["url"]
        if not isinstance(url, str) or not url.strip() or len(url) > 2048:
            raise BadInput('"url" must be a non-empty string (at most 2048 characters)')
        return open_image(fetch(url.strip()))
    data = req["image_b64"]
    if not isinstance(data, str) or not data:
        raise BadInput('"image_b64" must be a non-empty base64 string')
    if len(data) > MAX_BYTES * 4 // 3 + 4:
        raise BadInput(f"inline image exceeds the limit of {MAX_BYTES} bytes")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput('"image_b64" is not valid base64') from None
    return open_image(raw)


def _respond(status: int, payload: dict[str, Any], gateway: bool) -> dict[str, Any]:
    if gateway:
        return {
            "statusCode": status,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(payload),
        }
    return payload if status == 200 else {"statusCode": status, **payload}


def handle(event: Any, classifier: HairClassifier) -> dict[str, Any]:
    """The whole request: never raises; errors become ``{"statusCode": 4xx/5xx, "error": ...}``."""
    gateway = isinstance(event, dict) and "body" in event
    try:
        req, gateway = parse_event(event)
        img = image_from_request(req)
        return _respond(200, classifier.predict(img), gateway)
    except BadInput as exc:
        return _respond(400, {"error": str(exc)}, gateway)
    except Exception as exc:  # the function answers, whatever happened
        print(f"internal error: {type(exc).__name__}: {exc}")  # CloudWatch log
        return _respond(500, {"error": "internal error"}, gateway)
