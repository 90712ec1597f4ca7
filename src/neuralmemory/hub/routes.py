"""The hub's endpoints: parse (edge.json_body), call one backend method, format. Nothing else.

The route table that maps paths to these functions is in app.py.

Longer than ~400 lines on purpose: it is one short function per endpoint of docs/protocol.md,
beside the dependencies they share (caller, admin, anonymous, in_database); split by resource,
the endpoint list would only be scattered.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import Response

from neuralmemory import __version__
from neuralmemory.errors import (
    MSG_CLOCK_AHEAD,
    MSG_DEVICE_KEY,
    MSG_EMAIL_TAKEN,
    MSG_INVALID_PAIR_CODE,
    MSG_INVALID_REQUEST,
    MSG_INVITE_REQUIRED,
    MSG_KEY_NOT_FOUND,
    MSG_METRICS_REFUSED,
    MSG_NOT_FOUND,
    MSG_REGISTRATION_CLOSED,
    MSG_SHARE_NOT_FOUND,
    AccessDenied,
    AuthError,
    CodeRefused,
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
)
from neuralmemory.hub import auth, codes
from neuralmemory.hub.backends import Backend, Incoming, Quota
from neuralmemory.hub.edge import json_body, reply
from neuralmemory.hub.gate import AccountGate
from neuralmemory.hub.loopback import keyless_allowed
from neuralmemory.hub.metrics import Metrics
from neuralmemory.hub.ratelimit import account_subject, admit, day_of
from neuralmemory.hub.settings import LOCAL_ACCOUNT, Settings
from neuralmemory.protocol import (
    BUCKETS,
    ID_PATTERN,
    MAX_SHARES_PER_ACCOUNT,
    PROTOCOL_VERSION,
    SHARE_ID_PATTERN,
    SHARE_TTL_MS,
    BrainsReply,
    BucketsRequest,
    DevicesReply,
    FetchReply,
    FetchRequest,
    HubInfo,
    KeyCreateRequest,
    KeyRevoked,
    KeysReply,
    PairRequest,
    PullRequest,
    PushRequest,
    RegisterReply,
    RegisterRequest,
    ShareCreated,
    ShareReply,
    ShareRequest,
    StatusReply,
    Version,
    clock_ahead,
    iso_ms,
)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


#: the hub's clock, in ms: rate-limit windows, key and pairing times, the clock-skew bound
Clock = Callable[[], int]


@dataclass(frozen=True)
class Hub:
    settings: Settings
    backend: Backend
    metrics: Metrics | None = None
    #: the wall clock; a test drives its own (a rate window's minute, without waiting for one)
    clock: Clock = now_ms
    gate: AccountGate = field(init=False)

    def __post_init__(self) -> None:
        gate = AccountGate(self.settings.account_concurrency, self.settings.account_wait_s)
        object.__setattr__(self, "gate", gate)  # frozen: set once, here


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


HOUR_MS = 3_600_000


def _address(request: Request) -> str:
    return "addr:" + (request.client.host if request.client else "unknown")


async def caller(request: Request) -> auth.Caller:
    """Who is asking (401 if a key is needed and bad), counted against their key's rate limit
    and their account's."""
    hub = hub_of(request)
    now = hub.clock()
    limits = hub.settings.limits
    per_minute = limits.rate_limit_per_minute
    peer = request.client.host if request.client else None
    keyless_ok = keyless_allowed(hub.settings.auth, peer, request.headers.items())
    try:
        who = await auth.authenticate(
            hub.backend,
            hub.settings.auth,
            request.headers.get("authorization"),
            now,
            keyless_ok=keyless_ok,
        )
    except AuthError:
        # Failed attempts count against the address, so guessing keys is rate limited too.
        await admit(hub.backend, [(_address(request), per_minute)], None, now)
        raise
    request.state.account_id = who.account_id
    subject = f"key:{who.key_id}" if who.key_id else _address(request)
    budgets = [
        (subject, per_minute),
        (account_subject(who.account_id), limits.account_rate_limit_per_minute),
    ]
    await admit(hub.backend, budgets, who.account_id, now)
    return who


async def in_database(
    request: Request, who: Annotated[auth.Caller, Depends(caller)]
) -> AsyncIterator[auth.Caller]:
    """The caller, holding one of their account's slots (gate.py) until the route returns.

    Routes with a body declare this after the body: the slot is taken once the body is read, so
    a client that stalls its body holds a connection, never one of its account's database slots.
    """
    async with hub_of(request).gate.admit(who.account_id):
        yield who


async def admin(who: Annotated[auth.Caller, Depends(caller)]) -> auth.Caller:
    """A caller that may manage keys: a device key only syncs, so a stolen one cannot take
    over the account by making keys or revoking the owner's."""
    if not who.admin:
        raise AccessDenied(MSG_DEVICE_KEY)
    return who


async def anonymous(request: Request) -> None:
    """Endpoints open to anyone are limited per client address."""
    hub = hub_of(request)
    budget = (_address(request), hub.settings.limits.rate_limit_per_minute)
    await admit(hub.backend, [budget], None, hub.clock())


