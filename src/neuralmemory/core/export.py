"""`nmem export`: a brain's memories as JSONL (to move them, back them up, diff them) or as
Markdown (to read them). The JSONL format is documented in docs/export.md; core/importer.py
reads it back.

JSONL is a header line, then one memory per line, oldest first (then by id), each a JSON object
with its keys in a fixed order, so that export -> import into an empty brain -> export gives the
same bytes. What travels is what a memory's synced record holds, plus its activation counters
(strength is computed from them and the time since: the counters are its lossless form).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from neuralmemory.core import bodies, reinforce
from neuralmemory.core.brain import Brain
from neuralmemory.protocol import Version, iso_ms

FORMAT = "nmem-export"
VERSION = 1
HEADER = {"format": FORMAT, "version": VERSION}


def export_lines(
    brain: Brain, *, decrypt: bool = False, project: str | None = None
) -> Iterator[str]:
    """The JSONL lines (without newlines): the header, then each live memory. Encrypted memories
    are exported as ciphertext, or as their text with `decrypt` (CryptoError without the key)."""
    yield _dump(HEADER)
    for version, counters in _memories(brain, project):
        yield _dump(_line(brain, version, counters, decrypt=decrypt))


def export_markdown(brain: Brain, *, project: str | None = None) -> str:
    """One readable document: the brain's memories by project, newest first in each."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for version, counters in _memories(brain, project):
        line = _line(brain, version, counters, decrypt=True, missing_key_ok=True)
        groups.setdefault(line["project"] or "", []).append(line)
    out = [f"# Brain {brain.name}", ""]
    for name in sorted(groups):
        out += [f"## {'Project ' + name if name else 'No project'}", ""]
        for line in sorted(groups[name], key=lambda m: (m["created_at"], m["id"]), reverse=True):
            out += _markdown_entry(line)
    if not groups:
        out.append("No memories.")
    return "\n".join(out).rstrip() + "\n"


def _memories(brain: Brain, project: str | None) -> list[tuple[Version, dict[str, Any]]]:
    with brain.db.reading():
        memories = [
            v
            for v in brain.changes.versions("memory")
            if not v.deleted and bodies.problem("memory", v.body) is None
        ]
        counters = {
            v.id: reinforce.counters_of(v.body)
            for v in brain.changes.versions("activation")
            if not v.deleted
        }
    if project is not None:
        memories = [v for v in memories if v.body.get("project") == project]
    memories.sort(key=lambda v: (v.body["created_at"], v.id))
    return [(v, counters.get(v.id, {})) for v in memories]


def _line(
    brain: Brain,
    version: Version,
    counters: dict[str, Any],
    *,
    decrypt: bool,
    missing_key_ok: bool = False,
) -> dict[str, Any]:
    body = version.body
    line: dict[str, Any] = {"id": version.id, "type": body["type"]}
    if "ciphertext" in body and decrypt:
        key = brain.keys.current()
        if key is None and not missing_key_ok:
            brain.keys.require(create=False)  # raises CryptoError naming the way out
        line["content"] = key.decrypt(body["ciphertext"]) if key else None
    elif "ciphertext" in body:
        line["ciphertext"] = body["ciphertext"]
    else:
        line["content"] = body["content"]
    line.update(
        encrypted="ciphertext" in body,
        tags=list(body.get("tags", [])),
        priority=body.get("priority", 5),
        project=body.get("project"),
        created_at=iso_ms(body["created_at"]),
        event_at=iso_ms(body.get("event_at")),
        expires_at=iso_ms(body.get("expires_at")),
        superseded_by=body.get("superseded_by"),
        activation={
            device: {"count": c["count"], "last": iso_ms(c["last"])}
            for device, c in sorted(counters.items())
        },
    )
    return line


def _markdown_entry(line: dict[str, Any]) -> list[str]:
    text = line.get("content")
    text = "(encrypted; the brain key is not on this device)" if text is None else text
    meta = [line["type"], f"priority {line['priority']}", f"remembered {line['created_at'][:10]}"]
    if line["tags"]:
        meta.append("tags: " + ", ".join(line["tags"]))
    if line["superseded_by"]:
        meta.append(f"superseded by {line['superseded_by']}")
    return [f"- {' '.join(text.split())}", f"  _{' · '.join(meta)}_ · `{line['id']}`", ""]


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
