"""uv run --project 05-deployment uvicorn predict:app --app-dir 05-deployment --port 9696

The churn model as a web service (FastAPI). In the image: ``docker build -t churn-service
05-deployment`` then ``docker run -it --rm -p 9696:9696 churn-service``.

- ``POST /predict``        one customer -> ``{"churn_probability": p, "churn": p >= 0.5}``
- ``POST /predict/batch``  ``{"customers": [...]}`` (1 to 1000) -> ``{"predictions": [...]}``
- ``GET /health``          liveness and which model is served (sha256, C, trained_at)
- ``GET /docs``, ``GET /openapi.json``

The model is loaded once at start-up from ``$MODEL_PATH`` (default
``model/churn-model.bin`` next to this file) and checked against its metadata; a
mismatch stops the start with the reason. Requests are validated strictly: only the
dataset's values for categorical fields, bounded numbers, no unknown fields (422 naming
the field); bodies over 2 MiB or batches over 1000 customers get 413. Scoring uses
``churn_scoring.FastScorer``, proved equal to ``pipeline.predict_proba`` by the tests.

``api`` is the FastAPI app (routes, docs, lifespan); ``app`` (what uvicorn serves) wraps
it and answers the two POST endpoints without FastAPI's per-request routing, through the
same ``handle`` function the routes use (tests check both answer byte for byte alike).
"""

from __future__ import annotations

import gc
import json
import logging
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from churn_scoring import THRESHOLD, FastScorer, ModelError, load_model, model_path
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

MAX_BATCH = 1000
MAX_BODY_BYTES = 2 * 1024 * 1024
JSON = "application/json"
log = logging.getLogger("uvicorn.error")  # shows in uvicorn's output


def _whole_number(value: Any) -> Any:
    """JSON has one number type and JSON Schema counts 12.0 as an integer: accept integral
    floats for the integer fields, reject fractions, booleans and strings."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("Input should be a whole number, not a fraction")
        return int(value)
    return value


WHOLE = BeforeValidator(
    _whole_number
)  # after Field(...) in Annotated, or the JSON schema loses the bounds
YesNo = Literal["no", "yes"]
NoPhone = Literal["no", "no_phone_service", "yes"]
NoInternet = Literal["no", "no_internet_service", "yes"]


class Customer(BaseModel):
    """One Telco customer, in the dataset's normalised values (lowercase, ``_``)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, json_schema_extra={
        "examples": [{
            "gender": "female", "seniorcitizen": 0, "partner": "yes", "dependents": "no",
            "phoneservice": "no", "multiplelines": "no_phone_service", "internetservice": "dsl",
            "onlinesecurity": "no", "onlinebackup": "yes", "deviceprotection": "no",
            "techsupport": "no", "streamingtv": "no", "streamingmovies": "no",
            "contract": "month-to-month", "paperlessbilling": "yes",
            "paymentmethod": "electronic_check", "tenure": 1, "monthlycharges": 29.85,
            "totalcharges": 29.85}]})  # fmt: skip

    gender: Literal["female", "male"]
    seniorcitizen: Annotated[
        int, Field(ge=0, le=1, description="0 or 1 (the dataset's integer)"), WHOLE
    ]
    partner: YesNo
    dependents: YesNo
    phoneservice: YesNo
    multiplelines: NoPhone
    internetservice: Literal["dsl", "fiber_optic", "no"]
    onlinesecurity: NoInternet
    onlinebackup: NoInternet
    deviceprotection: NoInternet
    techsupport: NoInternet
    streamingtv: NoInternet
    streamingmovies: NoInternet
    contract: Literal["month-to-month", "one_year", "two_year"]
    paperlessbilling: YesNo
    paymentmethod: Literal[
        "bank_transfer_(automatic)", "credit_card_(automatic)", "electronic_check", "mailed_check"
    ]
    tenure: Annotated[int, Field(ge=0, le=1200, description="months with the company"), WHOLE]
    monthlycharges: Annotated[float, Field(ge=0, le=10_000)]
    totalcharges: Annotated[float, Field(ge=0, le=10_000_000)]


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customers: list[Customer] = Field(min_length=1, max_length=MAX_BATCH)


