"""The hair Lambda's handler with a stand-in classifier, for the input tests.

``answer(event)`` runs ``hair_lambda.handle`` with a classifier that answers the decoded
image's size, so ``test_lambda_fetch.py`` (downloads) and ``test_lambda_input.py`` (URL
syntax, inline images, limits) need no model. ``hl`` and ``fx`` are the very modules the
handler uses (``service_files`` caches them), so a test monkeypatches ``fx``'s limits.
"""

from __future__ import annotations

import base64
import io
import json

import service_files
from PIL import Image

hl = service_files.load("09-serverless", "hair_lambda")
fx = hl.fetch


class Sizes:
    """Stands in for the model: answers the size of the image the handler decoded."""

    def predict(self, img):
        return {"size": list(img.size)}


def image_bytes(size=(64, 48), fmt="JPEG", mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (200, 120, 40) if mode == "RGB" else 0).save(buf, format=fmt)
    return buf.getvalue()


JPEG = image_bytes()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def answer(event):
    result = hl.handle(event, Sizes())
    json.dumps(result)
    return result


def assert_400(result, fragment=""):
    assert isinstance(result, dict) and result.get("statusCode") == 400, result
    assert fragment.lower() in result["error"].lower(), result
