"""What the memory tools return: part of the documented contract in docs/mcp.md.

Compact on purpose, since every result lands in an agent's context: only fields an agent acts on,
each memory's text once, and null fields left out. The sync tools return the sync service's own
shapes instead, the same as `nmem sync ... --json`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from neuralmemory.core.models import Hit, Memory, Remembered
from neuralmemory.protocol import iso_ms


class MemoryOut(BaseModel):
    id: str
    type: str
    content: str | None = Field(
        None, description="Absent when the memory is encrypted and this device lacks the brain key."
    )
    tags: list[str]
    priority: int
    encrypted: bool
    created_at: str
    expires_at: str | None = None
    project: str | None = Field(None, description="The project it belongs to; absent: none.")

    @classmethod
    def of(cls, memory: Memory) -> MemoryOut:
        return cls.model_validate(shown(memory))


def shown(memory: Memory) -> dict[str, Any]:
    """The library's JSON of `memory` (times as ISO text), only the fields MemoryOut keeps --
    what an agent does not act on (strength, access_count, event_at) is left out -- made
    directly: to_json copies the whole dataclass (dataclasses.asdict), most of a recall
    result's formatting time. tests/mcp/test_mcp_results.py holds it to to_json."""
    return {
        "id": memory.id,
        "type": memory.type,
        "content": memory.content,
        "tags": list(memory.tags),
        "priority": memory.priority,
        "encrypted": memory.encrypted,
        "created_at": iso_ms(memory.created_at),
        "expires_at": iso_ms(memory.expires_at),
        "project": memory.project,
    }


class HitOut(MemoryOut):
    score: float
    via: str = Field(description="text, concept, relation or link: how the query reached it.")
    path: list[str] | None = Field(
        None,
        description="The steps from the query to this memory, when found by association.",
    )


class RecallOut(BaseModel):
    query: str
    memories: list[HitOut]

    @classmethod
    def of(cls, query: str, hits: list[Hit]) -> RecallOut:
        memories = [
            {
                **shown(hit.memory),
                "score": round(hit.score, 4),
                "via": hit.via,
                "path": None if hit.via == "text" else hit.path,
            }
            for hit in hits
        ]
        return cls.model_validate({"query": query, "memories": memories})  # one pass for all


class RememberOut(BaseModel):
    id: str
    created: bool = Field(
        description="False when the same text was already remembered: nothing new was written."
    )
    type: str
    expires_at: str | None = None

    @classmethod
    def of(cls, done: Remembered) -> RememberOut:
        return cls.model_validate({**done.memory.to_json(), "created": done.created})


class ForgetOut(BaseModel):
    id: str
    forgotten: bool
