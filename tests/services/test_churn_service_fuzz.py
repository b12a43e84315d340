"""05-deployment: property-based fuzzing of the churn service from its own OpenAPI schema.

schemathesis generates requests from ``/openapi.json``: schema-valid ones (POSITIVE) must
be served (200: the schema promises nothing the server rejects), schema-invalid ones
(NEGATIVE: wrong types, unknown fields, out-of-range numbers, bad enums) must be refused
with 413/415/422, no answer may exceed 64 KB, and nothing may ever produce a 5xx. Bounded examples keep it under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
import service_files
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

predict = service_files.load("05-deployment", "predict")
POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
EXAMPLES = 150


@pytest.fixture(scope="module")
def schema(churn_model_dir):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODEL_DIR", str(churn_model_dir))
        with TestClient(predict.app):  # the lifespan loads the model once; app.state keeps it
            yield schemathesis.openapi.from_asgi("/openapi.json", predict.app)


@pytest.mark.parametrize("path,method,mode", [
    ("/predict", "POST", POSITIVE), ("/predict", "POST", NEGATIVE),
    ("/predict/batch", "POST", POSITIVE), ("/predict/batch", "POST", NEGATIVE),
    ("/health", "GET", POSITIVE),
])  # fmt: skip
def test_no_server_error_from_schema_generated_requests(schema, path, method, mode):
    operation = schema[path][method]
    seen: dict[int, int] = {}

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        response = case.call()
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code < 500, (response.status_code, response.text, case.body)
        assert len(response.content) <= 64 * 1024  # bounded answers (issue 11)
        if mode == POSITIVE:
            assert response.status_code == 200, (response.text, case.body)
        else:
            assert response.status_code in (413, 415, 422), (
                response.status_code,
                response.text,
                case.body,
            )

    check()
    assert sum(seen.values()) >= (1 if method == "GET" else 20)  # the fuzzer really ran
