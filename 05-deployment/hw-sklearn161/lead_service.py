"""uv run --project 05-deployment/hw-sklearn161 python 05-deployment/hw-sklearn161/lead_service.py MODEL RECORD_JSON

Homework 5 (2025): the course's lead-scoring pipeline (``pipeline_v1.bin`` /
``pipeline_v2.bin``, pickled with scikit-learn 1.6.1) scored from the command line (Q3)
or served with FastAPI (Q4, and in the Q6 image)::

    MODEL_PATH=pipeline_v1.bin uvicorn lead_service:app --port 9696
    curl -X POST localhost:9696/predict -H 'Content-Type: application/json' \\
         -d '{"lead_source": "organic_search", "number_of_courses_viewed": 4, "annual_income": 80304.0}'

Runs only in this folder's environment (scikit-learn 1.6.1), never in the root one.
"""

from __future__ import annotations

import argparse
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


def load(path: str) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)  # the course's file, its sha256 checked by zoomcamp.datasets


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
    return {"probability": p, "converted": p >= 0.5}


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
    print(
        json.dumps(
            {
                "probability": probability(load(args.model), json.loads(args.record)),
                "sklearn_version": sys.modules["sklearn"].__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
