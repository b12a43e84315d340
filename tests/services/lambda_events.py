"""The hair Lambda's handler on the tiny stand-in model, for the input, fetch and policy tests.

``lf`` is ``09-serverless/lambda_function.py`` imported as Lambda imports it, with
``MODEL_PATH`` on a tiny ONNX model of the real interface (``build.write_tiny_model``), so
these tests need no trained model. ``answer(event)`` calls ``lf.lambda_handler``;
``expected(data)`` is the answer ``lf.predict`` gives that image decoded here, so an answer
equal to it shows the handler decoded those very bytes. ``fx`` (``fetch.py``) and ``pre``
(``preprocess.py``) are the modules the handler runs, so a test monkeypatches their limits.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import service_files
from PIL import Image

from zoomcamp import paths

build = service_files.load("09-serverless", "build")  # also puts 09-serverless on sys.path
HANDLER = paths.module_dir("09-serverless") / "lambda_function.py"


def load_handler(model_path: Path):
    """A fresh ``lambda_function`` module whose import opened ``model_path``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODEL_PATH", str(model_path))
        spec = importlib.util.spec_from_file_location(f"lf_{uuid.uuid4().hex}", HANDLER)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


_TINY = tempfile.TemporaryDirectory(prefix="tiny-hair-model-")  # removed at exit
lf = load_handler(build.write_tiny_model(Path(_TINY.name)))
fx = sys.modules[lf.download.__module__]
pre = sys.modules[lf.open_image.__module__]


def image_bytes(size=(64, 48), fmt="JPEG", mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (200, 120, 40) if mode == "RGB" else 0).save(buf, format=fmt)
    return buf.getvalue()


JPEG = image_bytes()
PNG = image_bytes(fmt="PNG")


def expected(data: bytes) -> dict:
    return lf.predict(Image.open(io.BytesIO(data)))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def answer(event):
    result = lf.lambda_handler(event, None)
    json.dumps(result)
    return result


def assert_400(result, fragment=""):
    assert isinstance(result, dict) and result.get("statusCode") == 400, result
    assert fragment.lower() in result["error"].lower(), result
