"""mcp/schemas.py: the output schemas published flat accept exactly what pydantic's accept."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # what the SDK's client checks with
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel

from neuralmemory.core.brains import open_brain
from neuralmemory.mcp.results import MemoryOut, RecallOut
from neuralmemory.mcp.schemas import flat
from neuralmemory.mcp.server import build_server

pytestmark = pytest.mark.anyio


def _agree(schema: dict[str, Any], instance: object) -> bool:
    """Whether the published schema and pydantic's give `instance` the same verdict; returns
    that verdict."""
    reference: bool = Draft202012Validator(schema).is_valid(instance)
    assert Draft202012Validator(flat(schema)).is_valid(instance) == reference, instance
    return reference


def _recall_result(home: Path) -> dict[str, Any]:
    with open_brain() as brain:
        brain.remember("Alice Moreno leads Project Falcon.", tags=["falcon", "people"])
        brain.remember("Project Falcon streams its events through Kafka.", project="falcon")
        brain.remember("Alice Moreno asked for the Kafka review by Friday.", expires_days=7)
        hits = brain.recall("Alice Falcon Kafka", limit=5)
    result = RecallOut.of("Alice Falcon Kafka", hits).model_dump(mode="json", exclude_none=True)
    assert len(result["memories"]) == 3
    return result


def _bad_recall_results(good: dict[str, Any]) -> list[object]:
    def changed(edit: Any) -> dict[str, Any]:
        copied = copy.deepcopy(good)
        edit(copied["memories"][0])
        return copied

    return [
        changed(lambda m: m.pop("id")),
        changed(lambda m: m.update(content=5)),
        changed(lambda m: m.update(tags=["ok", 3])),
        changed(lambda m: m.update(tags=None)),
        changed(lambda m: m.update(project=["a"])),
        changed(lambda m: m.update(path="concept")),
        changed(lambda m: m.update(path=[1])),
        changed(lambda m: m.update(score="high")),
        changed(lambda m: m.update(expires_at=0)),
        {**good, "memories": [1]},
        {**good, "memories": None},
        {"memories": good["memories"]},
        [],
    ]


async def test_every_tool_s_flat_schema_agrees_with_pydantic_s(home: Path) -> None:
    server = build_server()
    published = {tool.name: tool.output_schema for tool in await server.list_tools()}
    original = {tool.name: tool.output_schema for tool in await MCPServer.list_tools(server)}
    assert set(published) == set(original)
    for name, schema in original.items():
        assert schema is not None
        assert published[name] == flat(schema)
        samples: tuple[object, ...] = ({}, {"memories": []}, {"id": "m-1"}, [], "text")
        for instance in samples:
            _agree(schema, instance)
    recall = original["nmem_recall"]
    assert recall is not None
    assert "$defs" in json.dumps(recall) and "$defs" not in json.dumps(published["nmem_recall"])
    good = _recall_result(home)
    assert _agree(recall, good)
    nullable = copy.deepcopy(good)
    nullable["memories"][0].update(content=None, project=None, path=None, expires_at=None)
    assert _agree(recall, nullable)
    for bad in _bad_recall_results(good):
        assert not _agree(recall, bad)


def test_nullable_fields_become_type_lists() -> None:
    schema = MemoryOut.model_json_schema()
    assert schema["properties"]["content"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert flat(schema)["properties"]["content"]["type"] == ["string", "null"]
    assert "anyOf" not in flat(schema)["properties"]["content"]


class Node(BaseModel):
    name: str
    children: list[Node] = []


class Leaf(BaseModel):
    size: int


class Holder(BaseModel):
    leaf: Leaf


def test_what_cannot_be_flattened_exactly_is_kept_as_it_is() -> None:
    recursive = Node.model_json_schema()
    assert flat(recursive) is recursive
    checked_beside = Holder.model_json_schema()
    checked_beside["properties"]["leaf"]["minProperties"] = 1  # validation beside a $ref
    assert flat(checked_beside) is checked_beside
    outside = {"type": "object", "properties": {"a": {"$ref": "#/definitions/A"}}}
    assert flat(outside) is outside
    dangling = {"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}}
    assert flat(dangling) is dangling
    both = {"type": "string", "anyOf": [{"type": "string"}, {"type": "null"}]}
    assert flat(both) == both  # an anyOf beside a type stays an anyOf
    described = Holder.model_json_schema()
    described["properties"]["leaf"]["description"] = "the leaf"
    leaf = flat(described)["properties"]["leaf"]
    assert leaf["description"] == "the leaf" and leaf["properties"]["size"]["type"] == "integer"
    samples: tuple[object, ...] = ({"leaf": {"size": 1}}, {"leaf": {"size": "1"}}, {"leaf": {}}, {})
    for instance in samples:
        _agree(described, instance)
