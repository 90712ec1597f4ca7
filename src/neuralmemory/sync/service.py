"""The sync functions the CLI (`nmem sync ...`) and the MCP tools (`nmem_sync*`) both call.

Each returns plain JSON-able data -- the stable shapes documented in docs/sync.md, typed in
sync/results.py -- and raises
errors.py exceptions; adapters only format and map them. The API key leaves this module masked.

    configure(...) / get_config()       nmem_sync_config(action="set" | "get")
    pair(target)                        nmem sync pair CODE@HOST:PORT
    setup_instructions()                nmem_sync_config(action="setup")
    run_sync(action, ...)               nmem_sync(action=...)
    status(...)                         nmem_sync_status()
    list_conflicts(...) / restore(...)  nmem_sync_conflicts(), nmem sync restore
    after_write(brain[, scheduler])     auto-sync hook for whoever called remember/recall/restore
    sync_now_if_auto(brain)             `nmem sync restore`: the auto-sync, at once

Longer than ~400 lines on purpose: it is the whole surface the two adapters share, listed
above, each function a few lines over config, the engine and the hub client; split up, the CLI
and the MCP server would each import from several modules and could drift apart.
"""

from __future__ import annotations

import logging
import ssl
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import httpx

from neuralmemory import config
from neuralmemory import errors as msg
from neuralmemory.clock import wall_ms
from neuralmemory.config import STRATEGIES, Config
from neuralmemory.core import bodies
from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import list_brains, open_brain
from neuralmemory.errors import (
    AccessDenied,
    CodeRefused,
    ConfigError,
    HubError,
    InvalidInput,
    NmemError,
    NotFound,
    NotFoundOnHub,
)
from neuralmemory.protocol import KEY_RE, DeviceInfo, Version, iso_ms, parse_pair_target
from neuralmemory.store import backlog
from neuralmemory.store import memories as memories_sql
from neuralmemory.sync import indexer, state
from neuralmemory.sync.auto import AutoSync, spawn_detached
from neuralmemory.sync.engine import (
    ACTIONS,
    Progress,
    SyncEngine,
    SyncReport,
    apply_plan,
    named,
    unmerged,
)
from neuralmemory.sync.kept import KeptHub
from neuralmemory.sync.lock import RUNNING, WAITING, held, lock_path
from neuralmemory.sync.plan import plan_restore
from neuralmemory.sync.resolve import CONFLICT_KIND, loser_of
from neuralmemory.sync.results import (
    BrainSyncFailed,
    BrainView,
    ConfigView,
    ConflictView,
    HubUnanswered,
    HubView,
    LastError,
    Paired,
    Quarantined,
    Restored,
    Setup,
    SideView,
    Status,
    SyncFailed,
    SyncResult,
)
from neuralmemory.sync.state import SyncState
from neuralmemory.sync.transport import MAX_ATTEMPTS, HubClient, check_hub_url, load_ca

log = logging.getLogger(__name__)

SYNC_ACTIONS = ("seed", *ACTIONS)
PREVIEW_CHARS = 80
REQUEST_TIMEOUT = 30.0  # seconds, per request to the hub
PROBE_TIMEOUT = 5.0  # asking /v1/hub/info while configuring: a dead address must not hang setup


# ---------------------------------------------------------------- configuration


def get_config() -> ConfigView:
    """The sync settings as shown to users: the key masked, never whole."""
    return _config_view(config.load_config())


