"""The hub as an ASGI app: create_app(settings) with the whole route table in one place.

FastAPI serves the OpenAPI schema at /openapi.json (and docs at /docs). Request bodies are parsed
by edge.json_body rather than by FastAPI, so every malformed body gets the protocol's error shape;
the table names each body model so the schema still documents it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from neuralmemory import __version__
from neuralmemory.errors import NmemError
from neuralmemory.hub import routes
from neuralmemory.hub.backends import Backend, open_backend
from neuralmemory.hub.edge import (
    ApiError,
    BodyLimit,
    InFlightLimit,
    RequestLog,
    on_api_error,
    on_crash,
    on_http_error,
    on_nmem_error,
    on_validation_error,
)
from neuralmemory.hub.metrics import Metrics
from neuralmemory.hub.settings import Settings
from neuralmemory.protocol import (
    PATH_BRAIN,
    PATH_BRAINS,
    PATH_BUCKETS,
    PATH_DEVICES,
    PATH_DIGEST,
    PATH_FETCH,
    PATH_HEALTH,
    PATH_INFO,
    PATH_KEY,
    PATH_KEYS,
    PATH_METRICS,
    PATH_PAIR,
    PATH_PULL,
    PATH_PUSH,
    PATH_REGISTER,
    PATH_SHARE,
    PATH_SHARE_TAKE,
    PATH_STATUS,
    BrainInfo,
    BrainsReply,
    BucketsReply,
    BucketsRequest,
    DevicesReply,
    DigestReply,
    ErrorReply,
    FetchReply,
    FetchRequest,
    HubInfo,
    KeyCreated,
    KeyCreateRequest,
    KeyRevoked,
    KeysReply,
    PairRequest,
    PullReply,
    PullRequest,
    PushReply,
    PushRequest,
    RegisterReply,
    RegisterRequest,
    ShareCreated,
    ShareReply,
    ShareRequest,
    StatusReply,
)

log = logging.getLogger("neuralmemory.hub")

Endpoint = Callable[..., Any]

# method, path, endpoint, request body, reply, success status
ROUTES: list[tuple[str, str, Endpoint, type[BaseModel] | None, type[BaseModel] | None, int]] = [
    ("GET", PATH_HEALTH, routes.health, None, None, 200),
    ("GET", PATH_INFO, routes.info, None, HubInfo, 200),
    ("POST", PATH_REGISTER, routes.register, RegisterRequest, RegisterReply, 201),
    ("POST", PATH_PAIR, routes.pair, PairRequest, KeyCreated, 201),
    ("POST", PATH_KEYS, routes.create_key, KeyCreateRequest, KeyCreated, 201),
    ("GET", PATH_KEYS, routes.list_keys, None, KeysReply, 200),
    ("DELETE", PATH_KEY, routes.revoke_key, None, KeyRevoked, 200),
    ("GET", PATH_STATUS, routes.status, None, StatusReply, 200),
    ("GET", PATH_BRAINS, routes.list_brains, None, BrainsReply, 200),
    ("GET", PATH_BRAIN, routes.get_brain, None, BrainInfo, 200),
    ("POST", PATH_PUSH, routes.push, PushRequest, PushReply, 200),
    ("POST", PATH_PULL, routes.pull, PullRequest, PullReply, 200),
    ("GET", PATH_DIGEST, routes.digest, None, DigestReply, 200),
    ("POST", PATH_BUCKETS, routes.buckets, BucketsRequest, BucketsReply, 200),
    ("POST", PATH_FETCH, routes.fetch, FetchRequest, FetchReply, 200),
    ("GET", PATH_DEVICES, routes.devices, None, DevicesReply, 200),
    ("PUT", PATH_SHARE, routes.put_share, ShareRequest, ShareCreated, 201),
    ("POST", PATH_SHARE_TAKE, routes.take_share, None, ShareReply, 200),
]

SCHEMA_REF = "#/components/schemas/{model}"


def create_app(
    settings: Settings, backend: Backend | None = None, *, clock: routes.Clock = routes.now_ms
) -> FastAPI:
    """The hub. With `backend` given the caller owns it; otherwise the app opens and closes one.
    `clock` is the wall clock unless a test drives its own."""
    counters = Metrics(settings.metrics_token) if settings.metrics else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if backend is not None:
            yield
            return
        opened = await open_backend(settings.db_url)
        app.state.hub = routes.Hub(settings, opened, counters, clock)
        try:
            yield
        finally:
            await opened.close()

    app = FastAPI(
        title="Neural Memory hub",
        version=__version__,
        summary="The sync hub: accounts, API keys, a compare-and-swap record store, digests.",
        lifespan=lifespan,
        # A trailing slash is an unknown path (the 404 error shape), not a 307 to another path:
        # a JSON client gets a clear 4xx, and POST bodies are never bounced.
        redirect_slashes=False,
    )
    if backend is not None:
        app.state.hub = routes.Hub(settings, backend, counters, clock)

    body_models: list[type[BaseModel]] = [ErrorReply]
    for method, path, endpoint, body, answer, status in ROUTES:
        extra = None
        if body is not None:
            body_models.append(body)
            schema = {"schema": {"$ref": SCHEMA_REF.format(model=body.__name__)}}
            extra = {"requestBody": {"required": True, "content": {"application/json": schema}}}
        app.add_api_route(
            path,
            endpoint,
            methods=[method],
            response_model=answer,
            status_code=status,
            openapi_extra=extra,
            responses={"4XX": {"model": ErrorReply}},
        )

    # Not in the OpenAPI schema: an operator's endpoint, not part of the sync protocol.
    app.add_api_route(PATH_METRICS, routes.metrics, methods=["GET"], include_in_schema=False)

    for error, handler in (
        (NmemError, on_nmem_error),
        (ApiError, on_api_error),
        (RequestValidationError, on_validation_error),
        (HTTPException, on_http_error),
        (Exception, on_crash),
    ):
        app.add_exception_handler(error, handler)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in body_models:
                definition = model.model_json_schema(ref_template=SCHEMA_REF)
                components.update(definition.pop("$defs", {}))
                components[model.__name__] = definition
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    server = settings.server
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.limits.max_body_bytes,
        read_timeout=server.read_timeout,
        body_timeout=server.body_timeout,
    )
    app.add_middleware(InFlightLimit, max_concurrent=server.max_concurrent)
    app.add_middleware(RequestLog, metrics=counters)
    return app
