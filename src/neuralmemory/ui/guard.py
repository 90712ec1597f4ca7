"""Who may use the UI: only the browser of the person who started `nmem ui` (docs/ui.md#safety).

The server listens on 127.0.0.1 only, but that does not make a request local: any web page the
user visits can make the browser send requests to 127.0.0.1, and a DNS-rebinding page can even
read the answers. So every request passes these checks before any route runs:

- `Host` is exactly 127.0.0.1:PORT or localhost:PORT, so a page served under another name (DNS
  rebinding) is refused;
- the request proves it comes from the person holding the token `nmem ui` printed: the address
  carries it once (`?token=`), and is answered by a redirect that drops it from the address and
  sets an HttpOnly, SameSite=Strict cookie holding a second secret, which later requests carry;
- a change is a POST from a form of these pages: no `Origin` of another site, a urlencoded body,
  and the page's CSRF token in it (SameSite=Strict already keeps the cookie off cross-site
  requests; the token is a second lock).

Every answer carries a Content-Security-Policy allowing only the UI's own scripts and styles,
forbids framing, and is never cached. Written as an ASGI middleware so that no route can opt out,
and so that a POST body is checked before the route's form parser sees it.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode

from neuralmemory import errors as msg

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: the largest form body: a memory's content (64 KiB of UTF-8) percent-encoded, with room to spare
MAX_FORM_BYTES = 512 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
        b" form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # no-referrer would make Chromium send `Origin: null`
    (b"cache-control", b"no-store"),
]


@dataclass(frozen=True)
class Secrets:
    """What one `nmem ui` run hands out: made fresh at each start, never stored or logged."""

    port: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    session: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    @property
    def cookie(self) -> str:
        # Cookies ignore ports: two `nmem ui` on one machine must not overwrite each other's.
        return f"nmem_ui_{self.port}"

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset({f"127.0.0.1:{self.port}", f"localhost:{self.port}"})

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(f"http://{host}" for host in self.hosts)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}?token={self.token}"


class Guard:
    """The ASGI middleware that applies the checks above to every HTTP request."""

    def __init__(self, app: ASGIApp, keys: Secrets) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # a WebSocket: the UI has none, and takes none
            await send({"type": "websocket.close", "code": 1008})
            return
        send = _with_security_headers(send)
        headers = _headers(scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await _plain(send, *refusal)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "token" in query:
            await self._exchange(scope, query, send)
            return
        if not self._has_session(headers):
            await _plain(send, 403, msg.MSG_UI_NO_SESSION)
            return
        if scope["method"] == "POST":
            body, refusal = await self._checked_form(headers, receive)
            if refusal is not None:
                await _plain(send, *refusal)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if host.lower() not in self.keys.hosts:
            return 400, msg.MSG_UI_BAD_HOST.format(port=self.keys.port, host=host)
        if scope["method"] not in ("GET", "HEAD", "POST"):
            return 405, msg.MSG_UI_METHOD
        origin = headers.get("origin")
        if scope["method"] == "POST" and origin is not None and origin not in self.keys.origins:
            return 403, msg.MSG_UI_CROSS_SITE.format(origin=origin)
        return None

    async def _exchange(self, scope: Scope, query: dict[str, list[str]], send: Send) -> None:
        """The printed address: a right token becomes the session cookie, and the address
        loses it (out of the history and of any Referer)."""
        given = query.pop("token")[0]
        if scope["method"] == "POST" or not hmac.compare_digest(given, self.keys.token):
            await _plain(send, 403, msg.MSG_UI_NO_SESSION)
            return
        rest = urlencode(query, doseq=True)
        location = scope["path"] + (f"?{rest}" if rest else "")
        cookie = (
            f"{self.keys.cookie}={self.keys.session}; Path=/; HttpOnly; SameSite=Strict"
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [(b"location", location.encode()), (b"set-cookie", cookie)],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    def _has_session(self, headers: dict[str, str]) -> bool:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is no session, not a crash
            return False
        held = jar.get(self.keys.cookie)
        return held is not None and hmac.compare_digest(held.value, self.keys.session)

    async def _checked_form(
        self, headers: dict[str, str], receive: Receive
    ) -> tuple[bytes, tuple[int, str] | None]:
        if headers.get("content-type", "").split(";")[0].strip().lower() != FORM_TYPE:
            return b"", (403, msg.MSG_UI_NOT_A_FORM)
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"", (400, msg.MSG_UI_NOT_A_FORM)
            body += message.get("body", b"")
            if len(body) > MAX_FORM_BYTES:
                return b"", (413, msg.MSG_UI_TOO_LARGE.format(limit=MAX_FORM_BYTES))
            if not message.get("more_body", False):
                break
        sent = parse_qs(body.decode("latin-1")).get("csrf", [""])[0]
        if not hmac.compare_digest(sent.encode(), self.keys.csrf.encode()):
            return b"", (403, msg.MSG_UI_NO_CSRF)
        return body, None


def _headers(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
    }


def _replay(body: bytes, then: Receive) -> Receive:
    """The body already read, handed to the app as if it came now; then the connection's own
    messages (its disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _with_security_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
        await send(message)

    return sending


async def _plain(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
