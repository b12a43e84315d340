"""Hostile bodies for the churn service's hardening tests (issue 11): for each endpoint, the
bodies with the most validation work per byte found, each within the endpoint's limit."""

from __future__ import annotations

import json
import sys
from itertools import count

import service_files

from zoomcamp import paths

predict = service_files.load("05-deployment", "predict")
hardening = sys.modules[predict.harden.__module__]  # the modules predict uses, not copies
limits = sys.modules[hardening.read_body.__module__]
head_limit = service_files.load("05-deployment", "head_limit")
EXAMPLE = json.loads((paths.module_dir("05-deployment") / "customer.json").read_bytes())


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
WORST = {  # (path, body): the most work per byte found for each endpoint
    "one: unknown keys": ("/predict", fill(C, "{", (f'"k{i}":0' for i in count()), "}")),
    "one: a long key": ("/predict", b'{"' + b"k" * (C - 8) + b'":0}'),
    "one: lists in a field": ("/predict", fill(C, '{"gender":[', ("[]" for _ in count()), "]}")),
    "batch: unknown keys": ("/predict/batch", fill(B, '{"customers":[{', (f'"k{i}":0' for i in count()), "}]}")),
    "batch: unknown envelope keys": ("/predict/batch", fill(B, "{", (f'"k{i}":0' for i in count()), "}")),
    "batch: empty customers": ("/predict/batch", fill(B, '{"customers":[', ("{}" for _ in count()), "]}")),
    "batch: 1000 empty": ("/predict/batch", batch_of({} for _ in range(1000))),
    "batch: 1000 all null": ("/predict/batch", batch_of(dict.fromkeys(EXAMPLE) for _ in range(1000))),
    "batch: 1000 x 19 unknown": ("/predict/batch", batch_of({f"x{k}": 0 for k in EXAMPLE} for _ in range(1000))),
    "batch: 500 x 38 unknown": ("/predict/batch", batch_of({f"x{k}": 0 for k in range(38)} for _ in range(500))),
    "batch: 1000 long keys": ("/predict/batch", batch_of({"k" * 900 + str(i): 0} for i in range(1000))),
    "batch: nested lists": ("/predict/batch", b'{"customers":[' + b"[" * 20000 + b"]" * 20000 + b"]}"),
}  # fmt: skip
