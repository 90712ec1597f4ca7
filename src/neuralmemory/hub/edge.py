"""Everything between the socket and a route: body limit and timeouts, the cap on requests in
flight, request log, JSON parsing, error replies. (Limits on connections and headers, which come
before the app sees a request, are in server.py.)

Every failure a client can cause leaves here as `{"error", "code"}` with a 4xx status
(docs/protocol.md, Errors), and a hub with too much to do says 503 `busy`; only a bug is a 500,
and its reply says nothing about the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neuralmemory.errors import (
    MSG_BUSY,
    MSG_HUB_INTERNAL,
    MSG_INVALID_REQUEST,
    MSG_JSON_MALFORMED,
    MSG_JSON_NOT_UTF8,
    MSG_JSON_TOO_DEEP,
    MSG_METHOD_NOT_ALLOWED,
    MSG_NOT_FOUND,
    MSG_NOT_JSON,
    MSG_PAYLOAD_TOO_LARGE,
    MSG_REQUEST_TIMEOUT,
    InvalidInput,
    NmemError,
    PayloadTooLarge,
)
from neuralmemory.hub.metrics import UNMATCHED, Metrics
from neuralmemory.protocol import MAX_SAFE_INTEGER

log = logging.getLogger("neuralmemory.hub")
M = TypeVar("M", bound=BaseModel)

MAX_ERRORS_SHOWN = 3


class ApiError(Exception):
    """A refusal with no place in the library's error tree (405, 408, 409, 415)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_body(message: str, code: str, retry_after: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "code": code}
    if retry_after is not None:
        body["retry_after"] = retry_after
    return body


def json_bytes(body: dict[str, Any]) -> bytes:
    """A reply body built by hand, compact like every other reply."""
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def reply(model: BaseModel, status: int = 200) -> Response:
    """Serialise a reply model directly (it is already what the protocol says)."""
    return Response(model.model_dump_json(), status_code=status, media_type="application/json")


# ---------------------------------------------------------------- error replies

STATUS = {"invalid_request": 400, "not_found": 404}


async def on_nmem_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NmemError)
    status = getattr(exc, "status", None) or STATUS.get(exc.code, 400)
    retry_after = getattr(exc, "retry_after", None)
    seconds = None if retry_after is None else max(1, round(retry_after))
    headers = None if seconds is None else {"Retry-After": str(seconds)}
    return JSONResponse(error_body(exc.message, exc.code, seconds), status, headers=headers)


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(error_body(exc.message, exc.code), exc.status)


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    message = describe(list(exc.errors()))
    return JSONResponse(error_body(message, "invalid_request"), 400)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return JSONResponse(error_body(MSG_NOT_FOUND, "not_found"), 404)
    if exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow")
        return JSONResponse(
            error_body(MSG_METHOD_NOT_ALLOWED, "method_not_allowed"),
            405,
            headers={"Allow": allow} if allow else None,
        )
    message = MSG_INVALID_REQUEST.format(detail=exc.detail)
    return JSONResponse(error_body(message, "invalid_request"), 400)


def printable(text: str) -> str:
    """Client-controlled text fit for one log line: every non-printable character escaped as repr
    does (newlines, control characters, U+2028), so nothing sent can end a line or forge one."""
    return repr(text)[1:-1]


async def on_crash(request: Request, exc: Exception) -> Response:
    method, path = printable(request.method), printable(request.url.path)
    log.error("unhandled %s in %s %s", type(exc).__name__, method, path)
    return JSONResponse(error_body(MSG_HUB_INTERNAL, "internal_error"), 500)


def describe(errors: list[Any]) -> str:
    """`Invalid request: records.0.vhash: String should match pattern ...` (values never echoed)."""
    parts = []
    for error in errors[:MAX_ERRORS_SHOWN]:
        where = ".".join(str(part) for part in error.get("loc", ())) or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    if len(errors) > MAX_ERRORS_SHOWN:
        parts.append(f"and {len(errors) - MAX_ERRORS_SHOWN} more")
    return MSG_INVALID_REQUEST.format(detail="; ".join(parts))


# ---------------------------------------------------------------- JSON bodies


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _number(text: str) -> int | float:
    """1.0 is the number 1, as in JavaScript (so the Worker and this hub agree); a fraction stays
    a float, for validation to refuse where the protocol has no place for one."""
    value = float(text)
    return int(value) if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER else value


