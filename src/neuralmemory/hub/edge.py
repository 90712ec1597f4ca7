"""Everything between the socket and a route: body limit, request log, JSON parsing, error replies.

Every failure a client can cause leaves here as `{"error", "code"}` with a 4xx status
(docs/protocol.md, Errors); only a bug is a 500, and its reply says nothing about the request.
"""

from __future__ import annotations

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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neuralmemory.errors import MSG_NOT_FOUND, MSG_PAYLOAD_TOO_LARGE, InvalidInput, NmemError
from neuralmemory.hub.metrics import UNMATCHED, Metrics
from neuralmemory.protocol import MAX_SAFE_INTEGER

log = logging.getLogger("neuralmemory.hub")
M = TypeVar("M", bound=BaseModel)

MAX_ERRORS_SHOWN = 3


class ApiError(Exception):
    """A refusal with no place in the library's error tree (405, 409, 415)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_body(message: str, code: str, retry_after: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "code": code}
    if retry_after is not None:
        body["retry_after"] = retry_after
    return body


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
            error_body("Method not allowed", "method_not_allowed"),
            405,
            headers={"Allow": allow} if allow else None,
        )
    return JSONResponse(error_body(f"Invalid request: {exc.detail}", "invalid_request"), 400)


def printable(text: str) -> str:
    """Client-controlled text fit for one log line: every non-printable character escaped as repr
    does (newlines, control characters, U+2028), so nothing sent can end a line or forge one."""
    return repr(text)[1:-1]


async def on_crash(request: Request, exc: Exception) -> Response:
    method, path = printable(request.method), printable(request.url.path)
    log.error("unhandled %s in %s %s", type(exc).__name__, method, path)
    return JSONResponse(error_body("Internal error", "internal_error"), 500)


def describe(errors: list[Any]) -> str:
    """`Invalid request: records.0.vhash: String should match pattern ...` (values never echoed)."""
    parts = []
    for error in errors[:MAX_ERRORS_SHOWN]:
        where = ".".join(str(part) for part in error.get("loc", ())) or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    if len(errors) > MAX_ERRORS_SHOWN:
        parts.append(f"and {len(errors) - MAX_ERRORS_SHOWN} more")
    return "Invalid request: " + "; ".join(parts)


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
            raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
        raw = await request.body()
        try:
            data = json.loads(raw, parse_constant=_no_constants, parse_float=_number)
        except RecursionError:
            raise InvalidInput("Invalid request: body: JSON nested too deeply") from None
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"Invalid request: body: malformed JSON at line {exc.lineno} column {exc.colno}"
            ) from None
        except ValueError:  # not UTF-8, or NaN/Infinity
            raise InvalidInput("Invalid request: body: not valid UTF-8 JSON") from None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors = [dict(e, loc=("body", *e["loc"])) for e in exc.errors()]
            raise InvalidInput(describe(errors)) from None
        except RecursionError:
            raise InvalidInput("Invalid request: body: JSON nested too deeply") from None

    return parse


# ---------------------------------------------------------------- ASGI middleware


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode("ascii")),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class BodyLimit:
    """413 for a body over `max_bytes`, decided before the body is held whole: by Content-Length
    when it is given, else by counting the chunks as they arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = error_body(MSG_PAYLOAD_TOO_LARGE, "payload_too_large")
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _send_json(send, 413, too_large)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _send_json(send, 413, too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


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
