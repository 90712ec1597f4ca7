"""What a brain's derived data is, independent of row numbering: for comparing two paths that
must build the same graph (text first then the backlog, or inline), and pulled versions to feed
them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neuralmemory import config
from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import open_brain
from neuralmemory.protocol import Version

PEOPLE = ["Dana Whitfield", "Ravi Okafor", "Mei Lindqvist", "Tomas Moreau", "Aisha Haddad"]
PROJECTS = ["Falcon", "Orion", "Heron", "Lynx"]
PARTS = ["billing service", "search API", "checkout flow", "data pipeline", "auth proxy"]


def text(n: int) -> str:
    """A realistic note: names, a project, a part, a date, numbers, now and then a relation."""
    person, project, part = PEOPLE[n % 5], PROJECTS[n % 4], PARTS[n % 7 % 5]
    day = f"2026-{n % 12 + 1:02d}-{n % 28 + 1:02d}"
    note = f"{person} moved the {project} {part} to port {3000 + n} on {day}; ticket {n}."
    if n % 3 == 0:
        note += f" The outage was caused by a memory leak in the {part}."
    if n % 5 == 0:
        note += " Today the team agreed on a rollback plan."
    return note


def pulled(source: Path, count: int, *, tags: bool = True) -> list[Version]:
    """`count` memory versions written on the device at `source`, as another device pulls them."""
    with config.using_home(source), open_brain() as brain, brain.db.transaction():
        for n in range(count):
            body = {
                "content": text(n),
                "encrypted": False,
                "type": "fact",
                "tags": [PROJECTS[n % 4].lower()] if tags and n % 2 else [],
                "priority": 5,
                "created_at": 1_780_000_000_000 + n,
                "event_at": None,
                "expires_at": None,
            }
            brain.changes.write("memory", f"m-test{n:07d}", body=body, strength=500_000)
        return list(brain.changes.versions("memory"))


def graph(brain: Brain) -> dict[str, Any]:
    """The derived graph and text index, by memory id and concept key (never by row number)."""
    db = brain.db
    ids = dict(db.execute("SELECT rid, id FROM memories").fetchall())
    keys = {nid: key for nid, key in db.execute("SELECT id, key FROM neurons")}
    return {
        "neurons": sorted(db.execute("SELECT key, kind, df FROM neurons").fetchall()),
        "synapses": sorted(
            (keys[n], ids[r], w) for n, r, w in db.execute("SELECT * FROM synapses")
        ),
        "relations": sorted(
            (keys[s], keys[d], k, ids[r])
            for s, d, k, r in db.execute("SELECT src, dst, kind, memory_rid FROM relations")
        ),
        "text": sorted((ids[r], t) for r, t in db.execute("SELECT rowid, terms FROM memory_fts")),
    }