def configure(
    *,
    hub_url: str | None = None,
    api_key: str | None = None,
    ca_cert: str | None = None,
    conflict_strategy: str | None = None,
    auto_sync: bool | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ConfigView:
    """Change the given settings ('' clears hub_url, api_key or ca_cert); returns get_config().

    When the hub or the way to reach it changed, asks the hub's /v1/hub/info how it
    authenticates, so a keyless device is never called ready for a hub that requires keys; the
    result's `warning` says what is still missing (or that the hub could not be asked).
    """
    cfg = config.load_config()
    if hub_url is not None:
        url = check_hub_url(hub_url) if hub_url.strip() else None
        if url != cfg.hub_url:
            cfg.hub_url, cfg.hub_auth = url, None
    if api_key is not None:
        key = api_key.strip()
        if key and not KEY_RE.match(key):
            raise InvalidInput(msg.MSG_NOT_AN_API_KEY, hint=msg.HINT_NOT_AN_API_KEY)
        cfg.api_key = key or None
    if ca_cert is not None:
        cfg.ca_cert = _checked_ca_cert(ca_cert) if ca_cert.strip() else None
    if conflict_strategy is not None:
        cfg.conflict_strategy = _strategy(conflict_strategy)
    if auto_sync is not None:
        cfg.auto_sync = auto_sync
    unreachable = None
    if cfg.hub_url and (hub_url, api_key, ca_cert) != (None, None, None):
        unreachable = _ask_hub_auth(cfg, transport)
    config.save_config(cfg)
    return _config_view(cfg, unreachable)


def pair(target: str, *, transport: httpx.BaseTransport | None = None) -> Paired:
    """Exchange a pairing line's one-time code for a key of the LAN hub, then store the hub's URL
    and the key as configure() does; get_config() plus "paired". Nothing is stored on a refusal."""
    try:
        code, url = parse_pair_target(target)
    except ValueError as exc:
        raise InvalidInput(
            msg.MSG_NOT_A_PAIR_LINE.format(reason=exc), hint=msg.HINT_NOT_A_PAIR_LINE
        ) from None
    cfg = config.load_config()
    name = (cfg.device_name or "device")[:64]
    # One attempt: a code works once, so a retry after a lost reply could only be refused.
    with hub_client(replace(cfg, hub_url=url, api_key=None), transport, max_attempts=1) as hub:
        try:
            created = hub.pair(code, name)
        except AccessDenied:
            raise CodeRefused("invalid_pair_code", msg.MSG_INVALID_PAIR_CODE) from None
        except NotFoundOnHub:
            raise HubError(
                msg.MSG_NO_PAIRING.format(url=url), status=404, hint=msg.HINT_NO_PAIRING
            ) from None
    return Paired(**configure(hub_url=url, api_key=created.api_key), paired=True)


def _checked_ca_cert(path: str) -> str:
    """The absolute path of a PEM file that loads as CA certificates (ConfigError if not)."""
    resolved = Path(path.strip()).expanduser().resolve()
    load_ca(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), cafile=str(resolved))
    return str(resolved)


def _ask_hub_auth(cfg: Config, transport: httpx.BaseTransport | None) -> str | None:
    """Ask the hub how it authenticates and remember the answer in cfg.hub_auth; returns a
    warning when it cannot be asked (sync then keeps the guess from the URL)."""
    try:
        with hub_client(cfg, transport, max_attempts=1, timeout=PROBE_TIMEOUT) as hub:
            cfg.hub_auth = hub.info().auth
    except HubError as exc:
        return msg.MSG_AUTH_UNKNOWN.format(error=exc)
    return None


def _config_view(cfg: Config, warning: str | None = None) -> ConfigView:
    if warning is None and cfg.hub_url and not cfg.api_key and cfg.hub_auth == "keys":
        warning = f"{msg.MSG_KEY_REQUIRED}: {msg.HINT_KEY_REQUIRED}"
    return ConfigView(
        enabled=cfg.sync_enabled,
        hub_url=cfg.hub_url,
        api_key=cfg.masked_key,
        ca_cert=cfg.ca_cert,
        hub_auth=cfg.hub_auth,
        conflict_strategy=cfg.conflict_strategy,
        auto_sync=cfg.auto_sync,
        device_id=config.device_id(),
        device_name=cfg.device_name,
        config_file=str(config.config_path()),
        warning=warning,
    )


