"""The Lambda event -> what ``predict`` takes, and the answer back in the event's own form.

Library file of ``lambda_function.py`` (copied next to it into the image). An event is the
request itself (``{"url": ...}`` or ``{"image_b64": ...}``, a direct invocation) or an API
Gateway proxy event whose ``body`` is that request as a JSON string (base64 when
``isBase64Encoded``). Every problem with it is a ``BadInput``: a 400 with the message.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import fetch
from fetch import BadInput
from PIL import Image
from preprocess import open_image

# REST APIs send "httpMethod", HTTP APIs "version"/"routeKey", both "requestContext"; an HTTP
# API event of a POST with an empty body has no "body" key at all
PROXY_KEYS = ("body", "requestContext", "routeKey", "httpMethod")


def is_proxy(event: Any) -> bool:
    """Whether the event came through API Gateway (and gets a proxy answer)."""
    if not isinstance(event, dict):
        return False
    return any(key in event for key in PROXY_KEYS) or event.get("version") in ("1.0", "2.0")


def _body(event: dict[str, Any]) -> Any:
    body = event.get("body")
    if body is None:
        raise BadInput("empty request body")
    if event.get("isBase64Encoded") and isinstance(body, str):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadInput("body is not valid base64 UTF-8") from None
    if isinstance(body, str):
        try:
            return json.loads(body)
        except json.JSONDecodeError:
            raise BadInput("body is not valid JSON") from None
        except RecursionError:  # e.g. 5,000 nested lists: json's parser recurses
            raise BadInput("body is not valid JSON (nested too deeply)") from None
    return body


def read_request(event: Any) -> str | Image.Image:
    """The URL to download, or the inline image decoded (``predict`` takes either)."""
    if not isinstance(event, dict):
        raise BadInput("the event must be a JSON object")
    request = _body(event) if is_proxy(event) else event
    if not isinstance(request, dict):
        raise BadInput("body must be a JSON object")
    has_url, has_b64 = "url" in request, "image_b64" in request
    if has_url == has_b64:
        raise BadInput('send exactly one of "url" or "image_b64"')
    if has_url:
        url, limit = request["url"], fetch.MAX_URL_CHARS
        if not isinstance(url, str) or not url.strip() or len(url) > limit:
            raise BadInput(f'"url" must be a non-empty string (at most {limit} characters)')
        return url.strip()
    return open_image(fetch.decode_inline(request["image_b64"]))


def respond(status: int, payload: dict[str, Any], event: Any) -> dict[str, Any]:
    """The answer in the event's form: a proxy answer (``statusCode``, ``headers``, ``body``)
    to API Gateway, else the payload itself, with ``statusCode`` beside an error."""
    if is_proxy(event):
        headers = {"Content-Type": "application/json"}
        return {"statusCode": status, "headers": headers, "body": json.dumps(payload)}
    return payload if status == 200 else {"statusCode": status, **payload}
