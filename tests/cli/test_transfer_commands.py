"""`nmem export | import` as users run them: files, stdout, --json summaries, errors."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_export_to_a_file_then_import_into_another_brain(nmem: Any, tmp_path: Path) -> None:
    nmem("remember", "Alice Moreno leads Project Falcon.", "--tags", "team")
    nmem("remember", "The VPN config lives in the team vault", "--encrypted")
    out = tmp_path / "all.jsonl"
    assert (
        nmem("export", "-o", str(out)).output == f"Exported 2 memories of brain default to {out}\n"
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it holds what the brain holds
    assert nmem("export").stdout == out.read_text()
    summary = nmem.json("export", "-o", str(out), "--decrypt")
    assert summary == {"brain": "default", "format": "jsonl", "path": str(out), "memories": 2}
    assert "The VPN config lives in the team vault" in out.read_text()
    nmem("brain", "create", "copy")
    said = nmem("import", str(out), "--brain", "copy").output
    assert said == "Imported 2 memories into brain copy (read 2, 0 already there, 0 bad)\n"
    again = nmem.json("import", str(out), "--brain", "copy")
    assert (again["imported"], again["duplicates"], again["bad"]) == (0, 2, 0)
    markdown = nmem("export", "--format", "markdown", "--brain", "copy").stdout
    assert (
        markdown.startswith("# Brain copy") and "- Alice Moreno leads Project Falcon." in markdown
    )


def test_a_bad_line_is_an_error_naming_it(nmem: Any, tmp_path: Path) -> None:
    file = tmp_path / "bad.jsonl"
    file.write_text('{"format": "nmem-export", "version": 1}\n{"id": "m-1"\n')
    failed = nmem("import", str(file), code=1)
    assert "Error: 1 bad line: line 2: not JSON (nothing was imported" in failed.output
    assert nmem.json("import", str(file), code=1)["code"] == "invalid_request"
    assert nmem.json("list")["memories"] == []
    skipped = nmem.json("import", str(file), "--skip-bad")
    assert skipped["errors"] == [{"line": 2, "error": "not JSON"}]


def test_bad_invocations(nmem: Any, tmp_path: Path) -> None:
    assert "--json needs -o FILE" in nmem("export", "--json", code=1).stdout
    assert "give the FILE to import" in nmem("import", code=1).output
    assert "no file" in nmem("import", str(tmp_path / "nope.jsonl"), code=1).output
    nmem("import", "x", "--from", "elsewhere", code=2)


def test_import_from_the_other_products_and_the_mcp_memory_server(nmem: Any) -> None:
    other = FIXTURES / "neural_memory" / "brains" / "default.db"
    done = nmem.json("import", "--from", "neural-memory", str(other))
    assert (done["source"], done["read"], done["imported"]) == ("neural-memory", 6, 6)
    graph = FIXTURES / "mcp_memory" / "memory.jsonl"
    said = nmem("import", "--from", "mcp-memory", str(graph)).output
    assert said == "Imported 7 memories into brain default (read 5, 0 already there, 0 bad)\n"
    tagged = nmem.json("list", "--tags", "ada_lovelace", "--limit", "100")["memories"]
    assert len(tagged) == 4
    exported = nmem("export").stdout.splitlines()
    assert len(exported) == 1 + 13 and json.loads(exported[0])["format"] == "nmem-export"
