"""uv run --project 05-deployment uvicorn predict:app --app-dir 05-deployment --port 9696

The churn model as a web service (FastAPI). In the image: ``docker build -t churn-service
05-deployment`` then ``docker run -it --rm -p 9696:9696 churn-service``.

- ``POST /predict``        one customer -> ``{"churn_probability": p, "churn": p >= 0.5}``
- ``POST /predict/batch``  ``{"customers": [...]}`` (1 to 1000) -> ``{"predictions": [...]}``
- ``GET /health``          liveness and which model is served (files' sha256, C, created)
- ``GET /docs``, ``GET /openapi.json``

The model is loaded once at start-up from the folder ``$MODEL_DIR`` (default ``model/``
next to this file: ``model.json`` + ``metadata.json``, plain data, nothing unpickled) and
checked against its metadata; a mismatch stops the start with the reason. Requests are validated strictly: only the
dataset's values for categorical fields, bounded numbers, no unknown fields (422 naming
the first few fields and counting the rest). ``limits.py`` holds what is refused before
that, each at a bounded cost: other media types (415), bodies over 4 KiB per customer or
1 MiB per batch and batches over 1000 customers (413), bodies that do not arrive (408).
The request schema (``Customer``) and the scorer live in ``churn_scoring.py``, shared with
the Lambda function in ``lambda/``; ``FastScorer`` is proved equal to
``pipeline.predict_proba``.

``api`` is the FastAPI app (routes, docs, lifespan); ``app`` (what uvicorn serves) answers
the two POST endpoints without FastAPI's per-request routing (``limits.FastLanes``),
through the same ``handle`` the routes use (tests check both answer byte for byte alike).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager
from typing import Any, Literal

from churn_scoring import (
    THRESHOLD,
    Customer,
    FastScorer,
    ModelError,
    check_model,
    load_model,
    model_path,
)
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from limits import (
    BODY_TIMEOUT_S,
    CLOSES,
    FIELDS,
    MAX_BATCH,
    MAX_BATCH_BYTES,
    MAX_BATCH_VALUES,
    MAX_CUSTOMER_BYTES,
    MAX_ERRORS,
    FastLanes,
    Lane,
    Reply,
    error_reply,
    handle,
    item_errors,
    json_values_bound,
    too_many_fields,
    watch_deadlines,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import from_json

JSON = "application/json"
log = logging.getLogger("uvicorn.error")  # shows in uvicorn's output


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customers: list[Customer] = Field(min_length=1, max_length=MAX_BATCH)


class _ValidBatch(Batch):
    """``Batch`` for the first pass over a body, which gives up at the first bad customer:
    that pass costs a valid batch one parse instead of two, and a refused one little."""

    customers: list[Customer] = Field(min_length=1, max_length=MAX_BATCH, fail_fast=True)


class Prediction(BaseModel):
    churn_probability: float
    churn: bool


class Predictions(BaseModel):
    predictions: list[Prediction]


class Health(BaseModel):
    status: Literal["ok"]
    model: dict[str, Any]


@asynccontextmanager
async def lifespan(api: FastAPI):
    path = model_path()
    try:
        scorer, meta = load_model(path)
        check_model(scorer, meta)
    except ModelError as exc:
        log.error("refusing to start: %s", exc)
        raise RuntimeError(f"refusing to start: {exc}") from None
    api.state.scorer = scorer
    identity = {k: meta.get(k) for k in ("name", "created", "files", "versions", "data")}
    api.state.identity = {**identity, "C": meta.get("params", {}).get("C")}
    log.info("serving %s (files %s, C=%s)", path, meta.get("files"), api.state.identity["C"])
    # Everything alive now (FastAPI, pydantic, the model) lives as long
    # as the process: out of the cyclic GC's sight, a full collection no longer walks those
    # objects (it cost ~80 ms every few batches of 1,000 customers).
    gc.collect()
    gc.freeze()
    watcher = asyncio.create_task(watch_deadlines())  # 408 for bodies that do not arrive
    try:
        yield
    finally:
        watcher.cancel()


# --------------------------------------------------------------------------- request handling
# (scorer, body) -> JSON answer, or a ``limits.Reply``: pydantic-core parses and validates,
# the answer is formatted directly.


def _prediction(p: float) -> bytes:
    return b'{"churn_probability":%s,"churn":%s}' % (
        repr(p).encode(),
        b"true" if p >= THRESHOLD else b"false",
    )


def score_one(scorer: FastScorer, body: bytes) -> bytes:
    """The body is at most ``MAX_CUSTOMER_BYTES``: pydantic's errors stay few (~600)."""
    try:
        customer = Customer.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise error_reply((((), e) for e in errors), exc.error_count()) from None
    return _prediction(scorer.proba(customer.__dict__))