def setup_instructions(*, transport: httpx.BaseTransport | None = None) -> Setup:
    """Step-by-step instructions for where the user stands: no hub / hub but no key / ready.

    Without a key, the hub is asked first whether it needs one, so "ready" is the truth.
    """
    cfg = config.load_config()
    unreachable = None
    if cfg.hub_url and not cfg.api_key:
        known = cfg.hub_auth
        unreachable = _ask_hub_auth(cfg, transport)
        if cfg.hub_auth != known:
            config.save_config(cfg)
    view = _config_view(cfg, unreachable)
    if not cfg.hub_url:
        return Setup(stage="no_hub", config=view, steps=_steps_no_hub())
    if not cfg.sync_enabled:
        return Setup(stage="no_key", config=view, steps=_steps_no_key(cfg))
    return Setup(stage="ready", config=view, steps=_steps_ready(cfg))


def not_ready(cfg: Config) -> ConfigError:
    if cfg.hub_url and cfg.hub_auth == "keys":
        return ConfigError(msg.MSG_KEY_REQUIRED, hint=msg.HINT_KEY_REQUIRED)
    return ConfigError(msg.MSG_NOT_CONFIGURED, hint=msg.HINT_NOT_CONFIGURED)


def _steps_no_hub() -> list[str]:
    return [
        "Pick a hub. On this machine: `nmem serve` (SQLite under $NMEM_HOME/hub, no key "
        "needed on 127.0.0.1). For your LAN: `nmem serve --lan`, then run the line it "
        "prints (`nmem sync pair CODE@HOST:PORT`) on each device; that sets it all up.",
        "Or deploy your own Cloudflare hub: `cd sync-hub && npm install && npx wrangler "
        "login && npx wrangler d1 create nmem` (paste the database id into wrangler.toml), "
        "then `npx wrangler deploy`. Its schema sets itself up on first use.",
        "Register an account on a hub that needs keys: curl -X POST "
        "https://YOUR-HUB/v1/auth/register -H 'Content-Type: application/json' "
        '-d \'{"email": "you@example.com"}\' -- the reply holds your API key (shown once).',
        "Connect: `nmem sync config set --hub-url https://YOUR-HUB --api-key nmk_...` "
        "(for a local hub: --hub-url http://127.0.0.1:8000 and no key; for a hub with a "
        "self-signed certificate add --ca-cert FILE).",
        "First sync: `nmem sync full`. On each other device: the same config set, then "
        "`nmem sync full` -- it joins the brains of your account.",
    ]


def _steps_no_key(cfg: Config) -> list[str]:
    why = (
        f"This hub ({cfg.hub_url}) requires an API key: ask its operator for one, or register."
        if cfg.hub_auth == "keys"
        else f"This hub ({cfg.hub_url}) is not on loopback or a LAN address, so it needs an "
        "API key (it could not be asked)."
    )
    why += " A LAN hub: `nmem hub pair` on it prints a `nmem sync pair ...` line to run here."
    return [
        why,
        f"Register once: curl -X POST {cfg.hub_url}/v1/auth/register -H "
        "'Content-Type: application/json' -d '{\"email\": \"you@example.com\"}' -- or, "
        "with the account's admin key (the one registration gave): curl -X POST "
        f"{cfg.hub_url}/v1/auth/keys -H 'Authorization: Bearer nmk_...' -H "
        "'Content-Type: application/json' -d '{\"name\": \"this-laptop\"}' (a device key, "
        "which can only sync).",
        "Then: `nmem sync config set --api-key nmk_...` and `nmem sync full`.",
    ]


