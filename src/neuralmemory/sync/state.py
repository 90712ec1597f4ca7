"""What the sync engine remembers per brain, in the brain file's `sync_state` table.

Kept in the brain database (not in config.toml) so it travels with the brain and is restored with
it: a restored backup brings its old cursor back, and repair by digest takes it from there.

  hub           the hub URL the cursor belongs to: another URL starts over (cursor 0, seed)
  remote_id     the brain id used on the hub (another when a non-empty brain joined a remote one)
  cursor        the last hub seq pulled
  limits        the hub's advertised limits and when they were read (`fetched_at`), cached
                for a day so a no-op sync is one request
  quarantine    {"kind/id": {"vhash", "reason"}}: records too large for this hub
  last_result   the last sync's SyncReport, as JSON
  last_error    {"at", "error", "code"} of the last failed sync, cleared by a success
  absorbed      {brain_id: seq}: how far each other hub brain of this name was merged here
"""

from __future__ import annotations

import json
from typing import Any

from neuralmemory.store import sync_state
from neuralmemory.store.db import Database

HUB = "hub"
REMOTE_ID = "remote_id"
CURSOR = "cursor"
LIMITS = "limits"
QUARANTINE = "quarantine"
LAST_RESULT = "last_result"
LAST_ERROR = "last_error"
ABSORBED = "absorbed"


class SyncState:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str) -> Any:
        text = sync_state.get(self.db, key)
        return None if text is None else json.loads(text)

    def set(self, key: str, value: Any) -> None:
        text = None if value is None else json.dumps(value, sort_keys=True)
        sync_state.put(self.db, key, text)

    @property
    def cursor(self) -> int:
        value = self.get(CURSOR)
        return value if isinstance(value, int) else 0

    def quarantine(self) -> dict[str, dict[str, str]]:
        value = self.get(QUARANTINE)
        return value if isinstance(value, dict) else {}
