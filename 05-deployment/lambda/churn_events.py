"""The churn Lambda's event -> a validated request, and the answer back in the event's form.

Library file of ``lambda_function.py`` (copied next to it into the image). An event is the
request itself (``{"customer": {...}}``, a direct invocation) or an API Gateway proxy event
(REST or HTTP API) whose ``body`` is that request as a JSON string, base64 when
``isBase64Encoded``. Both are checked as JSON bytes by the service's own schema
(``churn_scoring.Customer``); every problem is a ``BadRequest``: 400, or 413 when too large.
"""

import base64
import binascii
import json
from typing import Any

from churn_scoring import Customer
from pydantic import BaseModel, ConfigDict, ValidationError

# a customer is ~500 bytes (~800 indented); the service takes 4 KiB per customer. The
# bound keeps a 400's cost small: pydantic builds one error per offending key.
MAX_BODY_BYTES = 4 * 1024 + 64
MAX_ERRORS = 10
# REST APIs send "httpMethod", HTTP APIs "version"/"routeKey", both "requestContext"; an HTTP
# API event of a POST with an empty body has no "body" key at all
PROXY_KEYS = ("body", "requestContext", "routeKey", "httpMethod")


class Request(BaseModel):
    """The workshop's event: one customer under ``customer``."""

    model_config = ConfigDict(extra="forbid")
    customer: Customer


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def is_proxy(event: Any) -> bool:
    """Whether the event came through API Gateway (and gets a proxy answer)."""
    if not isinstance(event, dict):
        return False
    return any(key in event for key in PROXY_KEYS) or event.get("version") in ("1.0", "2.0")


def _direct_bytes(event: dict[str, Any]) -> bytes:
    # the runtime parsed the JSON already; in-process callers may pass anything
    try:
        return json.dumps(event, allow_nan=False).encode()
    except RecursionError:
        raise BadRequest(400, "the event is nested too deeply") from None
    except ValueError:
        raise BadRequest(400, "numbers must be finite") from None
    except TypeError as exc:  # a set, bytes, ...: not JSON
        raise BadRequest(400, f"the event must hold JSON values only ({exc})"[:200]) from None


def _body_bytes(event: dict[str, Any]) -> bytes:
    body = event.get("body")
    if not isinstance(body, str) or not body:
        raise BadRequest(400, "the request body must be a non-empty JSON string")
    if len(body) > 2 * MAX_BODY_BYTES:  # base64 grows it by 4/3
        raise BadRequest(413, f"request body over {MAX_BODY_BYTES} bytes")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error:
            raise BadRequest(400, "the request body is not valid base64") from None
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(400, "the request body is not valid UTF-8") from None


def error_message(exc: ValidationError) -> str:
    """``customer.contract: Input should be ...; ...`` for the first ``MAX_ERRORS`` errors,
    the outermost first and missing fields before others (a customer sent without its
    ``customer`` wrapper reads ``customer: Field required`` first, not 19 unknown keys)."""
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    errors.sort(key=lambda e: (len(e["loc"]), e["type"] != "missing"))
    parts = [
        f"{'.'.join(str(p)[:40] for p in e['loc']) or 'body'}: {e['msg'][:160]}"
        for e in errors[:MAX_ERRORS]
    ]
    if len(errors) > MAX_ERRORS:
        parts.append(f"and {len(errors) - MAX_ERRORS} more")
    return "; ".join(parts)


def read_request(event: Any) -> Request:
    """The request of a direct or proxy event, validated by the service's schema."""
    if not isinstance(event, dict):
        raise BadRequest(400, "the event must be a JSON object")
    data = _body_bytes(event) if is_proxy(event) else _direct_bytes(event)
    if len(data) > MAX_BODY_BYTES:
        raise BadRequest(413, f"request over {MAX_BODY_BYTES} bytes")
    try:
        return Request.model_validate_json(data)
    except ValidationError as exc:
        raise BadRequest(400, error_message(exc)) from None


def respond(status: int, payload: dict[str, Any], event: Any) -> dict[str, Any]:
    """The answer in the event's form: a proxy answer (its body as the service writes it) to
    API Gateway, else the payload itself, with ``statusCode`` beside an error."""
    if is_proxy(event):
        body = json.dumps(payload, separators=(",", ":"))
        return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": body}
    return payload if status == 200 else {"statusCode": status, **payload}