def _steps_ready(cfg: Config) -> list[str]:
    if cfg.api_key:
        how = f" (key {cfg.masked_key})."
    elif cfg.hub_auth is not None:
        how = f" (no key: the hub serves this device without one, auth {cfg.hub_auth})."
    else:
        how = " (no key: assumed from its loopback/LAN address; the hub did not answer)."
    return [
        f"Sync is configured with {cfg.hub_url}{how}",
        "Memories written before sync was configured: `nmem sync seed`, then `nmem sync push`.",
        "Sync now: `nmem sync full` (pull, resolve, push, verify). Check: `nmem sync status`.",
        "Auto-sync after remember/recall is "
        + ("on" if cfg.auto_sync else "off")
        + " (`nmem sync config set --auto-sync on|off`).",
        "To keep the hub from reading anything (texts, types, tags, times, counters): "
        "`nmem brain encrypt` makes this brain end-to-end encrypted and syncs it sealed; "
        "`nmem brain create NAME --e2e` makes a new one.",
        "Encrypted memories and end-to-end encrypted brains need the brain key on every "
        "device: `nmem keys share` here, `nmem keys receive CODE` there (or `nmem keys export` "
        "/ `nmem keys import`).",
    ]


# ---------------------------------------------------------------- syncing


def run_sync(
    action: str = "full",
    *,
    strategy: str | None = None,
    brain: str | None = None,
    progress: Progress | None = None,
    transport: httpx.BaseTransport | None = None,
    probe: bool = False,
    kept: KeptHub | None = None,
) -> SyncResult:
    """One sync action on one brain (default: the current one); returns its SyncReport.
    `probe`: one attempt per request, with a short timeout (a look before a write, which an
    unreachable hub must not hold up). `kept`: the caller's hub client kept open (sync/kept.py)."""
    if action not in SYNC_ACTIONS:
        raise InvalidInput(
            msg.MSG_UNKNOWN_ACTION.format(name=action),
            hint=msg.HINT_ONE_OF.format(names=", ".join(SYNC_ACTIONS)),
        )
    cfg = config.load_config()
    chosen = _strategy(strategy or cfg.conflict_strategy)
    # One sync of a brain at a time, whichever process runs it (sync/lock.py): another one
    # waits for it, within its own deadline.
    with held(lock_path(brain or cfg.brain, RUNNING)):
        return _run_locked(action, cfg, chosen, brain, progress, transport, probe, kept)


def _strategy(name: str) -> str:
    if name not in STRATEGIES:
        raise InvalidInput(
            msg.MSG_UNKNOWN_STRATEGY.format(name=name),
            hint=msg.HINT_ONE_OF.format(names=", ".join(STRATEGIES)),
        )
    return name


def run_queued(brain: str) -> SyncResult | None:
    """The detached auto-sync child's full sync: it takes the brain's one waiting slot, waits
    for a running sync, then syncs; None when another child already waits (it will sync
    every write made so far)."""
    with ExitStack() as running:
        with held(lock_path(brain, WAITING), wait=False) as waiting:
            if not waiting:
                return None
            running.enter_context(held(lock_path(brain, RUNNING)))  # the slot is freed after
        cfg = config.load_config()
        return _run_locked("full", cfg, cfg.conflict_strategy, brain, None, None)


def _run_locked(
    action: str,
    cfg: Config,
    chosen: str,
    brain: str | None,
    progress: Progress | None,
    transport: httpx.BaseTransport | None,
    probe: bool = False,
    kept: KeptHub | None = None,
) -> SyncResult:
    limits: dict[str, Any] = {"max_attempts": 1, "timeout": PROBE_TIMEOUT} if probe else {}
    with _brain(brain, cfg) as local:
        if action == "seed":
            return _seed(local, cfg)
        if not cfg.sync_enabled:
            raise not_ready(cfg)
        sync_state = SyncState(local.db)
        local.settle_keys()  # a key made before key records existed gets one, to push
        try:
            with _hub(cfg, transport, limits, kept) as hub:
                report = SyncEngine(local, hub, strategy=chosen, progress=progress).run(action)
        except NmemError as exc:
            with local.db.transaction():
                failed = LastError(
                    at=iso_ms(wall_ms()), action=action, code=exc.code, error=str(exc)
                )
                sync_state.set(state.LAST_ERROR, failed)
            raise
        # Key records pulled may name another key as the brain's: follow them (docs/sync.md).
        local.settle_keys()
        result = _result(report)
        with local.db.transaction():
            sync_state.set(state.LAST_RESULT, result)
            sync_state.set(state.LAST_ERROR, None)
        return result


