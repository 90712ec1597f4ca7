"""docs/mcp.md keeps up with the server: every tool, every parameter, every result field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from neuralmemory.mcp.install import TARGETS
from neuralmemory.mcp.server import build_server

DOC = (Path(__file__).resolve().parents[2] / "docs" / "mcp.md").read_text(encoding="utf-8")

pytestmark = pytest.mark.anyio


def _sections() -> dict[str, str]:
    """`### nmem_x` heading -> the text up to the next heading."""
    parts = re.split(r"^### (nmem_\w+)\n", DOC, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _fields(schema: object) -> set[str]:
    """Every property name in a schema, nested ones too (a list's items, $defs)."""
    if isinstance(schema, list):
        return set().union(*map(_fields, schema))
    if not isinstance(schema, dict):
        return set()
    found = set(schema.get("properties", {}))
    return found.union(*map(_fields, schema.values()))


async def test_every_tool_parameter_and_result_field_is_documented() -> None:
    tools = await build_server().list_tools()
    sections = _sections()
    assert set(sections) == {tool.name for tool in tools}, "a tool is undocumented, or a doc stale"
    for tool in tools:
        for parameter in tool.input_schema["properties"]:
            assert f"`{parameter}`" in sections[tool.name], f"{tool.name}({parameter})"
        for field in _fields(tool.output_schema or {}):
            assert f"`{field}`" in DOC, f"{tool.name} result field {field}"


def test_install_targets_are_documented() -> None:
    for target in TARGETS:
        assert f"`{target}`" in DOC
    assert "nmem mcp install" in DOC
