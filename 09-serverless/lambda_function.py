"""AWS Lambda entry point: ``lambda_function.lambda_handler`` (the container's CMD).

    uv run python 09-serverless/test.py     # against the running container (see README)

The ONNX Runtime session is created once per container, when Lambda imports this file
(the cold start); every warm invocation reuses it. The model is ``$MODEL_PATH``, else
``hair_classifier.onnx`` next to this file (``$LAMBDA_TASK_ROOT``), else ``model/``.

Events: ``{"url": "https://..."}`` or ``{"image_b64": "<base64 bytes>"}``, directly or as
the JSON string ``body`` of an API Gateway proxy event. Answer: ``{"prediction": P(straight),
"logit", "label", "probabilities"}``; bad input gives ``{"statusCode": 400, "error": ...}``.
"""

from __future__ import annotations

from typing import Any

from hair_lambda import HairClassifier, default_model_path, handle

MODEL = HairClassifier(default_model_path())


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    return handle(event, MODEL)