def json_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency parsing the request body as `model`, with every failure a clear 4xx."""

    async def parse(request: Request) -> M:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise ApiError(415, "unsupported_media_type", MSG_NOT_JSON)
        raw = await request.body()
        try:
            data = json.loads(raw, parse_constant=_no_constants, parse_float=_number)
        except RecursionError:
            raise _invalid(MSG_JSON_TOO_DEEP) from None
        except json.JSONDecodeError as exc:
            raise _invalid(MSG_JSON_MALFORMED.format(line=exc.lineno, column=exc.colno)) from None
        except ValueError:  # not UTF-8, or NaN/Infinity
            raise _invalid(MSG_JSON_NOT_UTF8) from None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors = [dict(e, loc=("body", *e["loc"])) for e in exc.errors()]
            raise InvalidInput(describe(errors)) from None
        except RecursionError:
            raise _invalid(MSG_JSON_TOO_DEEP) from None

    return parse


def _invalid(detail: str) -> InvalidInput:
    return InvalidInput(MSG_INVALID_REQUEST.format(detail=detail))


# ---------------------------------------------------------------- ASGI middleware


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    data = json_bytes(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode("ascii")),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class BodyLimit:
    """The body as the route reads it, never ahead of it: 413 for one over `max_bytes` (at once by
    its Content-Length, else as soon as the streamed bytes pass it), 408 for one that pauses for
    more than `read_timeout` seconds or takes more than `body_timeout` in all.

    Reading nothing ahead lets a route refuse a caller (401, 429) before any of the body arrives:
    FastAPI resolves the `caller` dependency before `json_body`'s. A reply to a request whose body
    was cut short closes the connection, whose next bytes would be the rest of that body.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, read_timeout: float, body_timeout: float
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _send_json(send, 413, error_body(MSG_PAYLOAD_TOO_LARGE, "payload_too_large"))
                return
        size = 0
        deadline: float | None = None
        complete = cut_short = False

        async def read() -> Message:
            nonlocal size, deadline, complete, cut_short
            if complete:
                return await receive()  # after the body only a disconnect can come
            now = asyncio.get_running_loop().time()
            if deadline is None:  # the body's time starts when the route starts reading it
                deadline = now + self.body_timeout
            try:
                async with asyncio.timeout(min(self.read_timeout, deadline - now)):
                    message = await receive()
            except TimeoutError:
                cut_short = True
                raise ApiError(408, "request_timeout", MSG_REQUEST_TIMEOUT) from None
            if message["type"] != "http.request":
                return message  # the client went away
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                cut_short = True
                raise PayloadTooLarge()
            complete = not message.get("more_body", False)
            return message

        async def reply(message: Message) -> None:
            if message["type"] == "http.response.start" and cut_short:
                message = {**message, "headers": [*message["headers"], (b"connection", b"close")]}
            await send(message)

        with contextlib.suppress(ClientDisconnect):  # it went away mid-body: no one to answer
            await self.app(scope, read, reply)


class InFlightLimit:
    """503 `busy` with Retry-After for a request over `max_concurrent` being handled at once, so
    a burst waits at the devices (they retry a 5xx with backoff) rather than in this process."""

    RETRY_AFTER = 1

    def __init__(self, app: ASGIApp, max_concurrent: int) -> None:
        self.app = app
        self.max_concurrent = max_concurrent
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.active >= self.max_concurrent:
            body = error_body(MSG_BUSY, "busy", self.RETRY_AFTER)
            retry_after = (b"retry-after", str(self.RETRY_AFTER).encode("ascii"))
            await _send_json(send, 503, body, (retry_after,))
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


#: logged (never sent) for a request whose client went away before any reply, as nginx does
CLIENT_CLOSED = 499


class RequestLog:
    """One line per request: method, path, status, milliseconds, account. Never a key or a body.
    With `metrics`, the same figures are counted by route template (hub/metrics.py)."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = CLIENT_CLOSED  # until a reply starts: the client may go away before one

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except BaseException:
            if status == CLIENT_CLOSED:
                status = 500  # a crash: the server error handler outside answers 500
            raise
        finally:
            seconds = time.perf_counter() - started
            if self.metrics is not None:
                route = getattr(scope.get("route"), "path", UNMATCHED)
                self.metrics.observe(route, scope["method"], status, seconds)
            account = scope.get("state", {}).get("account_id", "-")
            # The raw (still percent-encoded) path, escaped: nothing in it can end the line.
            path = scope.get("raw_path") or scope["path"].encode("utf-8", "replace")
            log.info(
                "%s %s %d %.1fms account=%s",
                printable(scope["method"]),
                printable(path.decode("latin-1")),
                status,
                seconds * 1000,
                account,
            )
