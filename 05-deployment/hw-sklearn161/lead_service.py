"""uv run --project 05-deployment/hw-sklearn161 python 05-deployment/hw-sklearn161/lead_service.py MODEL RECORD_JSON

Homework 5 (2025): the course's lead-scoring pipeline (``pipeline_v1.bin`` /
``pipeline_v2.bin``, pickled with scikit-learn 1.6.1) scored from the command line (Q3)
or served with FastAPI (Q4, and in the Q6 image)::

    MODEL_PATH=pipeline_v1.bin uvicorn lead_service:app --port 9696
    curl -X POST localhost:9696/predict -H 'Content-Type: application/json' \\
         -d '{"lead_source": "organic_search", "number_of_courses_viewed": 4, "annual_income": 80304.0}'

The answer keys are the ones the course's test scripts read:
``{"conversion_probability": …, "conversion": …}``. Runs only in this folder's environment
(scikit-learn 1.6.1), never in the root one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import sys
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field


class Lead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lead_source: str = Field(max_length=100)
    number_of_courses_viewed: int = Field(ge=0, le=10_000)
    annual_income: float = Field(ge=0, le=1e9)


# Unpickling runs code from the file: only the course's two pipelines, by digest.
KNOWN_PIPELINES = {
    "c85a57297c7b23f1afee8fce787d1a1a64633484ffb98e62fc8fb35406b891aa": "pipeline_v1.bin",
    "eec81387796d575bf8df58c14c3991d1a732c8c8a923d9f624495cf901cbe604": "pipeline_v2.bin",
}
MAX_PIPELINE_BYTES = 1 << 20


class UnknownPipeline(Exception):
    pass


def load(path: str) -> Any:
    with open(path, "rb") as fh:
        data = fh.read(MAX_PIPELINE_BYTES + 1)
    digest = hashlib.sha256(data).hexdigest()
    if len(data) > MAX_PIPELINE_BYTES or digest not in KNOWN_PIPELINES:
        raise UnknownPipeline(
            f"{path}: sha256 {digest} is not one of the course's pipelines; refusing to unpickle"
        )
    return pickle.loads(data)


def probability(pipeline: Any, record: dict[str, Any]) -> float:
    return float(pipeline.predict_proba([record])[0, 1])


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.pipeline = load(os.environ.get("MODEL_PATH", "pipeline_v1.bin"))
    yield


app = FastAPI(title="Lead scoring (homework 5)", lifespan=lifespan)


@app.post("/predict")
def predict(lead: Lead) -> dict[str, Any]:
    p = probability(app.state.pipeline, lead.model_dump())
    return {"conversion_probability": p, "conversion": p >= 0.5}


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    parser = argparse.ArgumentParser(
        description="probability of one record under a pickled pipeline"
    )
    parser.add_argument("model", help="pipeline file (pipeline_v1.bin)")
    parser.add_argument("record", help="the record as JSON")
    args = parser.parse_args()
    try:
        pipeline = load(args.model)
    except (OSError, UnknownPipeline) as exc:
        raise SystemExit(f"error: {exc}") from None
    print(
        json.dumps(
            {
                "probability": probability(pipeline, json.loads(args.record)),
                "sklearn_version": sys.modules["sklearn"].__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
