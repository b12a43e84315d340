"""The churn service's limits and fast lanes, put on its FastAPI app by ``harden(api)``.

``app = harden(api)`` (predict.py) gives every typed POST route of ``api`` whose one
parameter is a pydantic model (the request body) a lane: the body read under ``limits``
(415, 413, 408, 400), validated at a bounded cost (a 422 with the first errors and their
count), the route's own function called with the model, its answer written as JSON. The
routes of ``api`` answer through their lane; the app returned answers the same lanes
straight from uvicorn's ASGI messages, before FastAPI's routing, and hands everything else
(lifespan, /health, /docs, 404, 405) to ``api``. harden also adds to the start-up the
watcher that turns bodies which never arrive into 408s, and serves /docs from the Swagger
UI files of the ``swagger-ui-bundle-v2`` package instead of a CDN. (Why, and what the
fast lanes buy: the README's "Decisions".)
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import typing
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, NamedTuple

import annotated_types
from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.routing import APIRoute
from limits import (
    BODY_TIMEOUT_S,
    CLOSES,
    MAX_BATCH_BYTES,
    MAX_CUSTOMER_BYTES,
    MAX_ERRORS,
    Reply,
    error_reply,
    item_errors,
    json_values_bound,
    read_body,
    too_many_fields,
    watch_deadlines,
)
from pydantic import BaseModel, Field, ValidationError, create_model
from pydantic_core import from_json, to_json
from starlette.routing import request_response
from swagger_ui_bundle import swagger_ui_path

JSON = "application/json"
DOCS_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
REFUSED = {
    408: {"description": f"body not received within {BODY_TIMEOUT_S:g} s"},
    413: {"description": f"body over {MAX_CUSTOMER_BYTES} bytes (a list body: "
          f"{MAX_BATCH_BYTES} bytes, or more items than its maxItems)"},
    415: {"description": "Content-Type other than application/json"},
}  # fmt: skip


class Lane(NamedTuple):
    score: Callable[[bytes], bytes]  # body -> JSON answer, or raises limits.Reply
    limit: int  # body bytes


# --------------------------------------------------------------------------- validation


def one(model: type[BaseModel]) -> Callable[[bytes], BaseModel]:
    """``model`` from a body of at most ``MAX_CUSTOMER_BYTES``: its errors stay few (~600)."""

    def validate(body: bytes) -> BaseModel:
        try:
            return model.model_validate_json(body)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            raise error_reply((((), e) for e in errors), exc.error_count()) from None

    return validate


def many(model: type[BaseModel], name: str, item: type[BaseModel], most: int):
    """``model`` (one field ``name``: a list of at most ``most`` ``item``) from a body, or a
    ``Reply`` whose cost stays bounded: the JSON values are counted before parsing, objects
    wider than twice an item are refused before pydantic sees them, and a 422 collects only
    its first errors. A valid body is parsed once: the first pass gives up at the first bad
    item, so a refused one costs little there."""
    field = model.model_fields[name]
    first = create_model(
        model.__name__, __base__=model,
        **{name: (Annotated[field.annotation, field, Field(fail_fast=True)], ...)},
    )  # fmt: skip
    fields = len(item.model_fields)
    values = 2 + most * (fields + 1)  # envelope, list, items and their fields

    def validate(body: bytes) -> BaseModel:
        if json_values_bound(body) > values:
            raise Reply(413, {"detail": f"batch over {most} {name} of {fields} fields"})
        try:
            return first.model_validate_json(body)
        except ValidationError:
            pass  # refused: the steps below shape a bounded answer
        try:
            data = from_json(body)
        except ValueError:  # pydantic's own json_invalid error, from the same bounded body
            data = body
        items = data.get(name) if type(data) is dict else None
        if type(items) is not list:
            items = []
        elif len(items) > most:
            raise Reply(413, {"detail": f"batch over {most} {name}"})
        wide = too_many_fields([data], (), item) + too_many_fields(items, (name,), item)
        if wide:
            raise error_reply(wide, len(wide))
        try:
            return model.model_validate_json(data) if data is body else model.model_validate(data)
        except ValidationError as exc:
            count = exc.error_count()
            if (
                count <= 2 * MAX_ERRORS or not items
            ):  # else: only the first few errors, item by item
                errors = exc.errors(include_url=False, include_context=False, include_input=False)
                raise error_reply((((), e) for e in errors), count) from None
            raise error_reply(item_errors(item, items, name), count) from None

    return validate


def list_of_models(model: type[BaseModel]) -> tuple[str, type[BaseModel], int] | None:
    """``(field, item model, max items)`` when ``model`` is one list of models, else None."""
    if len(model.model_fields) != 1:
        return None
    name, field = next(iter(model.model_fields.items()))
    args = typing.get_args(field.annotation)
    if typing.get_origin(field.annotation) is not list or not is_model(args[0]):
        return None
    most = [m.max_length for m in field.metadata if isinstance(m, annotated_types.MaxLen)]
    if not most:
        raise TypeError(f"{model.__name__}.{name}: a list body needs a max_length")
    return name, args[0], most[0]


def is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def lane_of(route: APIRoute) -> Lane | None:
    """The lane of a POST route whose one parameter is a pydantic model, else None."""
    params = inspect.signature(route.endpoint).parameters
    if route.methods != {"POST"} or len(params) != 1:
        return None
    model = typing.get_type_hints(route.endpoint).get(next(iter(params)))
    if not is_model(model):
        return None
    if inspect.iscoroutinefunction(route.endpoint):  # a lane calls it on the event loop
        raise TypeError(f"{route.path}: a lane calls a plain def, not an async def")
    batch = list_of_models(model)
    validate = many(model, *batch) if batch else one(model)
    endpoint = route.endpoint
    return Lane(lambda body: to_json(endpoint(validate(body))),
                MAX_BATCH_BYTES if batch else MAX_CUSTOMER_BYTES)  # fmt: skip


# --------------------------------------------------------------------------- serving


async def handle(lane: Lane, headers, receive) -> tuple[int, bytes]:
    try:
        return 200, lane.score(await read_body(headers, receive, lane.limit))
    except Reply as reply:
        return reply.status, reply.encode()


def as_route(lane: Lane):
    """The lane behind FastAPI's routing (``api`` alone serves it so, more slowly)."""

    async def endpoint(request: Request) -> Response:
        status, body = await handle(lane, request.scope["headers"], request.receive)
        return Response(body, status, {"connection": "close"} if status in CLOSES else None, JSON)

    return request_response(endpoint)


