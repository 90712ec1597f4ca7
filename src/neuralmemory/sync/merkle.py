"""Proving a device and its hub hold the same records, and finding where they do not. Pure.

Both sides keep a root and 256 bucket digests (protocol.py: XOR of item hashes, O(1) per write).
Equal roots prove equality in one comparison; otherwise only the buckets whose digests differ are
listed, and only the records whose vhash differs inside them are exchanged. This works whatever
caused the difference: a lost cursor, a device restored from a backup, a hub that lost data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from neuralmemory.protocol import BUCKETS, EMPTY_DIGEST, item_digest, xor_digest

Key = tuple[str, str]


@dataclass
class Exchange:
    """What repair moves: hub versions to fetch and reconcile, local ones to push as they are."""

    fetch: list[Key] = field(default_factory=list)
    push: list[Key] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.fetch or self.push)


def differing_buckets(local: Sequence[str], remote: Sequence[str]) -> list[int]:
    if len(local) != BUCKETS or len(remote) != BUCKETS:
        raise ValueError(f"a digest has exactly {BUCKETS} buckets")
    return [b for b in range(BUCKETS) if local[b] != remote[b]]


def plan_exchange(local: Mapping[Key, str], hub: Mapping[Key, str]) -> Exchange:
    """From the (kind, id) -> vhash listings of the differing buckets on both sides."""
    exchange = Exchange()
    for key, vhash in hub.items():
        if local.get(key) != vhash:
            exchange.fetch.append(key)  # differs or missing here: reconcile with plan.py
    exchange.push.extend(key for key in local if key not in hub)
    exchange.fetch.sort()
    exchange.push.sort()
    return exchange


def root_without(root: str, items: Iterable[tuple[str, str, str]]) -> str:
    """A root with some (kind, id, vhash) items folded out -- e.g. quarantined records, which
    exist here but can never reach the hub, so they must not make every sync look diverged."""
    for kind, id, vhash in items:
        root = xor_digest(root, item_digest(kind, id, vhash))
    return root


def is_empty_root(root: str) -> bool:
    return root == EMPTY_DIGEST
