"""The churn model on AWS Lambda: ``lambda_function.lambda_handler``, the image's CMD.

    python 05-deployment/lambda/test.py     # against the running container (README)

event -> customer -> model -> answer, as the 2025 workshop's ``lambda-sklearn``:
``{"customer": {...}}`` gets ``{"churn_probability": p, "churn": p >= 0.5}``. The model is
read once, when Lambda imports this file (the cold start), from ``$MODEL_DIR`` or
``model/``. Beside this file: ``churn_events.py`` (direct or API Gateway events, the
request's checks, the answer's form) and ``churn_scoring.py``, the schema and scorer of the
FastAPI service in ``05-deployment/`` (``build.py`` copies it here), so both give the same
answer to the same customer, bit for bit.
"""

from typing import Any

from churn_events import BadRequest, read_request, respond
from churn_scoring import THRESHOLD, FastScorer, check_model, load_model


def load(path: Any = None) -> FastScorer:
    """The checked scorer: refuses a model the request schema cannot feed."""
    scorer, meta = load_model(path)
    check_model(scorer, meta)
    return scorer


SCORER = load()  # cold start: model.json and its sha256 checked, once per container


def predict(customer: dict[str, Any]) -> dict[str, Any]:
    p = SCORER.proba(customer)
    return {"churn_probability": p, "churn": p >= THRESHOLD}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        request = read_request(event)  # {"customer": {...}}, or in "body"; schema-checked
        return respond(200, predict(request.customer.__dict__), event)
    except BadRequest as exc:  # the caller's mistake: 400 (413: too large) and what it was
        return respond(exc.status, {"error": str(exc)}, event)
    except Exception as exc:  # anything else: 500, the details only in the log
        print(f"internal error: {type(exc).__name__}: {exc}")  # CloudWatch
        return respond(500, {"error": "internal error"}, event)