class Prediction(BaseModel):
    churn_probability: float
    churn: bool


class Predictions(BaseModel):
    predictions: list[Prediction]


class Health(BaseModel):
    status: Literal["ok"]
    model: dict[str, Any]


def schema_features() -> dict[str, Any]:
    """The categorical values and numeric fields that ``Customer`` lets through, in the
    form ``FastScorer.features()`` reports for a model (``seniorcitizen`` is numeric)."""
    categorical, numerical = {}, []
    for name, field in Customer.model_fields.items():
        values = getattr(field.annotation, "__args__", ())
        if values and all(isinstance(v, str) for v in values):
            categorical[name] = sorted(values)
        else:
            numerical.append(name)
    return {"categorical": categorical, "numerical": sorted(numerical)}


def check_model(scorer: FastScorer, meta: dict[str, Any]) -> None:
    """Refuse a model whose fields or category values differ from what the API accepts."""
    model, api = scorer.features(), schema_features()
    if model != api:
        raise ModelError(
            f"the model's features do not match the request schema: model {model}, "
            f"schema {api} (retrain with 03-classification/train.py or update predict.py)"
        )
    for field, values in meta.get("categories", {}).items():
        if field in api["categorical"] and sorted(values) != api["categorical"][field]:
            raise ModelError(f"metadata categories of {field!r} {values} differ from the schema")


@asynccontextmanager
async def lifespan(api: FastAPI):
    path = model_path()
    try:
        pipeline, meta = load_model(path)
        scorer = FastScorer(pipeline)
        check_model(scorer, meta)
    except ModelError as exc:
        log.error("refusing to start: %s", exc)
        raise RuntimeError(f"refusing to start: {exc}") from None
    api.state.scorer = scorer
    api.state.identity = {
        k: meta.get(k)
        for k in ("model_file", "sha256", "C", "trained_at", "sklearn_version", "data_sha256")
    }
    log.info("serving %s (sha256 %s, C=%s)", path, meta.get("sha256"), meta.get("C"))
    # Everything alive now (FastAPI, pydantic, scikit-learn, NumPy, the model) lives as long
    # as the process: out of the cyclic GC's sight, a full collection no longer walks those
    # objects (it cost ~80 ms every few batches of 1,000 customers).
    gc.collect()
    gc.freeze()
    yield


# --------------------------------------------------------------------------- request handling
# One implementation of the two POST endpoints, from raw ASGI ``receive`` to (status, JSON
# bytes): pydantic-core parses and validates the body in one pass (``model_validate_json``),
# the answer is formatted directly. ``ChurnService`` below calls it without FastAPI's
# routing (which costs several times the work itself); the FastAPI routes call it too.


class Reply(Exception):
    """An early answer (413, 400, 422) while reading or validating a request."""

    def __init__(self, status: int, body: dict[str, Any]):
        self.status, self.body = status, body


