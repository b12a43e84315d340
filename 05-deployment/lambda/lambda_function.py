"""AWS Lambda entry point: ``lambda_function.lambda_handler`` (the container's CMD).

    uv run python 05-deployment/lambda/build.py       # scorer + model into the context, build
    docker run -it --rm -p 8080:8080 churn-lambda:v1
    python 05-deployment/lambda/test.py

The churn model on Lambda, as the 2025 workshop's ``lambda-sklearn``: the event
``{"customer": {...}}`` gets ``{"churn_probability": p, "churn": p >= 0.5}``. The request
schema, the model reader and the scorer are ``churn_scoring.py``, the file the FastAPI
service in ``05-deployment/`` runs (``build.py`` copies it here; it is never committed
twice), so both give the same answer to the same customer, bit for bit.

Events: the request directly, or an API Gateway proxy event (REST or HTTP API) whose
``body`` is the request as a JSON string, base64 when ``isBase64Encoded``. A proxy event
gets ``{"statusCode", "headers", "body"}`` (the body as the service's ``/predict`` writes
it); a direct one the answer itself. Bad input: 400 (413 over ``MAX_BODY_BYTES``) with
``{"error": "customer.contract: Input should be ..."}``, inside ``body`` for a proxy event,
next to ``statusCode`` for a direct one (the convention of 09's hair Lambda).

The model is loaded once per container, when Lambda imports this file (the cold start),
from ``$MODEL_DIR`` or ``model/`` next to ``churn_scoring.py``.
"""

import base64
import binascii
import json
from typing import Any

from churn_scoring import THRESHOLD, Customer, FastScorer, check_model, load_model
from pydantic import BaseModel, ConfigDict, ValidationError

# a customer is ~500 bytes (~800 indented); the service takes 4 KiB per customer. The
# bound keeps a 422's cost small: pydantic builds one error per offending key.
MAX_BODY_BYTES = 4 * 1024 + 64
MAX_ERRORS = 10
JSON_HEADERS = {"Content-Type": "application/json"}


class Request(BaseModel):
    """The workshop's event: one customer under ``customer``."""

    model_config = ConfigDict(extra="forbid")
    customer: Customer


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def load(path: Any = None) -> FastScorer:
    """The checked scorer: refuses a model the request schema cannot feed."""
    scorer, meta = load_model(path)
    check_model(scorer, meta)
    return scorer


def request_bytes(event: Any) -> tuple[bytes, bool]:
    """The request as JSON bytes, and whether it came through API Gateway (``body``)."""
    if not isinstance(event, dict):
        raise BadRequest(400, "the event must be a JSON object")
    if "body" not in event:  # a direct invocation: the runtime parsed the JSON already
        try:
            return json.dumps(event, allow_nan=False).encode(), False
        except ValueError:
            raise BadRequest(400, "numbers must be finite") from None
    body = event["body"]
    if not isinstance(body, str) or not body:
        raise BadRequest(400, "the request body must be a non-empty JSON string")
    if len(body) > 2 * MAX_BODY_BYTES:  # base64 grows it by 4/3
        raise BadRequest(413, f"request body over {MAX_BODY_BYTES} bytes")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True), True
        except binascii.Error:
            raise BadRequest(400, "the request body is not valid base64") from None
    try:
        return body.encode("utf-8"), True
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


def predict(scorer: FastScorer, data: bytes) -> dict[str, Any]:
    if len(data) > MAX_BODY_BYTES:
        raise BadRequest(413, f"request over {MAX_BODY_BYTES} bytes")
    try:
        request = Request.model_validate_json(data)
    except ValidationError as exc:
        raise BadRequest(400, error_message(exc)) from None
    p = scorer.proba(request.customer.__dict__)
    return {"churn_probability": p, "churn": p >= THRESHOLD}


def respond(status: int, payload: dict[str, Any], gateway: bool) -> dict[str, Any]:
    if gateway:
        body = json.dumps(payload, separators=(",", ":"))  # as the service writes it
        return {"statusCode": status, "headers": JSON_HEADERS, "body": body}
    return payload if status == 200 else {"statusCode": status, **payload}


def handle(event: Any, scorer: FastScorer) -> dict[str, Any]:
    """The whole request: never raises; errors become ``statusCode`` 400/413/500."""
    gateway = isinstance(event, dict) and "body" in event
    try:
        data, gateway = request_bytes(event)
        return respond(200, predict(scorer, data), gateway)
    except BadRequest as exc:
        return respond(exc.status, {"error": str(exc)}, gateway)
    except Exception as exc:  # the function answers, whatever happened
        print(f"internal error: {type(exc).__name__}: {exc}")  # CloudWatch log
        return respond(500, {"error": "internal error"}, gateway)


SCORER = load()


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    return handle(event, SCORER)
