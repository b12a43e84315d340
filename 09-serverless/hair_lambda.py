"""The hair-type classifier behind the Lambda handler: input checks, download, preprocessing, ONNX.

Library file of ``lambda_function.py`` (copied next to it into the container); it needs
only NumPy, Pillow, ONNX Runtime and ``fetch.py`` (limits, URL policy, download; its
address table is ``address_policy.py``). The preprocessing repeats 08-deep-learning's step
for step (``zoomcamp.hair.data``: NEAREST resize for the Keras export, bilinear for the PyTorch
one, as torchvision's ``Resize`` on a PIL image) with every constant, the resampling
included, read from the model's ``metadata.json`` (the tests prove they agree on real
images) and then puts the channels first, the layout the exported model expects (NCHW).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import fetch
import numpy as np
from fetch import MAX_PIXELS, BadInput
from PIL import Image, UnidentifiedImageError

# the input limits (MAX_PIXELS among them), URLs and the download live in fetch.py
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
# Pillow raises DecompressionBombError above 2x this and warns above it; the warning is
# turned into an error below, and the header size is checked before decoding anyway.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


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
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's message quotes its own threshold (2x ours for the error): quote ours
        raise BadInput(f"image exceeds the limit of {MAX_PIXELS} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadInput(f"not a decodable image ({type(exc).__name__})") from None


RESAMPLING = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


class Preprocessing:
    """08's preprocessing with channels first, every constant read from the model's metadata
    (``preprocessing``, written by 08's exports from ``zoomcamp.hair.data.preprocessing``):
    ``resample`` is "nearest" (Keras export) or "bilinear" (PyTorch export, the default)."""

    def __init__(self, meta: dict[str, Any]) -> None:
        pre = meta.get("preprocessing")
        if not isinstance(pre, dict):
            raise ValueError("the model metadata has no 'preprocessing'")
        try:
            width, height = (int(v) for v in pre["size"])
            self.size = (width, height)
            self.resample = RESAMPLING[pre["resample"]]
            # 08 divides by 255; dividing by the float32 reciprocal of the scale does the same
            self.divisor = np.float32(1.0 / float(pre["scale"]))
            self.mean = np.array(pre["mean"], dtype=np.float32).reshape(3)
            self.std = np.array(pre["std"], dtype=np.float32).reshape(3)
            fixed = (pre["mode"], pre["layout"], pre.get("first_frame", True))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"bad 'preprocessing' in the model metadata: {exc!r}") from None
        if fixed != ("RGB", "NCHW", True):
            raise ValueError(f"unsupported preprocessing (mode, layout, first frame) {fixed}")

    def __call__(self, img: Image.Image) -> np.ndarray:
        """Pillow image -> float32 (1, 3, height, width)."""
        img = img.convert("RGB").resize(self.size, self.resample)
        x = np.asarray(img, dtype=np.float32) / self.divisor
        x = (x - self.mean) / self.std
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


# ---------------------------------------------------------------- model
SCHEMA = "zoomcamp-model/1"  # zoomcamp.artifacts' schema; this file reads it on its own
METADATA_FILE = "metadata.json"


def default_model_path() -> Path:
    """``MODEL_PATH``, else ``hair_classifier.onnx`` in ``LAMBDA_TASK_ROOT``, else ``model/``;
    its ``metadata.json`` lies next to it."""
    if os.environ.get("MODEL_PATH"):
        return Path(os.environ["MODEL_PATH"])
    here = Path(os.environ.get("LAMBDA_TASK_ROOT") or Path(__file__).resolve().parent)
    candidate = here / "hair_classifier.onnx"
    return candidate if candidate.is_file() else here / "model" / "hair_classifier.onnx"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def read_metadata(folder: str | os.PathLike) -> dict[str, Any]:
    """``folder/metadata.json`` once its schema and the sha256 of every file it lists are
    checked: a swapped or truncated model is refused before ONNX Runtime opens it."""
    folder = Path(folder)
    path = folder / METADATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {path} (copy the model with 09-serverless/build.py)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a {SCHEMA} metadata file")
    files = meta.get("files")
    if not isinstance(files, dict) or not files:
        raise ValueError(f"{path}: 'files' must map each model file to its sha256")
    for name, expected in files.items():
        if not isinstance(name, str) or Path(name).name != name:
            raise ValueError(f"{path} names {name!r}, not a plain file name")
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name} is missing (listed in {METADATA_FILE})")
        if _sha256(folder / name) != expected:
            raise ValueError(f"{folder / name} does not match the sha256 in {METADATA_FILE}")
    return meta


def sigmoid(z: float) -> float:
    """P(positive class) from a logit, without overflow for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class HairClassifier:
    """An ONNX Runtime session over the exported model, checked against its metadata; the
    preprocessing, names, classes and shapes all come from that metadata."""

    def __init__(self, path: str | os.PathLike) -> None:
        import onnxruntime as ort  # imported here so preprocessing works without it

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no ONNX model at {path} (see 09-serverless/README.md)")
        self.meta = read_metadata(path.parent)
        if path.name not in self.meta["files"]:
            raise ValueError(f"{path.name} is not listed in {path.parent / METADATA_FILE}")
        self.preprocess = Preprocessing(self.meta)
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
            if self.meta.get(key) != actual:
                raise ValueError(f"{path}: metadata {key} {self.meta.get(key)!r} != {actual!r}")
        width, height = self.preprocess.size
        if list(inp.shape[1:]) != [3, height, width]:
            raise ValueError(f"{path}: input shape {inp.shape}, expected [N, 3, {height}, {width}]")
        if self.meta.get("output") != "logit":
            raise ValueError(f"{path}: output {self.meta.get('output')!r}, expected 'logit'")
        self.classes = tuple(self.meta.get("classes", ()))
        self.positive = self.meta.get("positive_class")
        if len(self.classes) != 2 or self.positive not in self.classes:
            raise ValueError(f"{path}: classes {self.classes}, positive {self.positive!r}")

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Raw logits, shape (N,), for a preprocessed float32 (N, 3, H, W) batch."""
        return self.session.run([self.output_name], {self.input_name: x})[0].reshape(-1)

    def predict(self, img: Image.Image) -> dict[str, Any]:
        logit = float(self.logits(self.preprocess(img))[0])
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
        limit = fetch.MAX_URL_CHARS
        if not isinstance(url, str) or not url.strip() or len(url) > limit:
            raise BadInput(f'"url" must be a non-empty string (at most {limit} characters)')
        return open_image(fetch.fetch(url.strip()))
    return open_image(fetch.decode_inline(req["image_b64"]))


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