def run_sync_all(
    action: str = "full",
    *,
    strategy: str | None = None,
    progress: Progress | None = None,
    transport: httpx.BaseTransport | None = None,
) -> list[SyncResult | BrainSyncFailed]:
    """`--all`: every local brain in turn; one brain's failure is reported, not fatal to others."""
    results: list[SyncResult | BrainSyncFailed] = []
    for name in [info.name for info in list_brains()]:
        try:
            results.append(
                run_sync(
                    action, strategy=strategy, brain=name, progress=progress, transport=transport
                )
            )
        except HubError as exc:
            failed = BrainSyncFailed(brain=name, action=action, error=str(exc), code=exc.code)
            results.append(failed)
    return results


def _seed(local: Brain, cfg: Config) -> SyncResult:
    with local.db.transaction():
        seeded = local.changes.mark_all_pending()
    report = SyncReport("seed", local.name, local.id, cfg.hub_url or "", seeded=seeded)
    report.pending = local.changes.pending_count()
    report.root = local.changes.root()
    return _result(report)


def _result(report: SyncReport) -> SyncResult:
    # SyncResult names SyncReport's fields (tests/sync/test_results.py holds them equal)
    return cast(SyncResult, report.as_dict())


# ---------------------------------------------------------------- status and conflicts


def status(brain: str | None = None, *, transport: httpx.BaseTransport | None = None) -> Status:
    """What `nmem sync status` and nmem_sync_status() show; the hub part only when reachable."""
    cfg = config.load_config()
    view = _config_view(cfg)
    with _brain(brain, cfg) as local:
        sync_state = SyncState(local.db)
        remote_id = sync_state.get(state.REMOTE_ID) or local.id
        result = Status(
            enabled=view["enabled"],
            hub_url=view["hub_url"],
            api_key=view["api_key"],
            conflict_strategy=view["conflict_strategy"],
            warning=view["warning"],
            auto_sync=cfg.auto_sync,
            device={"device_id": view["device_id"], "name": cfg.device_name},
            brain=BrainView(name=local.name, brain_id=local.id, remote_id=remote_id, e2e=local.e2e),
            pending=local.changes.pending_count(),
            conflicts=len(_live_conflicts(local)),
            quarantined=quarantined(local),
            keys=local.keys.status(),
            cursor=sync_state.cursor,
            graph_waiting=backlog.count(local.db),
            last_sync=sync_state.get(state.LAST_RESULT),
            last_error=sync_state.get(state.LAST_ERROR),
            hub=None,
        )
        if cfg.sync_enabled:
            absorbed = sync_state.get(state.ABSORBED) or {}
            result["hub"] = _hub_status(cfg, local.name, remote_id, absorbed, transport)
    return result


def _hub_status(
    cfg: Config,
    name: str,
    remote_id: str,
    absorbed: dict[str, int],
    transport: httpx.BaseTransport | None,
) -> HubView | HubUnanswered:
    try:
        with hub_client(cfg, transport, max_attempts=1) as hub:
            info = hub.info()
            account = hub.status()
            same = named(hub.brains(), name)
            try:
                devices = [d.model_dump() for d in hub.devices(remote_id).devices]
            except HubError as exc:
                if exc.status != 404:  # 404: this brain has not synced yet
                    raise
                devices = []
    except HubError as exc:
        # reachable: the hub answered over HTTP (a 401 or 403 is an answer, not an outage)
        return HubUnanswered(
            reachable=exc.status is not None, error=str(exc), code=exc.code, status=exc.status
        )
    return HubView(
        reachable=True,
        name=info.name,
        version=info.version,
        implementation=info.implementation,
        auth=info.auth,
        tier=account.tier,
        usage=account.usage.model_dump(),
        limits=info.limits.model_dump(),
        devices=devices,
        brains_named=[b.brain_id for b in same],
        split=unmerged(same, remote_id, absorbed),
    )


