"""mcp/results.py: a memory as the tools show it is the library's JSON of it (Memory.to_json,
the plain reference), cut to the fields the result models keep."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from neuralmemory.core.brains import open_brain
from neuralmemory.mcp.results import HitOut, MemoryOut, RememberOut, shown


def test_shown_is_to_json_cut_to_the_result_fields(home: Path) -> None:
    with open_brain() as brain:
        made = [
            brain.remember("Alice Moreno leads Project Falcon.", tags=["falcon", "people"]),
            brain.remember("Falcon streams events through Kafka.", project="github.com/a/falcon"),
            brain.remember("Renew the Falcon certificate.", type="todo", expires_days=7),
            brain.remember("The Falcon API key lives in the vault.", encrypted=True, priority=9),
        ]
        memories = [done.memory for done in made]
        memories += [hit.memory for hit in brain.recall("Falcon", limit=10)]
    memories.append(replace(memories[-1], content=None))  # encrypted, no key on this device
    assert set(MemoryOut.model_fields) == set(shown(memories[0]))
    assert set(HitOut.model_fields) - set(MemoryOut.model_fields) == {"score", "via", "path"}
    for memory in memories:
        reference = memory.to_json()
        assert shown(memory) == {key: reference[key] for key in MemoryOut.model_fields}
        assert MemoryOut.of(memory) == MemoryOut.model_validate(reference)
    assert RememberOut.of(made[2]).expires_at == memories[2].to_json()["expires_at"]
