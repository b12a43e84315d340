"""uv run --project 05-deployment uvicorn predict:app --app-dir 05-deployment --port 9696

The churn model as a web service: POST /predict (one customer), POST /predict/batch
(1 to 1000), GET /health, GET /docs. The model is loaded once at start-up from $MODEL_DIR
(default model/: model.json + metadata.json) and checked; a mismatch stops the start.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any, Literal

from churn_scoring import THRESHOLD, Customer, ModelError, check_model, load_model
from fastapi import FastAPI
from hardening import harden
from pydantic import BaseModel, ConfigDict, Field

MAX_BATCH = 1000
log = logging.getLogger("uvicorn.error")  # shows in uvicorn's output


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


@asynccontextmanager
async def lifespan(api: FastAPI):
    global scorer, identity
    try:
        scorer, meta = load_model()
        check_model(scorer, meta)
    except ModelError as exc:  # the reason in one line, no traceback
        log.error("refusing to start: %s", exc)
        raise RuntimeError(f"refusing to start: {exc}") from None
    identity = {k: meta.get(k) for k in ("name", "created", "files", "versions", "data")}
    identity["C"] = meta.get("params", {}).get("C")
    log.info("serving model.json %s (C=%s)", meta["files"]["model.json"], identity["C"])
    yield


api = FastAPI(
    title="Churn prediction service",
    version="1.0.0",
    description="Telco customer churn probability (logistic regression, 03-classification).",
    lifespan=lifespan,
    docs_url=None,  # harden serves /docs from local files, not from a CDN
    redoc_url=None,
)


@api.post("/predict")
def predict(customer: Customer) -> Prediction:
    """Churn probability of one customer and the decision at 0.5."""
    probability = scorer.proba(vars(customer))  # its fields; model_dump() would copy them
    return Prediction(churn_probability=probability, churn=probability >= THRESHOLD)


@api.post("/predict/batch")
def predict_batch(batch: Batch) -> Predictions:
    """Churn probabilities of 1 to 1000 customers, in the order sent."""
    return Predictions(predictions=[predict(customer) for customer in batch.customers])


@api.get("/health")
def health() -> Health:
    """Liveness, and which model is served."""
    return Health(status="ok", model=identity)


app = harden(api)  # limits, fast lanes for the POST routes, /docs without a CDN: hardening.py