def list_conflicts(brain: str | None = None) -> list[ConflictView]:
    """The conflict copies still open (not restored), newest first."""
    cfg = config.load_config()
    with _brain(brain, cfg) as local:
        return [_conflict_view(local, copy) for copy in _live_conflicts(local)]


def restore(conflict_id: str, brain: str | None = None) -> Restored:
    """Make a conflict copy's loser current again, as a new version. It syncs with the next sync:
    the caller runs one (sync_now_if_auto, or after_write) -- this arms nothing."""
    cfg = config.load_config()
    with _brain(brain, cfg) as local:
        with local.db.transaction():
            copy = local.changes.current(CONFLICT_KIND, conflict_id)
            if copy is None or copy.version.deleted:
                raise NotFound(
                    msg.MSG_NO_CONFLICT.format(id=conflict_id), hint=msg.HINT_NO_CONFLICT
                )
            why = bodies.problem(CONFLICT_KIND, copy.version.body)
            if why is not None:
                raise InvalidInput(
                    msg.MSG_QUARANTINED_CONFLICT.format(id=conflict_id, reason=why),
                    hint=msg.HINT_QUARANTINED,
                )
            loser = loser_of(copy.version)
            current = local.changes.current(loser.kind, loser.id)
            plan = plan_restore(copy.version, None if current is None else current.version)
            apply_plan(local, plan)
            now = local.changes.current(loser.kind, loser.id)
        kept = plan.copies[0].id if plan.copies else None
    return Restored(
        restored=conflict_id,
        record={"kind": loser.kind, "id": loser.id},
        vhash=None if now is None else now.version.vhash,
        kept=kept,
    )


def quarantined(local: Brain) -> list[Quarantined]:
    """Every quarantined record of the brain: too large for this hub (never pushed), or pulled
    with a body that fails its schema (stored and synced, never materialized)."""
    found = [
        (*key.split("/", 1), entry["reason"])
        for key, entry in SyncState(local.db).quarantine().items()
    ]
    found += [(kind, id, reason) for kind, id, _, reason in memories_sql.quarantined(local.db)]
    return [
        Quarantined(record=f"{kind}/{id}", kind=kind, id=id, reason=reason)
        for kind, id, reason in sorted(found)
    ]


def _live_conflicts(local: Brain) -> list[Version]:
    """Open conflict copies; a quarantined one (its body is not a conflict copy) is left out:
    `sync status` lists it instead."""
    copies = [
        v
        for v in local.changes.versions(CONFLICT_KIND)
        if not v.deleted and bodies.problem(CONFLICT_KIND, v.body) is None
    ]
    return sorted(copies, key=lambda v: v.hlc, reverse=True)


def _conflict_view(local: Brain, copy: Version) -> ConflictView:
    loser = loser_of(copy)
    current = local.changes.current(loser.kind, loser.id)
    return ConflictView(
        id=copy.id,
        record={"kind": loser.kind, "id": loser.id},
        strategy=copy.body.get("strategy"),
        resolved_by=copy.device_id,
        loser=_side(loser),
        current=None if current is None else _side(current.version),
    )


def _side(version: Version) -> SideView:
    return SideView(
        vhash=version.vhash,
        hlc=version.hlc,
        device_id=version.device_id,
        deleted=version.deleted,
        preview=preview(version.body, version.deleted),
    )