class FastLanes:
    """What uvicorn serves: the lanes answered from the raw ASGI messages (FastAPI's
    per-request routing costs several times the work itself), the rest by ``api``."""

    def __init__(self, api: FastAPI, lanes: dict[str, Lane]):
        self.api, self.lanes = api, lanes

    async def __call__(self, scope, receive, send):
        lane = self.lanes.get(scope.get("path")) if scope["type"] == "http" else None
        if lane is None or scope["method"] != "POST":
            return await self.api(scope, receive, send)
        try:
            status, body = await handle(lane, scope["headers"], receive)
        except ConnectionAbortedError:
            return
        headers = [(b"content-type", JSON.encode()), (b"content-length", b"%d" % len(body))]
        if status in CLOSES:  # the body may be partly unread
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def serve_docs(api: FastAPI) -> None:
    """``GET /docs``: Swagger UI from the package's files, served here (no CDN)."""
    if api.docs_url or api.redoc_url:
        raise ValueError("FastAPI(docs_url=None, redoc_url=None): harden serves /docs itself")

    @api.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + api.openapi_url,
            title=f"{api.title} - Swagger UI",
            swagger_js_url=f"{root}/docs/{DOCS_FILES[0]}",
            swagger_css_url=f"{root}/docs/{DOCS_FILES[1]}",
            swagger_favicon_url=f"{root}/docs/{DOCS_FILES[2]}",
            swagger_ui_parameters={"validatorUrl": None},  # no badge from swagger.io
        )

    @api.get("/docs/{name}", include_in_schema=False)
    def docs_file(name: str) -> FileResponse:
        if name not in DOCS_FILES:
            raise HTTPException(404)
        return FileResponse(swagger_ui_path / name)


def harden(api: FastAPI) -> FastLanes:
    """Puts the limits on ``api``'s POST routes and its start-up, serves /docs; returns
    ``api`` behind the fast lanes (see the module docstring)."""
    lanes = {}
    for route in api.routes:
        lane = lane_of(route) if isinstance(route, APIRoute) else None
        if lane is not None:
            route.app, lanes[route.path] = as_route(lane), lane
            route.responses = {**REFUSED, **route.responses}
    serve_docs(api)
    # Starlette would answer POST /predict/ with a redirect built from the Host header (a
    # reflected, attacker-chosen address); a path is served as written or not at all
    api.router.redirect_slashes = False
    started = api.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app):
        async with started(app) as state:
            # everything alive now lives as long as the process: out of the cyclic GC's
            # sight, a full collection no longer walks it (~80 ms every few batches)
            gc.collect()
            gc.freeze()
            watcher = asyncio.create_task(watch_deadlines())
            try:
                yield state
            finally:
                watcher.cancel()

    api.router.lifespan_context = lifespan
    return FastLanes(api, lanes)
