"""Hostile bodies for the churn service's hardening tests (issue 11): for each endpoint, the
bodies with the most validation work per byte found, each within the endpoint's limit."""

from __future__ import annotations

import json
import sys
from itertools import count

import service_files

predict = service_files.load("05-deployment", "predict")
limits = sys.modules[predict.FastLanes.__module__]  # the module predict uses, not a copy
EXAMPLE = predict.Customer.model_config["json_schema_extra"]["examples"][0]


def fill(limit: int, head: str, parts, tail: str) -> bytes:
    """``head`` + as many ``parts`` (comma-separated) as fit in ``limit`` bytes + ``tail``."""
    out, size = [], len(head) + len(tail)
    for part in parts:
        if size + len(part) + 1 > limit:
            break
        out.append(part)
        size += len(part) + 1
    return (head + ",".join(out) + tail).encode()


def batch_of(customers) -> bytes:
    return json.dumps({"customers": list(customers)}).encode()


C, B = limits.MAX_CUSTOMER_BYTES, limits.MAX_BATCH_BYTES
WORST = {  # (lane, body): the most work per byte found for each endpoint
    "one: unknown keys": ("PREDICT", fill(C, "{", (f'"k{i}":0' for i in count()), "}")),
    "one: a long key": ("PREDICT", b'{"' + b"k" * (C - 8) + b'":0}'),
    "one: lists in a field": ("PREDICT", fill(C, '{"gender":[', ("[]" for _ in count()), "]}")),
    "batch: unknown keys": ("BATCH", fill(B, '{"customers":[{', (f'"k{i}":0' for i in count()), "}]}")),
    "batch: unknown envelope keys": ("BATCH", fill(B, "{", (f'"k{i}":0' for i in count()), "}")),
    "batch: empty customers": ("BATCH", fill(B, '{"customers":[', ("{}" for _ in count()), "]}")),
    "batch: 1000 empty": ("BATCH", batch_of({} for _ in range(1000))),
    "batch: 1000 all null": ("BATCH", batch_of(dict.fromkeys(EXAMPLE) for _ in range(1000))),
    "batch: 1000 x 19 unknown": ("BATCH", batch_of({f"x{k}": 0 for k in EXAMPLE} for _ in range(1000))),
    "batch: 500 x 38 unknown": ("BATCH", batch_of({f"x{k}": 0 for k in range(38)} for _ in range(500))),
    "batch: 1000 long keys": ("BATCH", batch_of({"k" * 900 + str(i): 0} for i in range(1000))),
    "batch: nested lists": ("BATCH", b'{"customers":[' + b"[" * 20000 + b"]" * 20000 + b"]}"),
}  # fmt: skip