Caller = Annotated[auth.Caller, Depends(caller)]
#: the caller, in the database: a route's last parameter when it reads a body
Admitted = Annotated[auth.Caller, Depends(in_database, scope="function")]
Admin = Annotated[auth.Caller, Depends(admin)]
BrainId = Annotated[str, Path(pattern=ID_PATTERN, description="the brain's globally unique id")]
KeyId = Annotated[str, Path(pattern=ID_PATTERN)]
ShareId = Annotated[str, Path(pattern=SHARE_ID_PATTERN, description="derived from the code")]


# ---------------------------------------------------------------- open endpoints


async def health() -> dict[str, Any]:
    return {"status": "ok"}


async def metrics(request: Request) -> Response:
    """Prometheus text; 404 (as for any unknown path) unless the hub was started with --metrics."""
    counters = hub_of(request).metrics
    if counters is None:
        raise NotFound(MSG_NOT_FOUND)
    peer = request.client.host if request.client else None
    authorization = request.headers.get("authorization")
    if not counters.may_read(peer, request.headers.items(), authorization):
        raise AuthError(MSG_METRICS_REFUSED)
    return Response(counters.render(), media_type=counters.content_type)


async def info(request: Request, _: Annotated[None, Depends(anonymous)]) -> Response:
    settings = hub_of(request).settings
    return reply(
        HubInfo(
            name=settings.name,
            version=__version__,
            protocol=PROTOCOL_VERSION,
            implementation="python",
            auth=settings.auth,
            registration=settings.registration,
            buckets=BUCKETS,
            limits=settings.limits,
        )
    )


async def register(
    request: Request,
    _: Annotated[None, Depends(anonymous)],
    body: Annotated[RegisterRequest, Depends(json_body(RegisterRequest))],
) -> Response:
    hub = hub_of(request)
    invite = None
    if hub.settings.registration == "closed":
        raise CodeRefused("registration_closed", MSG_REGISTRATION_CLOSED)
    if hub.settings.registration == "invite":
        if body.invite is None:
            raise CodeRefused("invalid_invite", MSG_INVITE_REQUIRED)
        invite = codes.hash_code(body.invite)
    now = hub.clock()
    account_id = auth.new_id("acc_")
    secret, key = auth.new_key(account_id, "default", now, "admin")
    if not await hub.backend.create_account(account_id, body.email, key, invite):
        raise Conflict(MSG_EMAIL_TAKEN)
    created = RegisterReply(
        account_id=account_id,
        email=body.email,
        key_id=key.key_id,
        key_prefix=key.key_prefix,
        api_key=secret,
        created_at=iso_ms(now) or "",
    )
    return reply(created, 201)


async def pair(
    request: Request,
    _: Annotated[None, Depends(anonymous)],
    body: Annotated[PairRequest, Depends(json_body(PairRequest))],
) -> Response:
    """A pairing code for a new key of the local account (`nmem sync pair` on a LAN device)."""
    hub = hub_of(request)
    now = hub.clock()
    # Its own, small budget per address, whatever --rate-limit says: codes are short-lived and
    # this bounds the guesses at any one of them.
    limit = codes.PAIR_ATTEMPTS_PER_MINUTE
    await admit(hub.backend, [("pair:" + _address(request), limit)], None, now)
    secret, key = auth.new_key(LOCAL_ACCOUNT, body.name, now)
    if not await hub.backend.pair(codes.hash_code(body.code), key):
        raise CodeRefused("invalid_pair_code", MSG_INVALID_PAIR_CODE)
    request.state.account_id = LOCAL_ACCOUNT
    if hub.settings.on_paired is not None:
        await hub.settings.on_paired(hub.backend)
    return reply(auth.key_created(key, secret), 201)


# ---------------------------------------------------------------- keys


async def create_key(
    request: Request,
    who: Admin,
    body: Annotated[KeyCreateRequest, Depends(json_body(KeyCreateRequest))],
    _: Admitted,
) -> Response:
    hub = hub_of(request)
    secret, key = auth.new_key(who.account_id, body.name, hub.clock(), body.scope)
    await hub.backend.add_key(key, hub.settings.limits.max_keys_per_account)
    return reply(auth.key_created(key, secret), 201)


async def list_keys(request: Request, who: Admin, _: Admitted) -> Response:
    keys = await hub_of(request).backend.list_keys(who.account_id)
    return reply(KeysReply(keys=[auth.key_info(key) for key in keys]))


async def revoke_key(request: Request, who: Admin, key_id: KeyId, _: Admitted) -> Response:
    hub = hub_of(request)
    key = await hub.backend.revoke_key(who.account_id, key_id, hub.clock())
    if key is None:
        raise NotFound(MSG_KEY_NOT_FOUND)
    revoked_at = iso_ms(key.revoked_at) or ""
    return reply(KeyRevoked(key_id=key.key_id, revoked=True, revoked_at=revoked_at))


# ---------------------------------------------------------------- account


async def status(request: Request, who: Admitted) -> Response:
    hub = hub_of(request)
    usage = await hub.backend.usage(who.account_id, day_of(hub.clock()))
    return reply(
        StatusReply(account_id=who.account_id, tier="free", usage=usage, limits=hub.settings.limits)
    )


