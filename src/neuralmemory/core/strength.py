"""Reinforcement as stored: a memory's strength now, and the learned links' use counts.

core/reinforce.py says how uses become strength; this reads the materialized counters
(activations, links) that recall ranks by and that a new version's strength is stamped from.
"""

from __future__ import annotations

from neuralmemory.core import reinforce
from neuralmemory.store import memories as sql
from neuralmemory.store.db import Database


def strengths(db: Database, rids: list[int], now: int) -> dict[int, float]:
    """The activation of each memory (by rid) at `now`."""
    return {
        rid: reinforce.activation(count, last or created, now)
        for rid, (created, count, last) in sql.strength_inputs(db, rids).items()
    }


def strength_now(db: Database, id: str, now: int) -> int:
    """Memory `id`'s activation at `now`, in millionths: a new version's `strength`."""
    activation = sql.activations(db, [id]).get(id)
    row = sql.get_memory(db, id)
    created = row.created_at if row else now
    count, last = activation or (0, created)
    return reinforce.millionths(reinforce.activation(count, last, now))


def links_by_rid(db: Database, rids: list[int]) -> list[tuple[int, int, int]]:
    """The learned links from these memories, as (source rid, target rid, uses)."""
    ids = {id_: rid for rid, id_ in sql.ids_by_rid(db, rids).items()}
    found = sql.links_of(db, list(ids))
    targets = sql.rids_of(db, [dst for _, _, dst, _ in found])
    return [(ids[src], targets[dst], count) for _, src, dst, count in found if dst in targets]
