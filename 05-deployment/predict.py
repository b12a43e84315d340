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
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from churn_scoring import THRESHOLD, FastScorer, ModelError, load_model, model_path
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

MAX_BATCH = 1000
MAX_BODY_BYTES = 2 * 1024 * 1024
JSON = "application/json"
log = logging.getLogger("churn-service")



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


WHOLE = BeforeValidator(_whole_number)  # after Field(...) in Annotated, or the JSON schema loses the bounds
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
    seniorcitizen: Annotated[int, Field(ge=0, le=1, description="0 or 1 (the dataset's integer)"), WHOLE]
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
    paymentmethod: Literal["bank_transfer_(automatic)", "credit_card_(automatic)",
                           "electronic_check", "mailed_check"]
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
        raise ModelError(f"the model's features do not match the request schema: model {model}, "
                         f"schema {api} (retrain with 03-classification/train.py or update predict.py)")
    for field, values in meta.get("categories", {}).items():
        if field in api["categorical"] and sorted(values) != api["categorical"][field]:
            raise ModelError(f"metadata categories of {field!r} {values} differ from the schema")


@asynccontextmanager
async def lifespan(app: FastAPI):
    path = model_path()
    try:
        pipeline, meta = load_model(path)
        scorer = FastScorer(pipeline)
        check_model(scorer, meta)
    except ModelError as exc:
        log.error("refusing to start: %s", exc)
        raise RuntimeError(f"refusing to start: {exc}") from None
    app.state.scorer = scorer
    app.state.pipeline = pipeline
    app.state.identity = {k: meta.get(k) for k in (
        "model_file", "sha256", "C", "trained_at", "sklearn_version", "data_sha256")}
    log.info("serving %s (sha256 %s, C=%s)", path, meta.get("sha256"), meta.get("C"))
    yield


class BodyLimit:
    """413 for a request body over ``max_bytes``: at once when Content-Length says so,
    otherwise as soon as the streamed body passes the limit (chunked uploads)."""

    def __init__(self, app, max_bytes: int = MAX_BODY_BYTES):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for key, value in scope["headers"]:
            if key == b"content-length":
                if not value.isdigit():
                    return await JSONResponse({"detail": "invalid Content-Length"}, 400)(scope, receive, send)
                if int(value) > self.max_bytes:
                    return await self._too_large(scope, receive, send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, f"request body over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)

    async def _too_large(self, scope, receive, send):
        response = JSONResponse({"detail": f"request body over {self.max_bytes} bytes"}, 413,
                                headers={"Connection": "close"})
        await response(scope, receive, send)


app = FastAPI(title="Churn prediction service", version="1.0.0", lifespan=lifespan,
              description="Telco customer churn probability (logistic regression, "
                          "03-classification/train.py), served by 05-deployment/predict.py.")
app.add_middleware(BodyLimit)


def openapi() -> dict[str, Any]:
    """FastAPI's schema plus the request models the endpoints validate themselves."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (Customer, Batch):
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        app.openapi_schema = schema
    return app.openapi_schema


app.openapi = openapi  # type: ignore[method-assign]


@app.exception_handler(RequestValidationError)
async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 listing each bad field (``contract: Input should be ...``), without echoing the
    input back; 413 when the only problem is a batch over the limit."""
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
              for e in exc.errors()]
    if errors and all(e["type"] == "too_long" and e["loc"][-1:] == ["customers"] for e in errors):
        return JSONResponse({"detail": f"batch over {MAX_BATCH} customers"}, 413)
    fields = [".".join(str(p) for p in e["loc"] if p != "body") or "body"
              if e["type"] != "json_invalid" else "body" for e in errors]
    message = "; ".join(f"{f}: {e['msg']}" for f, e in zip(fields, errors, strict=True))
    return JSONResponse({"detail": errors, "message": message}, 422)


def _body(schema: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """OpenAPI for an endpoint that validates its own body (``model_validate_json``: the
    JSON is parsed and checked in one pass by pydantic-core, faster than FastAPI's
    ``json.loads`` then validation)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
            **(extra or {})}


async def _validated(request: Request, model: type[BaseModel]) -> Any:
    body = await request.body()
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


def _prediction(p: float) -> bytes:
    return b'{"churn_probability":%s,"churn":%s}' % (repr(p).encode(), b"true" if p >= THRESHOLD else b"false")


@app.post("/predict", response_model=Prediction,
          openapi_extra=_body({"$ref": "#/components/schemas/Customer"}))
async def predict(request: Request) -> Response:
    """Churn probability of one customer and the decision at 0.5."""
    customer = await _validated(request, Customer)
    return Response(_prediction(request.app.state.scorer.proba(customer.__dict__)), media_type=JSON)


@app.post("/predict/batch", response_model=Predictions,
          openapi_extra=_body({"$ref": "#/components/schemas/Batch"}),
          responses={413: {"description": f"body over {MAX_BODY_BYTES} bytes or over {MAX_BATCH} customers"}})
async def predict_batch(request: Request) -> Response:
    """Churn probabilities of 1 to 1000 customers, in the order sent."""
    batch = await _validated(request, Batch)
    proba = request.app.state.scorer.proba
    body = b",".join(_prediction(proba(c.__dict__)) for c in batch.customers)
    return Response(b'{"predictions":[' + body + b"]}", media_type=JSON)


@app.get("/health", response_model=Health)
async def health(request: Request) -> dict[str, Any]:
    return {"status": "ok", "model": request.app.state.identity}
