"""The tools' output schemas as published: pydantic's, made flat.

A client may check every result against its tool's output schema -- the official Python SDK's
client does, with jsonschema, on every call -- and that check costs more than the rest of the
client's work for a recall. pydantic writes a list of models as a `$ref` into `$defs` (a lookup
per item) and each optional field as `anyOf` [type, null] (a nested validation per field). flat()
writes the same schema without either: the referenced definitions inlined, and such an `anyOf`
as one `type` list. It accepts exactly what the original accepts (tests/mcp/test_mcp_schemas.py
checks both against good and bad results), and a client validates a 5-memory recall result with
~30% fewer instructions (callgrind: 3.4M -> 2.4M).

A schema flat() cannot rewrite exactly -- a recursive model, a `$ref` beside other validation
keywords, a reference outside `$defs` -- is published as pydantic wrote it.
"""

from __future__ import annotations

from typing import Any

_DEFS = "#/$defs/"
#: keywords that only describe: they may sit beside an inlined definition, and win over its own
_NOTES = frozenset({"title", "description", "default", "examples"})


class _Kept(Exception):
    """The schema cannot be flattened exactly: keep it as it is."""


def flat(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its `$defs` inlined and each `anyOf` of bare types as a `type` list."""
    defs = schema.get("$defs", {})
    try:
        flattened: dict[str, Any] = _walk(schema, defs, frozenset())
    except _Kept:
        return schema
    return flattened


def _walk(node: Any, defs: dict[str, Any], open_refs: frozenset[str]) -> Any:
    if isinstance(node, list):
        return [_walk(item, defs, open_refs) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if ref is not None:
        return _inlined(node, ref, defs, open_refs)
    out = {key: _walk(value, defs, open_refs) for key, value in node.items() if key != "$defs"}
    options = out.get("anyOf")
    if (
        "type" not in out
        and isinstance(options, list)
        and all(isinstance(o, dict) and set(o) == {"type"} for o in options)
        and all(isinstance(o["type"], str) for o in options)
    ):
        del out["anyOf"]
        out["type"] = [option["type"] for option in options]
    return out


def _inlined(
    node: dict[str, Any], ref: object, defs: dict[str, Any], open_refs: frozenset[str]
) -> dict[str, Any]:
    if not isinstance(ref, str) or not ref.startswith(_DEFS):
        raise _Kept
    name = ref.removeprefix(_DEFS)
    if name in open_refs or name not in defs or not set(node) - {"$ref"} <= _NOTES:
        raise _Kept  # recursive, dangling, or a reference with validation beside it
    definition = _walk(defs[name], defs, open_refs | {name})
    notes = {key: value for key, value in node.items() if key != "$ref"}
    return {**definition, **notes}
