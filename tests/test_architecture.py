"""Import directions (docs/architecture.md#layers): layers depend downward only.

cli, mcp, hooks, ui -> core, sync -> store, protocol, clock, errors; the web UI calls the library,
never the store. The hub sees only protocol and errors (it stores opaque records and never a
memory), and the leaf modules perms and networks; never config, which reads the device's
environment. Nothing imports cli or mcp.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "neuralmemory"

# For each layer, the neuralmemory modules it must never import.
FORBIDDEN: dict[str, set[str]] = {
    "protocol": {"core", "store", "sync", "hub", "mcp", "cli", "config"},
    "shapes": {"core", "store", "sync", "hub", "mcp", "cli", "config"},
    "clock": {"core", "store", "sync", "hub", "mcp", "cli", "config", "protocol"},
    "errors": {"core", "store", "sync", "hub", "mcp", "cli", "config", "protocol", "clock"},
    "perms": {
        "core",
        "store",
        "sync",
        "hub",
        "mcp",
        "cli",
        "config",
        "protocol",
        "clock",
        "errors",
    },
    "networks": {
        "core",
        "store",
        "sync",
        "hub",
        "mcp",
        "cli",
        "config",
        "protocol",
        "clock",
        "errors",
        "perms",
    },
    "config": {"core", "store", "sync", "hub", "mcp", "cli"},
    "store": {"core", "sync", "hub", "mcp", "cli"},
    "core": {"sync", "hub", "mcp", "cli"},
    "sync": {"hub", "mcp", "cli"},
    "hub": {"core", "store", "sync", "mcp", "cli", "clock", "config"},
    "mcp": {"cli", "hub"},
    "hooks": {"cli", "mcp", "hub"},
    "ui": {"cli", "mcp", "hub", "hooks", "store"},  # thin: the library's functions, no SQL
    "jsonfile": {"core", "store", "sync", "hub", "mcp", "cli", "hooks"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "neuralmemory" and len(parts) > 1:
                found.add(parts[1])
    return found


SOURCES = sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_layers_import_downward_only(path: Path) -> None:
    layer = _layer(path)
    bad = _imports(path) & FORBIDDEN.get(layer, set())
    assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


def test_nothing_imports_cli_or_mcp() -> None:
    for path in SOURCES:
        layer = _layer(path)
        if layer in {"cli", "mcp"}:
            continue
        assert not (_imports(path) & {"cli", "mcp"}), path


def test_hub_imports_only_protocol_errors_and_leaf_modules() -> None:
    for path in (SRC / "hub").rglob("*.py"):
        allowed = {"protocol", "errors", "perms", "networks", "hub", "__init__"} | {"neuralmemory"}
        assert _imports(path) <= allowed, path


def test_no_module_binds_a_top_level_name_twice() -> None:
    """A second `MSG_X = ...` silently replaces the first: two messages, one name (it happened)."""
    for path in SRC.rglob("*.py"):
        seen: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for name in (t.id for t in targets if isinstance(t, ast.Name)):
                    assert name not in seen, f"{path.relative_to(SRC)}: {name} is bound twice"
                    seen.add(name)


# SQL runs in store/ (a device's brain files) and in hub/ (the hub's own storage) only; the
# layers above call store/ functions named after what they read or write.
SQL_CALLS = {"execute", "executemany", "executescript", "insert_many"}
SQL_LAYERS = {"store", "hub"}


@pytest.mark.parametrize(
    "path",
    [p for p in SOURCES if _layer(p) not in SQL_LAYERS],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_sql_runs_only_in_store(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in SQL_CALLS
    }
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "sqlite3"
    }
    assert not calls | imported, f"{path.relative_to(SRC)} uses {sorted(calls | imported)}"