def preview(body: dict[str, Any], deleted: bool) -> str:
    """A short readable line for a memory body; never decrypts, never shows ciphertext."""
    if deleted:
        return "[deleted]"
    content = body.get("content")
    if isinstance(content, str):
        flat = " ".join(content.split())
        return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"
    return "[encrypted]" if "ciphertext" in body else "[no content]"


# ---------------------------------------------------------------- auto-sync


def _auto_run(brain: str, kept: KeptHub | None = None) -> None:
    try:
        run_sync("full", brain=brain, kept=kept)
        indexer.start(brain)  # a large pull's concept graph, on another core
    except NmemError as exc:  # already recorded as the brain's last_error
        log.debug("auto-sync of %s: %s", brain, exc.code)


def auto_scheduler(kept: KeptHub | None = None) -> AutoSync:
    """A debounced auto-sync for a long-lived process (the MCP server), which owns it: it passes
    it to after_write, and drains and cancels it when it shuts down. Its syncs use `kept`."""
    return AutoSync(lambda brain: _auto_run(brain, kept))


def kept_hub() -> KeptHub:
    """A hub client to keep open across a long-lived process's syncs (sync/kept.py)."""
    return KeptHub(lambda cfg: hub_client(cfg, None))


def after_write(brain: str, scheduler: AutoSync | None = None) -> bool:
    """Call after remember/recall: schedules a debounced background sync when auto-sync is on.

    On the caller's own `scheduler` (see auto_scheduler); without one -- a short-lived process
    like the CLI, whose threads die with it -- in a detached child process. Never raises and never
    blocks. Returns whether a sync was scheduled.
    """
    try:
        cfg = config.load_config()
        if not (cfg.sync_enabled and cfg.auto_sync):
            return False
        if scheduler is None:
            spawn_detached(config.home(), brain)
        else:
            scheduler.notify(brain)
    except Exception as exc:  # the tool call that wrote must never fail because of sync
        log.debug("auto-sync not scheduled: %s", type(exc).__name__)
        return False
    return True


def sync_now_if_auto(
    brain: str | None = None, *, transport: httpx.BaseTransport | None = None
) -> SyncResult | SyncFailed | None:
    """The full sync auto-sync would run, now and in this process (`nmem sync restore`); None
    when auto-sync is off. A failure is returned as {"error", "code"} -- and recorded as the
    brain's last_error -- never raised: the write before it stands."""
    cfg = config.load_config()
    if not (cfg.sync_enabled and cfg.auto_sync):
        return None
    try:
        return run_sync("full", brain=brain, transport=transport)
    except NmemError as exc:
        return SyncFailed(error=str(exc), code=exc.code)


# ---------------------------------------------------------------- plumbing


@contextmanager
def _brain(name: str | None, cfg: Config) -> Iterator[Brain]:
    with open_brain(name or cfg.brain) as brain:
        yield brain


def _hub(
    cfg: Config,
    transport: httpx.BaseTransport | None,
    limits: dict[str, Any],
    kept: KeptHub | None,
) -> AbstractContextManager[HubClient]:
    """The kept client, when the caller keeps one and asks nothing else of it; else a new one."""
    if kept is not None and transport is None and not limits:
        return kept.lend(cfg)
    return hub_client(cfg, transport, **limits)


def hub_client(
    cfg: Config,
    transport: httpx.BaseTransport | None,
    *,
    max_attempts: int | None = None,
    timeout: float = REQUEST_TIMEOUT,
) -> HubClient:
    if not cfg.hub_url:
        raise ConfigError(msg.MSG_NOT_CONFIGURED, hint=msg.HINT_NOT_CONFIGURED)
    device = DeviceInfo(
        device_id=config.device_id(),
        name=(cfg.device_name or "device")[:64],
        platform=sys.platform[:64] or "unknown",
    )
    return HubClient(
        cfg.hub_url,
        cfg.api_key,
        device,
        transport=transport,
        max_attempts=max_attempts or MAX_ATTEMPTS,
        timeout=timeout,
        ca_cert=cfg.ca_cert,
    )