async def read_body(headers: list[tuple[bytes, bytes]], receive) -> bytes:
    """The request body, refused with 413 when Content-Length or the streamed size (chunked
    uploads) passes ``MAX_BODY_BYTES``, before reading more of it."""
    too_large = Reply(413, {"detail": f"request body over {MAX_BODY_BYTES} bytes"})
    for key, value in headers:
        if key == b"content-length":
            if not value.isdigit():
                raise Reply(400, {"detail": "invalid Content-Length"})
            if int(value) > MAX_BODY_BYTES:
                raise too_large
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError("client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def invalid(exc: ValidationError) -> Reply:
    """422 listing each bad field (``contract: Input should be ...``), without echoing the
    input back; 413 when the only problem is a batch over the limit."""
    errors = [
        {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()
    ]
    if errors and all(
        e["type"] == "too_long" and e["loc"] == ["body", "customers"] for e in errors
    ):
        return Reply(413, {"detail": f"batch over {MAX_BATCH} customers"})
    fields = [
        "body" if e["type"] == "json_invalid" else ".".join(map(str, e["loc"][1:])) or "body"
        for e in errors
    ]
    message = "; ".join(f"{f}: {e['msg']}" for f, e in zip(fields, errors, strict=True))
    return Reply(422, {"detail": errors, "message": message})


def _prediction(p: float) -> bytes:
    return b'{"churn_probability":%s,"churn":%s}' % (
        repr(p).encode(),
        b"true" if p >= THRESHOLD else b"false",
    )


def score_one(scorer: FastScorer, body: bytes) -> bytes:
    try:
        customer = Customer.model_validate_json(body)
    except ValidationError as exc:
        raise invalid(exc) from None
    return _prediction(scorer.proba(customer.__dict__))


def score_batch(scorer: FastScorer, body: bytes) -> bytes:
    try:
        batch = Batch.model_validate_json(body)
    except ValidationError as exc:
        raise invalid(exc) from None
    proba = scorer.proba
    return (
        b'{"predictions":['
        + b",".join(_prediction(proba(c.__dict__)) for c in batch.customers)
        + b"]}"
    )


async def handle(handler, scorer: FastScorer, headers, receive) -> tuple[int, bytes]:
    try:
        return 200, handler(scorer, await read_body(headers, receive))
    except Reply as reply:
        return reply.status, json.dumps(reply.body).encode()


# --------------------------------------------------------------------------- the app

api = FastAPI(
    title="Churn prediction service",
    version="1.0.0",
    lifespan=lifespan,
    description="Telco customer churn probability (logistic regression, "
    "03-classification/train.py), served by 05-deployment/predict.py.",
)
TOO_LARGE = {
    413: {
        "description": f"body over {MAX_BODY_BYTES} bytes (or, batch, over {MAX_BATCH} customers)"
    }
}


def _body(model: type[BaseModel]) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {JSON: {"schema": ref}}}}


@api.post("/predict", response_model=Prediction, openapi_extra=_body(Customer), responses=TOO_LARGE)
async def predict(request: Request) -> Response:
    """Churn probability of one customer and the decision at 0.5."""
    status, body = await handle(
        score_one, request.app.state.scorer, request.scope["headers"], request.receive
    )
    return Response(body, status, media_type=JSON)


@api.post(
    "/predict/batch", response_model=Predictions, openapi_extra=_body(Batch), responses=TOO_LARGE
)
async def predict_batch(request: Request) -> Response:
    """Churn probabilities of 1 to 1000 customers, in the order sent."""
    status, body = await handle(
        score_batch, request.app.state.scorer, request.scope["headers"], request.receive
    )
    return Response(body, status, media_type=JSON)


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


class ChurnService:
    """What uvicorn serves: POST /predict and /predict/batch answered here from the raw ASGI
    messages (the same ``handle`` as the FastAPI routes, minus the routing machinery);
    everything else (lifespan, /health, /docs, /openapi.json, 404, 405) goes to ``api``."""

    LANES = {"/predict": score_one, "/predict/batch": score_batch}

    def __init__(self, api: FastAPI):
        self.api, self.state = api, api.state

    async def __call__(self, scope, receive, send):
        handler = self.LANES.get(scope.get("path")) if scope["type"] == "http" else None
        if handler is None or scope["method"] != "POST":
            return await self.api(scope, receive, send)
        try:
            status, body = await handle(handler, self.state.scorer, scope["headers"], receive)
        except ConnectionAbortedError:
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        if status == 413:
            headers.append((b"connection", b"close"))  # the rest of the body is not read
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


app = ChurnService(api)
