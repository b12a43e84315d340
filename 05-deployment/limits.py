"""What the churn service refuses before scoring, and at what cost (used by ``hardening.py``;
no FastAPI here).

Every refusal costs a bounded amount of work whatever the body holds:

- ``read_body``: ``Content-Type`` must be ``application/json`` (415), the body must fit the
  endpoint's limit (413, by ``Content-Length`` or while streaming), and arrive within
  ``BODY_TIMEOUT_S`` (408). A refused body is read and discarded up to ``DRAIN_BYTES``
  before the answer, so a client that sends its whole body before reading (urllib) gets the
  status instead of a connection reset; beyond that bound, or with ``Expect: 100-continue``,
  the answer goes out at once and the connection is closed.
- ``json_values_bound``: an upper bound on the number of JSON values in a body from byte
  counts, which runs at memory speed (parsing a crafted megabyte can take 100 ms or more).
- ``error_reply``: a 422 with the first ``MAX_ERRORS`` errors and the total count, names
  from the request cut to ``MAX_NAME`` characters (a flood of unknown keys once gave a
  24 MB answer that took seconds to build).

``SERVER`` holds the uvicorn settings the image runs with (the Dockerfile's CMD; a test
compares them).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

MAX_CUSTOMER_BYTES = 4 * 1024  # a compact customer is ~500 bytes, an indented one ~800
MAX_BATCH_BYTES = 1024 * 1024  # 1000 customers of up to ~1 KiB each
DRAIN_BYTES = 8 * 1024 * 1024
# a refused body is drained in at most this many pieces (8 KiB on average over DRAIN_BYTES):
# a client dribbling it byte by byte would otherwise cost a receive() per byte
MAX_DRAIN_MESSAGES = 1024
BODY_TIMEOUT_S = 10.0
MAX_ERRORS = 10
MAX_NAME = 40
MAX_MSG = 160
CLOSES = frozenset({400, 408, 413, 415})  # answered before the body was read: close after
SERVER: dict[str, int] = {
    "timeout_keep_alive": 5,  # idle keep-alive connections after a response
    "limit_concurrency": 128,  # connections or requests at once, then 503
    "timeout_graceful_shutdown": 10,
}
JSON = b"application/json"


def server_flags(server: dict[str, int] = SERVER) -> list[str]:
    """``SERVER`` as uvicorn command-line flags (``--timeout-keep-alive 5 ...``)."""
    return [part for k, v in server.items() for part in ("--" + k.replace("_", "-"), str(v))]


class Reply(Exception):
    """An early answer (400, 408, 413, 415, 422) while reading or validating a request."""

    def __init__(self, status: int, body: dict[str, Any]):
        self.status, self.body = status, body

    def encode(self) -> bytes:
        return json.dumps(self.body).encode()


def too_large(limit: int) -> Reply:
    return Reply(413, {"detail": f"request body over {limit} bytes"})


def json_media_type(value: bytes) -> bool:
    """``application/json``, any case, with no parameter but an UTF-8 charset."""
    if value == JSON:
        return True
    kind, _, params = value.partition(b";")
    if kind.strip().lower() != JSON:
        return False
    for param in params.split(b";") if params else ():
        name, _, v = param.partition(b"=")
        if name.strip().lower() != b"charset" or v.strip(b' "').lower() not in (b"utf-8", b"utf8"):
            return False
    return True


# --------------------------------------------------------------------------- body deadline
# A slow client keeps a request reading its body; ``watch_deadlines`` (started by the
# service's lifespan) cancels reads past their deadline and ``read_body`` turns that into a
# 408. A dict entry per read, not a timer per request: ``asyncio.timeout`` cost ~5 µs, 7 %
# of a whole /predict request.
_reading: dict[asyncio.Task, float] = {}
_expired: set[asyncio.Task] = set()
_current_task, _now = asyncio.current_task, time.monotonic  # once per request: bound here


async def watch_deadlines(interval: float = 1.0) -> None:
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval)
        now = _now()
        for task, deadline in list(_reading.items()):
            if deadline <= now and task.get_loop() is loop and task not in _expired:
                _expired.add(task)
                task.cancel()


def content_length(values: set[bytes]) -> int:
    """The one declared length; two different ones, or anything but digits, is a 400.
    Leading zeros are dropped and a value of more than 18 digits counts as "too large"
    before ``int()`` sees it (Python refuses to parse more than 4,300 digits)."""
    if len(values) > 1:
        raise Reply(400, {"detail": "conflicting Content-Length headers"})
    (value,) = values
    if not value.isdigit():
        raise Reply(400, {"detail": "invalid Content-Length"})
    digits = value.lstrip(b"0") or b"0"
    return int(digits) if len(digits) <= 18 else 10**18


async def read_body(headers: list[tuple[bytes, bytes]], receive, limit: int) -> bytes:
    """The request body, or a ``Reply`` (415, 400, 413, 408) once the refused part of it
    has been discarded (see the module docstring)."""
    types, lengths, expect = set(), set(), False
    for key, value in headers:
        if key == b"content-type":
            types.add(value)
        elif key == b"content-length":
            lengths.add(value)
        elif key == b"expect":
            expect = True
    refusal = None
    # duplicated headers are refused, never "last one wins" (JSON keys: see the README)
    if len(types) > 1:
        raise Reply(400, {"detail": "conflicting Content-Type headers"})
    typed = len(types) == 1 and json_media_type(next(iter(types)))
    if not typed:
        refusal = Reply(415, {"detail": "Content-Type must be application/json (UTF-8)"})
    if lengths:
        length = content_length(lengths)
        if length > limit:
            refusal = refusal or too_large(limit)
        if refusal is not None and (expect or length > DRAIN_BYTES):
            raise refusal  # the client waits for our answer, or draining costs too much
    task = _current_task()
    _reading[task] = _now() + BODY_TIMEOUT_S
    try:
        chunks, size, drained = [], 0, 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ConnectionAbortedError("client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if refusal is None:
                if size > limit:
                    refusal = too_large(limit)
                else:
                    chunks.append(chunk)
            else:
                drained += 1
                if size > DRAIN_BYTES or drained > MAX_DRAIN_MESSAGES:
                    raise refusal
            if not message.get("more_body", False):
                break
    except asyncio.CancelledError:
        if task not in _expired:
            raise
        _expired.discard(task)
        task.uncancel()
        detail = f"request body not received within {BODY_TIMEOUT_S:g} s"
        raise Reply(408, {"detail": detail}) from None
    finally:
        del _reading[task]
    if refusal is not None:
        raise refusal
    return b"".join(chunks)


# --------------------------------------------------------------------------- bounded 422


def json_values_bound(body: bytes) -> int:
    """At least the number of JSON values in ``body``: a container of n values holds n - 1
    commas, so values <= 1 + commas + opening brackets (commas inside strings only raise
    the bound; the valid requests' strings hold none)."""
    return 1 + body.count(b",") + body.count(b"[") + body.count(b"{")


def short(part: Any) -> Any:
    """A location part as echoed: names from the request cut to ``MAX_NAME`` characters."""
    if isinstance(part, str) and len(part) > MAX_NAME:
        return part[: MAX_NAME - 3] + "..."
    return part


def error_reply(errors: Iterable[tuple[tuple, dict[str, Any]]], count: int) -> Reply:
    """422 with the first ``MAX_ERRORS`` of ``(location prefix, pydantic error)`` pairs and
    the total ``count``: ``message`` names each field (``contract: Input should be ...``),
    nothing of the input is echoed but the cut names."""
    detail = []
    for prefix, e in errors:
        loc = ["body", *(short(p) for p in (*prefix, *e["loc"]))]
        detail.append({"loc": loc, "msg": e["msg"][:MAX_MSG], "type": e["type"]})
        if len(detail) == MAX_ERRORS:
            break
    fields = [
        "body" if e["type"] == "json_invalid" else ".".join(map(str, e["loc"][1:])) or "body"
        for e in detail
    ]
    message = "; ".join(f"{f}: {e['msg']}" for f, e in zip(fields, detail, strict=True))
    if count > len(detail):
        message += f"; and {count - len(detail)} more"
    return Reply(422, {"detail": detail, "message": message, "error_count": count})


def too_many_fields(
    objects: list, prefix: tuple, item: type[BaseModel]
) -> list[tuple[tuple, dict[str, Any]]]:
    """Pydantic-shaped errors for the objects in ``objects`` with over twice the fields of
    ``item``, refused whole: pydantic would report each unknown key, at up to ~3 µs apiece."""
    fields = len(item.model_fields)
    return [
        (prefix, {"loc": (i,) if prefix else (), "type": "too_many_fields",
                  "msg": f"Object has {len(o)} fields, a {item.__name__.lower()} {fields}"})
        for i, o in enumerate(objects)
        if type(o) is dict and len(o) > 2 * fields
    ]  # fmt: skip


def item_errors(model: type[BaseModel], items: list, name: str):
    """Each item's errors in order, validated one at a time: only the errors read are built
    (pydantic builds every error of a batch, up to tens of thousands)."""
    for i, item in enumerate(items):
        try:
            model.model_validate(item)
        except ValidationError as exc:
            for e in exc.errors(include_url=False, include_context=False, include_input=False):
                yield (name, i), e
