"""uv run --project 05-deployment uvicorn predict:app --app-dir 05-deployment --port 9696

The churn model as a web service (FastAPI). In the image: ``docker build -t churn-service
05-deployment`` then ``docker run -it --rm -p 9696:9696 churn-service``.

- ``POST /predict``        one customer -> ``{"churn_probability": p, "churn": p >= 0.5}``
- ``POST /predict/batch``  ``{"customers": [...]}`` (1 to 1000) -> ``{"predictions": [...]}``
- ``GET /health``          liveness and which model is served (files' sha256, C, created)
- ``GET /docs``, ``GET /openapi.json``

The model is loaded once at start-up from the folder ``$MODEL_DIR`` (default ``model/``
next to this file: ``model.bin`` + ``metadata.json``) and checked against its metadata; a
mismatch stops the start with the reason. Requests are validated strictly: only the
dataset's values for categorical fields, bounded numbers, no unknown fields (422 naming
the first few fields and counting the rest). ``limits.py`` holds what is refused before
that, each at a bounded cost: other media types (415), bodies over 4 KiB per customer or
1 MiB per batch and batches over 1000 customers (413), bodies that do not arrive (408).
Scoring uses ``churn_scoring.FastScorer``, proved equal to ``pipeline.predict_proba``.

``api`` is the FastAPI app (routes, docs, lifespan); ``app`` (what uvicorn serves) answers
the two POST endpoints without FastAPI's per-request routing (``limits.FastLanes``),
through the same ``handle`` the routes use (tests check both answer byte for byte alike).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from churn_scoring import THRESHOLD, FastScorer, ModelError, load_model, model_path
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
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import from_json

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
    identity = {k: meta.get(k) for k in ("name", "created", "files", "versions", "data")}
    api.state.identity = {**identity, "C": meta.get("params", {}).get("C")}
    log.info("serving %s (files %s, C=%s)", path, meta.get("files"), api.state.identity["C"])
    # Everything alive now (FastAPI, pydantic, scikit-learn, NumPy, the model) lives as long
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
