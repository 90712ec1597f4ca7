"""The keys of one open brain: which key encrypts, whether it is the brain's, its key records.

A brain's keys live in $NMEM_HOME/keys (core/crypto.py) under the ids in `ids`; the brain holds
only their key records (docs/sync.md, "Keys"), which name the key that won when two devices
each made one. Before this device encrypts, the key it holds is checked against the brain's key
records and encrypted memories, so it never writes what the other devices cannot read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from neuralmemory.core import crypto
from neuralmemory.core.models import KeyStatus
from neuralmemory.errors import (
    HINT_GET_KEY,
    HINT_KEY_WRONG_FOR_BRAIN,
    MSG_KEY_WRONG_FOR_BRAIN,
    MSG_KEYED_ELSEWHERE,
    MSG_NO_BRAIN_KEY,
    MSG_SEALED_NO_KEY,
    CryptoError,
)
from neuralmemory.store import memories as sql
from neuralmemory.store import meta
from neuralmemory.store.changes import ChangeLog
from neuralmemory.store.db import Database

if TYPE_CHECKING:
    from neuralmemory.protocol import Version

KEY_CHECK_SAMPLES = 20  # newest encrypted memories a key must decrypt one of before it encrypts


class Keyring:
    """The key of one open brain, looked up once and then cached (`forget` drops it)."""

    def __init__(
        self,
        db: Database,
        changes: ChangeLog,
        name: str,
        *,
        now: Callable[[], int],
        materialize: Callable[[Version], None],
    ) -> None:
        self.db = db
        self.changes = changes
        self.name = name
        self._now = now
        self._materialize = materialize
        self._key: crypto.BrainKey | None = None
        self._checked = False  # checked against the brain's encrypted memories (require)

    @property
    def ids(self) -> list[str]:
        """Whose keys this brain uses: the brain it was merged into first (other devices wrote
        its encrypted memories with that key), then its own id (its memories from before)."""
        own = str(meta.get(self.db, meta.BRAIN_ID))
        merged = meta.get(self.db, meta.SYNC_ID)
        return [own] if merged is None else [merged, own]

    @property
    def encrypting_id(self) -> str:
        """The id of the key that encrypts new memories here: what `nmem keys export` exports."""
        ids = self.ids
        return next((i for i in ids if crypto.key_path(i).exists()), ids[0])

    def forget(self) -> None:
        """Look the key up again next time (the brain's id changed, or a key was installed)."""
        self._key, self._checked = None, False

    def current(self) -> crypto.BrainKey | None:
        """The keyring, the key that encrypts first: of the keys held, the one whose proved
        record is oldest (the race's winner), else the first found. Cached once found; looked
        up again while missing, since an import may add it."""
        if self._key is None:
            ring = crypto.load_keyring(self.ids)
            if ring is not None and len(ring.raws) > 1:
                proved = [
                    raw
                    for _, _, body in self.records()
                    if (raw := crypto.record_key(ring.raws, body)) is not None
                ]
                if proved:
                    ring = crypto.BrainKey(proved[0], *ring.raws)
            self._key = ring
        return self._key

    def require(self, *, create: bool) -> crypto.BrainKey:
        """The brain's key; made on first use when `create`, else CryptoError when missing."""
        key = self.current()
        if create and not self._checked:
            self._check(key)
            self._checked = True
        if key is None and create:
            key = crypto.ensure_key(self.ids[0])
            with self.db.transaction():
                self.record(key.raw)
                meta.put(self.db, meta.INDEX_KEY, crypto.fingerprint(key.raw))
        if key is None:
            brain_id = meta.get(self.db, meta.BRAIN_ID)
            raise CryptoError(
                MSG_NO_BRAIN_KEY.format(name=self.name, brain_id=brain_id), hint=HINT_GET_KEY
            )
        self._key = key
        return key

    def _check(self, key: crypto.BrainKey | None) -> None:
        """Encrypting with the wrong key, or a fresh one while the brain already holds memories
        sealed elsewhere, writes what the other devices can never read: refuse instead."""
        records = self.records()
        if key is None and records:
            # Another device keyed this brain: a second key would split it in two.
            shown = MSG_KEYED_ELSEWHERE.format(name=self.name, fingerprint=records[0][1][:8])
            raise CryptoError(shown, hint=HINT_GET_KEY)
        samples = sql.recent_ciphertexts(self.db, KEY_CHECK_SAMPLES)
        if samples and key is None:
            raise CryptoError(MSG_SEALED_NO_KEY.format(name=self.name), hint=HINT_GET_KEY)
        if samples and key is not None and not any(map(key.can_decrypt, samples)):
            raise CryptoError(
                MSG_KEY_WRONG_FOR_BRAIN.format(name=self.name), hint=HINT_KEY_WRONG_FOR_BRAIN
            )

    def records(self) -> list[tuple[int, str, dict[str, Any]]]:
        """The brain's valid key records as (created_at, fingerprint, body), oldest first: the
        first names the key that wins when two devices each made one (docs/sync.md, "Keys")."""
        from neuralmemory.core import bodies  # pydantic: loaded by the first body read

        found = []
        for version in self.changes.versions("key"):
            parsed = bodies.parse(bodies.KeyBody, version.body)
            if version.deleted or parsed is None:
                continue
            if version.id == crypto.KEY_RECORD_PREFIX + parsed.fingerprint:
                found.append((parsed.created_at, parsed.fingerprint, version.body))
        return sorted(found, key=lambda record: (record[0], record[1]))

    def status(self) -> KeyStatus:
        """What `sync status` says of the brain's keys: whether it is keyed, by which key, and
        whether this device holds that key."""
        records = self.records()
        key = self.current()
        held = {crypto.fingerprint(raw) for raw in key.raws} if key else set()
        winner = records[0][1] if records else None
        return KeyStatus(
            keyed=bool(records) or key is not None,
            fingerprint=winner or (crypto.fingerprint(key.raw) if key else None),
            keys_held=len(held),
            missing_key=winner is not None and winner not in held,
        )

    def record(self, raw: bytes) -> None:
        """The key record of `raw`, written once: the brain is keyed, for every device."""
        record_id = crypto.key_record_id(raw)
        current = self.changes.current("key", record_id)
        if current is None or current.version.deleted:
            body = crypto.key_record_body(raw, self._now())
            with self.db.transaction():
                self._materialize(self.changes.write("key", record_id, body=body))
