"""Reading the knowledge graph of the MCP reference memory server (@modelcontextprotocol/
server-memory), for `nmem import --from mcp-memory FILE`: JSON lines of

  {"type": "entity", "name": "Ada", "entityType": "person", "observations": ["Prefers Go", ...]}
  {"type": "relation", "from": "Ada", "to": "Falcon", "relationType": "leads"}

Each observation becomes a memory "NAME: OBSERVATION" tagged with its entity's name and type;
each relation becomes a memory "FROM RELATION TO" tagged with both names. The file holds no
times: they are remembered now. Ids are content hashes, as `nmem remember` makes them, so the
same file imported twice changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from neuralmemory.core.checks import MAX_TAG_CHARS, check_content, check_tags
from neuralmemory.core.extract import content_digest, extract
from neuralmemory.core.importer import BadLine, Incoming, Read, _lines
from neuralmemory.errors import (
    MSG_MCP_MEMORY_EMPTY,
    MSG_MCP_MEMORY_NOT_JSON,
    MSG_MCP_MEMORY_NOT_OBJECT,
    MSG_MCP_MEMORY_OBSERVATIONS,
    MSG_MCP_MEMORY_TYPE,
    InvalidInput,
    NmemError,
)

SOURCE = "mcp-memory"


def read_mcp_memory(path: Path, now_ms: int) -> Read:
    read = Read()
    for number, text in _lines(path.expanduser()):
        read.read += 1
        try:
            read.memories += _memories(number, _object(text), now_ms)
        except NmemError as exc:
            read.bad.append(BadLine(number, exc.message))
    return read


def _object(text: str) -> dict[str, Any]:
    try:
        item = json.loads(text)
    except ValueError:
        raise InvalidInput(MSG_MCP_MEMORY_NOT_JSON) from None
    if not isinstance(item, dict):
        raise InvalidInput(MSG_MCP_MEMORY_NOT_OBJECT)
    return item


def _memories(number: int, item: dict[str, Any], now_ms: int) -> list[Incoming]:
    kind = item.get("type")
    if kind == "entity":
        name, entity_type = _text(item, "name"), _text(item, "entityType")
        observations = item.get("observations", [])
        if not isinstance(observations, list) or not all(isinstance(o, str) for o in observations):
            raise InvalidInput(MSG_MCP_MEMORY_OBSERVATIONS)
        tags = [name, entity_type]
        return [_memory(number, f"{name}: {o}", tags, now_ms) for o in observations if o.strip()]
    if kind == "relation":
        source, target = _text(item, "from"), _text(item, "to")
        relation = _text(item, "relationType").replace("_", " ")
        return [_memory(number, f"{source} {relation} {target}", [source, target], now_ms)]
    raise InvalidInput(MSG_MCP_MEMORY_TYPE.format(kind=kind))


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(MSG_MCP_MEMORY_EMPTY.format(key=key))
    return value.strip()


def _memory(number: int, text: str, names: list[str], now_ms: int) -> Incoming:
    content = check_content(text)
    tags = check_tags([name[:MAX_TAG_CHARS] for name in names])
    body = {
        "encrypted": False,
        "type": "fact",
        "tags": tags,
        "priority": 5,
        "created_at": now_ms,
        "expires_at": None,
        "event_at": extract(content, now_ms=now_ms).event_at,
    }
    return Incoming(number, "m-" + content_digest(content)[:24], body, content)