async def list_brains(request: Request, who: Admitted) -> Response:
    return reply(BrainsReply(brains=await hub_of(request).backend.brains(who.account_id)))


async def get_brain(request: Request, who: Admitted, brain_id: BrainId) -> Response:
    return reply(await hub_of(request).backend.brain(who.account_id, brain_id))


# ---------------------------------------------------------------- the record store


async def push(
    request: Request,
    who: Caller,
    brain_id: BrainId,
    body: Annotated[PushRequest, Depends(json_body(PushRequest))],
    _: Admitted,
) -> Response:
    hub = hub_of(request)
    limits = hub.settings.limits
    if len(body.records) > limits.max_records_per_push:
        raise PayloadTooLarge()
    records = [Incoming.of(v, body.replaces.get(v.vhash, ())) for v in body.records]
    if any(record.size > limits.max_record_bytes for record in records):
        raise PayloadTooLarge()
    quota = Quota(limits.max_account_records, limits.max_account_bytes)
    now = hub.clock()
    check_clocks(body.records, now, limits.max_clock_skew_ms)
    result = await hub.backend.push(
        who.account_id, brain_id, body.brain_name, body.device, records, now, quota
    )
    if hub.metrics is not None:
        hub.metrics.pushed.inc(sum(r.status == "accepted" for r in result.results))
    return reply(result)


def check_clocks(versions: Sequence[Version], now: int, max_skew_ms: int) -> None:
    """400 for a version stamped more than max_skew_ms ahead of this hub's clock: taken in, it
    would win every conflict until the world caught up with it (docs/protocol.md)."""
    for index, version in enumerate(versions):
        ahead = clock_ahead(version.hlc, now)
        if ahead > max_skew_ms:
            message = MSG_CLOCK_AHEAD.format(
                where=f"body.records.{index}.hlc",
                ahead=f"{ahead // HOUR_MS} h",
                limit_h=max_skew_ms // HOUR_MS,
            )
            raise InvalidInput(MSG_INVALID_REQUEST.format(detail=message))


async def pull(
    request: Request,
    who: Caller,
    brain_id: BrainId,
    body: Annotated[PullRequest, Depends(json_body(PullRequest))],
    _: Admitted,
) -> Response:
    hub = hub_of(request)
    limits = hub.settings.limits
    limit = min(body.limit or limits.page_size, limits.max_page_size)
    result = await hub.backend.pull(
        who.account_id,
        brain_id,
        body.brain_name,
        body.device,
        body.cursor,
        limit,
        body.exclude_device,
        hub.clock(),
    )
    return reply(result)


async def digest(request: Request, who: Admitted, brain_id: BrainId) -> Response:
    return reply(await hub_of(request).backend.digest(who.account_id, brain_id))


async def buckets(
    request: Request,
    who: Caller,
    brain_id: BrainId,
    body: Annotated[BucketsRequest, Depends(json_body(BucketsRequest))],
    _: Admitted,
) -> Response:
    hub = hub_of(request)
    most = hub.settings.limits.max_bucket_entries
    limit = min(body.limit or most, most)
    page = await hub.backend.bucket_entries(
        who.account_id, brain_id, body.buckets, body.after, limit
    )
    return Response(page.json(), media_type="application/json")


async def fetch(
    request: Request,
    who: Caller,
    brain_id: BrainId,
    body: Annotated[FetchRequest, Depends(json_body(FetchRequest))],
    _: Admitted,
) -> Response:
    hub = hub_of(request)
    if len(body.keys) > hub.settings.limits.max_fetch_keys:
        raise PayloadTooLarge()
    records = await hub.backend.fetch(who.account_id, brain_id, body.keys)
    return reply(FetchReply.model_construct(records=records))


async def devices(request: Request, who: Admitted, brain_id: BrainId) -> Response:
    found = await hub_of(request).backend.devices(who.account_id, brain_id)
    return reply(DevicesReply(devices=found))


# ---------------------------------------------------------------- key shares


async def put_share(
    request: Request,
    who: Caller,
    share_id: ShareId,
    body: Annotated[ShareRequest, Depends(json_body(ShareRequest))],
    _: Admitted,
) -> Response:
    """A brain key sealed under a one-time code (`nmem keys share`): stored opaque, per account,
    until it is taken or expires."""
    now = now_ms()
    expires_at = now + SHARE_TTL_MS
    await hub_of(request).backend.put_share(
        who.account_id, share_id, body.sealed, now, expires_at, MAX_SHARES_PER_ACCOUNT
    )
    return reply(ShareCreated(share_id=share_id, expires_at=iso_ms(expires_at) or ""), 201)


async def take_share(request: Request, who: Admitted, share_id: ShareId) -> Response:
    """The sealed key, deleted as it is sent (`nmem keys receive`)."""
    sealed = await hub_of(request).backend.take_share(who.account_id, share_id, now_ms())
    if sealed is None:
        raise NotFound(MSG_SHARE_NOT_FOUND)
    return reply(ShareReply(share_id=share_id, sealed=sealed))
