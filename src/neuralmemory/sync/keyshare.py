"""Moving a brain's key through the hub, and the hub check before a device makes one.

    share(brain)            nmem keys share: a one-time code; the key, sealed under it, on the hub
    receive(code)           nmem keys receive CODE: take it, open it, add it to the keyring
    before_encrypting(b)    `remember --encrypted` on a brain with no key here: pull first, so a
                            brain another device already keyed is seen as keyed (no second key)
    encrypt_brain(b)        nmem brain encrypt: the brain end-to-end encrypted, then synced

The hub holds only the sealed key under an id derived from the code (core/keyshare.py), and
deletes it on its first fetch or at expiry. The code is shown once, by `share`, and never logged.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from neuralmemory import config
from neuralmemory.core import crypto, keyshare
from neuralmemory.core.brains import install_key, open_brain
from neuralmemory.errors import (
    HINT_NO_KEY_TO_SHARE,
    HINT_NO_SHARE,
    MSG_NO_KEY_TO_SHARE,
    MSG_NO_SHARE,
    NmemError,
    NotFound,
    NotFoundOnHub,
)
from neuralmemory.sync import service
from neuralmemory.sync.results import SyncFailed, SyncResult

log = logging.getLogger(__name__)


def share(
    brain: str | None = None, *, transport: httpx.BaseTransport | None = None
) -> dict[str, Any]:
    """Seal the brain's keyring under a new code and leave it on the hub; the code is returned
    (to be shown once) with its expiry."""
    cfg = config.load_config()
    if not cfg.sync_enabled:
        raise service.not_ready(cfg)
    with open_brain(brain or cfg.brain) as local:
        key_id, name = local.keys.encrypting_id, local.name
        key = crypto.load_keyring(local.keys.ids)
    if key is None:
        raise NotFound(MSG_NO_KEY_TO_SHARE.format(name=name), hint=HINT_NO_KEY_TO_SHARE)
    code = keyshare.new_code()
    share_id, sealed = keyshare.seal(code, key_id, key)
    with service.hub_client(cfg, transport) as hub:
        created = hub.put_share(share_id, sealed)
    return {"brain": name, "brain_id": key_id, "code": code, "expires_at": created.expires_at}


def receive(code: str, *, transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """Take the key shared under `code` from the hub and add it to this device's keyring. A
    wrong or expired code changes nothing and says so."""
    cfg = config.load_config()
    if not cfg.sync_enabled:
        raise service.not_ready(cfg)
    share_id = keyshare.share_id(code)
    # One attempt: the hub deletes a share as it sends it, so a retry could only be refused.
    with service.hub_client(cfg, transport, max_attempts=1) as hub:
        try:
            taken = hub.take_share(share_id)
        except NotFoundOnHub:
            raise NotFound(MSG_NO_SHARE, hint=HINT_NO_SHARE) from None
    brain_id, key = keyshare.unseal(code, taken.sealed)
    return install_key(brain_id, key)


def before_encrypting(
    brain: str | None = None, *, transport: httpx.BaseTransport | None = None
) -> bool:
    """Before the first key of a brain is made here: pull, when a hub is configured, so the
    brain's key records (made by other devices) are here to refuse a second key. An unreachable
    hub is no reason not to encrypt: the key records then meet at the next sync (docs/sync.md,
    "Keys"). True when it pulled."""
    cfg = config.load_config()
    if not cfg.sync_enabled:
        return False
    with open_brain(brain or cfg.brain) as local:
        if local.keys.status()["keyed"]:
            return False
    try:
        service.run_sync("pull", brain=brain, transport=transport, probe=True)
    except NmemError as exc:
        log.warning("could not ask the hub whether brain %s is keyed: %s", brain or cfg.brain, exc)
        return False
    return True


def encrypt_brain(
    brain: str | None = None,
    *,
    sync: bool = True,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Make a brain end-to-end encrypted (core/e2e.py) and, with sync configured and `sync`,
    sync it at once, so the hub's plaintext versions are replaced by sealed ones. A failed sync
    is reported, not raised: the brain is converted, and the next sync sends the records.
    Before the brain key is made, the hub is asked (a pull): a brain of this name another
    device keyed is joined, and its key is used, or asked for, rather than a second one made."""
    cfg = config.load_config()
    name = brain or cfg.brain
    before_encrypting(name, transport=transport)
    with open_brain(name) as local:
        already = local.e2e
        sealed = local.encrypt_brain()
    report: SyncResult | SyncFailed | None = None
    if cfg.sync_enabled and sync:
        try:
            report = service.run_sync("full", brain=name, transport=transport)
        except NmemError as exc:
            report = SyncFailed(error=str(exc), code=exc.code)
    return {"brain": name, "e2e": True, "already": already, "sealed": sealed, "sync": report}
