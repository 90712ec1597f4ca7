"""The numbered schema files in sql/<dialect>/NNNN_name.sql, read in order.

Append-only: a shipped file is never edited; a change is a new file. Each backend applies the
missing ones when it opens, records them in schema_migrations, and serialises concurrent openers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    applied_at  BIGINT NOT NULL
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(dialect: str) -> list[Migration]:
    folder = resources.files("neuralmemory.hub.backends") / "sql" / dialect
    found = []
    for entry in folder.iterdir():
        match = FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    # A number may be missing: changes made side by side each take their own, and a database
    # records which ones it has applied (not only the last), so one landing later still runs.
    numbers = [m.version for m in found]
    if len(set(numbers)) != len(numbers) or (numbers and numbers[0] != 1):
        raise RuntimeError(f"hub migrations for {dialect} must be numbered from 0001, each once")
    return found
