"""What changed between the versions of a memory: `nmem show`'s history, newest last.

Versions are the synced records (store/history.py keeps the ones replaced on this device), so
each names its device and its hybrid-clock stamp; the change is read from two bodies. An
encrypted memory's text is compared as ciphertext: an edit of its tags alone keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neuralmemory.clock import stamp_ms
from neuralmemory.protocol import Version, iso_ms

_FIELDS = ("type", "priority", "project", "expires_at")


@dataclass(frozen=True)
class Change:
    #: ms since the epoch, from the version's stamp; None when unknown: a new memory written
    #: while this device's clock was far ahead is stamped again at 0 (docs/sync.md, "Clocks")
    at: int | None
    device_id: str
    vhash: str
    what: list[str]  # e.g. ["created"], ["content changed", "priority 5 -> 7"]

    def to_json(self) -> dict[str, Any]:
        return {
            "at": None if self.at is None else iso_ms(self.at),
            "device_id": self.device_id,
            "vhash": self.vhash,
            "what": self.what,
        }


def changes(versions: Sequence[Version]) -> list[Change]:
    """One entry per version, oldest first: what it changed from the one before."""
    found: list[Change] = []
    before: Version | None = None
    for version in versions:
        at = stamp_ms(version.hlc) or None
        found.append(Change(at, version.device_id, version.vhash, _diff(before, version)))
        before = version
    return found


def _diff(old: Version | None, new: Version) -> list[str]:
    if new.deleted:
        return ["forgotten"]
    if old is None:
        return ["created"]
    if old.deleted:
        return ["restored"]
    a, b = old.body, new.body
    what: list[str] = []
    if _text(a) != _text(b):
        what.append("content changed")
    if a.get("tags", []) != b.get("tags", []):
        what.append(f"tags {_tags(a)} -> {_tags(b)}")
    what += [
        f"{field.replace('_', ' ')} {_show(a.get(field))} -> {_show(b.get(field))}"
        for field in _FIELDS
        if a.get(field) != b.get(field)
    ]
    if a.get("superseded_by") != b.get("superseded_by"):
        replaced = b.get("superseded_by")
        what.append(f"superseded by {replaced}" if replaced else "no longer superseded")
    return what or ["no change to what it says (a merge or a re-sync)"]


def _text(body: dict[str, Any]) -> Any:
    return body.get("content", body.get("ciphertext"))


def _tags(body: dict[str, Any]) -> str:
    return ",".join(body.get("tags", [])) or "(none)"


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    return str(iso_ms(value)) if isinstance(value, int) and value > 10**11 else str(value)