def validate_batch(body: bytes) -> Batch:
    """``Batch`` from the body, or a ``Reply`` whose cost stays bounded: the JSON values are
    counted before parsing, objects wider than a customer are refused before pydantic sees
    them, and a 422 collects only its first errors."""
    if json_values_bound(body) > MAX_BATCH_VALUES:
        raise Reply(413, {"detail": f"batch over {MAX_BATCH} customers of {FIELDS} fields"})
    try:
        return _ValidBatch.model_validate_json(body)
    except ValidationError:
        pass  # refused: the steps below shape a bounded answer
    try:
        data = from_json(body)
    except ValueError:  # pydantic's own json_invalid error, from the same bounded body
        data = body
    customers = data.get("customers") if type(data) is dict else None
    if type(customers) is not list:
        customers = []
    elif len(customers) > MAX_BATCH:
        raise Reply(413, {"detail": f"batch over {MAX_BATCH} customers"})
    wide = too_many_fields([data], ()) + too_many_fields(customers, ("customers",))
    if wide:
        raise error_reply(wide, len(wide))
    try:
        return Batch.model_validate_json(data) if data is body else Batch.model_validate(data)
    except ValidationError as exc:
        count = exc.error_count()
        if count <= 2 * MAX_ERRORS or not customers:  # else: only the first few errors
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            raise error_reply((((), e) for e in errors), count) from None
        raise error_reply(item_errors(Customer, customers, "customers"), count) from None


def score_batch(scorer: FastScorer, body: bytes) -> bytes:
    proba = scorer.proba
    return (
        b'{"predictions":['
        + b",".join(_prediction(proba(c.__dict__)) for c in validate_batch(body).customers)
        + b"]}"
    )


PREDICT, BATCH = Lane(score_one, MAX_CUSTOMER_BYTES), Lane(score_batch, MAX_BATCH_BYTES)


# --------------------------------------------------------------------------- the app

api = FastAPI(
    title="Churn prediction service",
    version="1.0.0",
    lifespan=lifespan,
    description="Telco customer churn probability (logistic regression, "
    "03-classification/train.py), served by 05-deployment/predict.py.",
)
REFUSED = {
    408: {"description": f"body not received within {BODY_TIMEOUT_S:g} s"},
    413: {"description": f"body over {MAX_CUSTOMER_BYTES} bytes (batch: {MAX_BATCH_BYTES} "
          f"bytes, {MAX_BATCH} customers)"},
    415: {"description": "Content-Type other than application/json"},
}  # fmt: skip
CLOSE = {"connection": "close"}


def _body(model: type[BaseModel]) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {JSON: {"schema": ref}}}}


@api.post("/predict", response_model=Prediction, openapi_extra=_body(Customer), responses=REFUSED)
async def predict(request: Request) -> Response:
    """Churn probability of one customer and the decision at 0.5."""
    status, body = await handle(
        PREDICT, request.app.state.scorer, request.scope["headers"], request.receive
    )
    return Response(body, status, CLOSE if status in CLOSES else None, JSON)


@api.post(
    "/predict/batch", response_model=Predictions, openapi_extra=_body(Batch), responses=REFUSED
)
async def predict_batch(request: Request) -> Response:
    """Churn probabilities of 1 to 1000 customers, in the order sent."""
    status, body = await handle(
        BATCH, request.app.state.scorer, request.scope["headers"], request.receive
    )
    return Response(body, status, CLOSE if status in CLOSES else None, JSON)


@api.get("/health", response_model=Health)
async def health(request: Request) -> dict[str, Any]:
    """Liveness, and which model is served."""
    return {"status": "ok", "model": request.app.state.identity}


def openapi() -> dict[str, Any]:
    """FastAPI's schema plus the request models the endpoints validate themselves."""
    if api.openapi_schema is None:
        schema = get_openapi(
            title=api.title, version=api.version, description=api.description, routes=api.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (Customer, Batch):
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        api.openapi_schema = schema
    return api.openapi_schema


api.openapi = openapi  # type: ignore[method-assign]
app = FastLanes(api, {"/predict": PREDICT, "/predict/batch": BATCH})
