"""A brain's records brought in line with its keys: end-to-end encryption turned on (here, or
adopted from another device), and records written again under the key that won a race.

core/keyring.py knows which key; core/e2e.py seals and opens one version. These write the new
versions, through the brain's change log, that make its records match (docs/sync.md, "Keys").
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from neuralmemory import protocol
from neuralmemory.core import crypto, e2e
from neuralmemory.core.strength import strength_now
from neuralmemory.errors import MSG_E2E_ADOPTED
from neuralmemory.store import memories as sql
from neuralmemory.store import meta

if TYPE_CHECKING:
    from neuralmemory.core.brain import Brain
    from neuralmemory.protocol import Version

log = logging.getLogger(__name__)


def encrypt_brain(brain: Brain) -> int:
    """Make the brain end-to-end encrypted (core/e2e.py): from now on every record is stored
    and synced sealed, and this device refuses plaintext versions of it. Every record it
    holds is written again, sealed, to be pushed: the hub's plaintext versions are replaced.
    The brain key is made when there is none (checked against its key records first).
    Returns how many records were sealed; 0 when it already was end-to-end encrypted."""
    if brain.e2e:
        return 0
    brain.keys.require(create=True)
    with brain.db.transaction():
        return _seal_all(brain)


def adopt_e2e(brain: Brain, versions: Sequence[Version]) -> None:
    """Sealed versions arrived for a brain this device keeps in plaintext: another device
    turned it end-to-end encrypted. With the brain key here and a version that opens with
    it (a hub cannot make one), this device turns it too; without, they stay quarantined
    until the key comes (settle_keys)."""
    key = brain.keys.current()
    if key is None:
        return
    codec = e2e.Codec(lambda: key)
    if any(e2e.rejected(codec.open(v).body) is None for v in versions if e2e.is_sealed(v.body)):
        log.warning(MSG_E2E_ADOPTED.format(name=brain.name))
        _seal_all(brain)


def settle_keys(brain: Brain, *, force_index: bool = False) -> dict[str, int]:
    """Bring this device in line with the brain's key records (after a sync or a new key):
    give the key that encrypts here a record if it has none; re-seal the local index when
    the encrypting key changed (or `force_index`); and once this device holds the key that
    won the race, encrypt again under it the memories it wrote under another one."""
    brain.keys.forget()
    key = brain.keys.current()
    result = {"reindexed": 0, "reencrypted": 0}
    if key is None:
        return result
    brain.keys.record(key.raw)
    waiting = [(kind, id) for kind, id, _, _ in sql.quarantined(brain.db)]
    if waiting:  # sealed records may wait for this key
        with brain.db.transaction():
            if brain.e2e:
                _reopen_quarantined(brain)
            else:
                found = brain.changes.currents(waiting)
                adopt_e2e(brain, [current.version for current in found.values()])
    fingerprint = crypto.fingerprint(key.raw)
    if force_index or meta.get(brain.db, meta.INDEX_KEY) != fingerprint:
        if force_index or sql.recent_ciphertexts(brain.db, 1):
            result["reindexed"] = brain.rebuild_index()
        else:  # nothing sealed in the index (no encrypted memory): nothing to re-seal
            with brain.db.transaction():
                meta.put(brain.db, meta.INDEX_KEY, fingerprint)
    records = brain.keys.records()
    if len(key.raws) > 1 and records and records[0][1] == crypto.fingerprint(key.raw):
        result["reencrypted"] = _reencrypt(brain, key)
    return result


def _seal_all(brain: Brain) -> int:
    """Turn the sealer on and write every record again through it; in a transaction."""
    records = list(brain.changes.versions(None))
    meta.put(brain.db, meta.E2E, "1")
    brain.changes.sealer = e2e.Codec(brain.keys.current)
    sealed = 0
    for version in records:
        if version.kind in e2e.CLEAR_KINDS or e2e.is_sealed(version.body):
            continue
        body = None if version.deleted else version.body
        brain.changes.write(
            version.kind,
            version.id,
            body=body,
            deleted=version.deleted,
            strength=version.strength,
        )
        sealed += 1
    _reopen_quarantined(brain)
    return sealed


def _reopen_quarantined(brain: Brain) -> None:
    """Materialize again every quarantined record: those that open or validate now (a key
    arrived, the brain turned end-to-end encrypted) are applied and leave quarantine."""
    keys = [(kind, id) for kind, id, _, _ in sql.quarantined(brain.db)]
    found = brain.changes.currents(keys)
    brain.materialize(*(current.version for current in found.values()))


def _reencrypt(brain: Brain, key: crypto.BrainKey) -> int:
    """New versions, under `key.raw`, of this device's encrypted memories made with another
    key of the ring (and, in an E2E brain, of the records it sealed with one); only its
    own, so two devices never rewrite one record at once."""
    done = _reseal(brain, key) if brain.e2e else 0
    with brain.db.transaction():
        for row in sql.all_memories(brain.db):
            if row.ciphertext is None or key.encrypted_by_primary(row.ciphertext):
                continue
            current = brain.changes.current("memory", row.id)
            if current is None or current.version.device_id != brain.device_id:
                continue
            if not key.can_decrypt(row.ciphertext):
                continue  # a key this device lacks: left as it is
            plaintext = key.decrypt(row.ciphertext)
            body = {**current.version.body, "ciphertext": key.encrypt(plaintext)}
            strength = strength_now(brain.db, row.id, brain.now())
            brain.materialize(brain.changes.write("memory", row.id, body=body, strength=strength))
            done += 1
    return done


def _reseal(brain: Brain, key: crypto.BrainKey) -> int:
    """Seal again, with `key.raw`, the records this device sealed with another key."""
    first = e2e.Codec(lambda: crypto.BrainKey(key.raw))
    done = 0
    with brain.db.transaction():
        for view in list(brain.changes.versions(None)):
            if view.kind in e2e.CLEAR_KINDS or view.device_id != brain.device_id:
                continue
            if e2e.rejected(view.body) is not None:
                continue  # not opened with any key here: nothing to seal again
            wire = protocol.Version.model_validate_json(view.canonical())
            if e2e.rejected(first.open(wire).body) is None:
                continue  # sealed with the winner already
            body = None if view.deleted else view.body
            brain.changes.write(
                view.kind, view.id, body=body, deleted=view.deleted, strength=view.strength
            )
            done += 1
    return done
