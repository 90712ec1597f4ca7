"""Export and import (core/export.py, core/importer.py and the readers of other tools' files):
a lossless, idempotent round trip, bad lines named with nothing half-imported, and the other
Neural Memory product's brain read without ever being written."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import create_brain, open_brain
from neuralmemory.core.browse import list_memories
from neuralmemory.core.export import export_lines, export_markdown
from neuralmemory.core.from_mcp_memory import read_mcp_memory
from neuralmemory.core.from_neural_memory import read_neural_memory
from neuralmemory.core.importer import Read, import_read, read_jsonl
from neuralmemory.errors import InvalidInput, NotFound

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = 1_790_000_000_000  # 2026-09-21


def _fill(brain: Brain) -> None:
    """One of everything an export carries."""
    alice = brain.remember("Alice Moreno leads Project Falcon.", tags=["team", "people"])
    brain.remember("Kafka carries the Falcon events", project="github.com/ada/falcon", priority=8)
    old = brain.remember("The staging database is pg-staging-2").memory.id
    brain.remember("The staging database is pg-staging-3", supersedes=old)
    brain.remember("The office is closed on 2026-12-24", expires_days=30, type="context")
    brain.remember("The VPN config lives in the team vault", encrypted=True)
    brain.remember("Привет: naïve café ☕ text survives", type="preference")
    brain.recall("Alice Falcon")  # activation counters to carry
    assert alice.created


def _export(brain: Brain, path: Path, *, decrypt: bool = False) -> Path:
    path.write_text("".join(f"{line}\n" for line in export_lines(brain, decrypt=decrypt)), "utf-8")
    return path


def test_export_import_export_gives_identical_lines(home: Path, tmp_path: Path) -> None:
    with open_brain() as source:
        _fill(source)
        first = _export(source, tmp_path / "first.jsonl")
        plain = _export(source, tmp_path / "plain.jsonl", decrypt=True)
    lines = first.read_text("utf-8").splitlines()
    assert json.loads(lines[0]) == {"format": "nmem-export", "version": 1}
    assert len(lines) == 8
    for name, exported in (("copy", first), ("plain-copy", plain)):
        with create_brain(name) as copy:
            report = import_read(copy, "nmem", read_jsonl(exported))
            assert (report.read, report.imported, report.duplicates) == (7, 7, 0)
            again = _export(copy, tmp_path / f"{name}.jsonl", decrypt=exported is plain)
        assert again.read_bytes() == exported.read_bytes(), name
    with open_brain("plain-copy") as copy:  # encrypted again, with its own key
        sealed = [m for m in list_memories(copy, everything=True).memories if m.encrypted]
        assert [m.content for m in sealed] == ["The VPN config lives in the team vault"]
        assert copy.recall("VPN vault", reinforce=False)[0].memory.encrypted


def test_importing_the_same_file_twice_changes_nothing(home: Path, tmp_path: Path) -> None:
    with open_brain() as source:
        _fill(source)
        exported = _export(source, tmp_path / "all.jsonl")
    with create_brain("copy") as copy:
        import_read(copy, "nmem", read_jsonl(exported))
        root, pending = copy.changes.root(), copy.changes.pending_count()
        assert pending >= 7  # imported memories wait to be pushed, like any write
        report = import_read(copy, "nmem", read_jsonl(exported))
        assert (report.imported, report.duplicates) == (0, 7)
        assert (copy.changes.root(), copy.changes.pending_count()) == (root, pending)


BASE = {"id": "m-1", "type": "fact", "content": "x", "created_at": "2026-01-01T00:00:00Z"}


def _line(**fields: object) -> str:
    """A memory line: BASE with `fields` changed (None: left out)."""
    merged = {**BASE, **fields}
    return json.dumps({key: value for key, value in merged.items() if value is not None})


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("{not json", "not JSON"),
        ('["a list"]', "Input should be an object"),
        (_line(created_at=None), "created_at: Field required"),
        (_line(id="bad id"), "id: String should match"),
        (_line(type="rumour"), "unknown type 'rumour'"),
        (_line(content=None), "exactly one of content and ciphertext"),
        (_line(created_at="soon"), "created_at: 'soon' is not a UTC time"),
        (_line(created_at="2026-01-01T00:00:00"), "is not a UTC time such as"),
        (_line(priority=11), "priority: Input should be less than or equal to 10"),
        (_line(colour=1), "colour: Extra inputs are not permitted"),
        (_line(content=None, ciphertext="gAAAA"), "ciphertext needs encrypted: true"),
        (_line(content=" "), "content must be non-empty text"),
        (_line(tags=["x" * 65]), "a tag must be 1 to 64 characters"),
        (_line(activation={"dev-1": {"count": -1, "last": "2026-01-01T00:00:00Z"}}), "count"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_imported(
    home: Path, tmp_path: Path, line: str, error: str
) -> None:
    good = '{"id": "m-2", "type": "fact", "content": "fine", "created_at": "2026-01-01T00:00:00Z"}'
    file = tmp_path / "bad.jsonl"
    file.write_text(f'{{"format": "nmem-export", "version": 1}}\n{good}\n\n{line}\n{good}\n')
    with open_brain() as brain:
        with pytest.raises(InvalidInput) as caught:
            import_read(brain, "nmem", read_jsonl(file))
        message = str(caught.value)
        assert message.startswith("1 bad line: line 4: ") and error in message, message
        assert "--skip-bad" in str(caught.value)
        assert brain.changes.count() == 0  # not even the good lines
        report = import_read(brain, "nmem", read_jsonl(file), skip_bad=True)
        assert (report.imported, report.duplicates, [b.line for b in report.bad]) == (1, 1, [4])


def test_the_header_is_required_and_its_version_checked(home: Path, tmp_path: Path) -> None:
    file = tmp_path / "x.jsonl"
    for first, error in (
        ('{"type": "entity"}', "line 1: not an nmem export"),
        ("not json", "line 1: not an nmem export"),
        ('{"format": "nmem-export", "version": 2}', "line 1: export format version 2"),
    ):
        file.write_text(first + "\n")
        with pytest.raises(InvalidInput, match=error):
            read_jsonl(file)
    file.write_bytes(b'{"format": "nmem-export", "version": 1}\n\xff\xfe\n')
    with pytest.raises(InvalidInput, match="is not UTF-8 text"):
        read_jsonl(file)
    with pytest.raises(NotFound, match="no file"):
        read_jsonl(tmp_path / "missing.jsonl")


def test_ciphertext_of_another_brains_key_is_refused(home: Path, tmp_path: Path) -> None:
    with create_brain("theirs") as theirs:
        theirs.remember("Sealed elsewhere", encrypted=True)
        exported = _export(theirs, tmp_path / "theirs.jsonl")
    with open_brain() as mine:
        mine.remember("Mine, sealed here", encrypted=True)  # this brain has a key of its own
        with pytest.raises(InvalidInput, match="line 2: encrypted with another brain's key"):
            import_read(mine, "nmem", read_jsonl(exported))


def test_markdown_is_one_readable_file_by_project(home: Path) -> None:
    with open_brain() as brain:
        _fill(brain)
        text = export_markdown(brain)
        only = export_markdown(brain, project="github.com/ada/falcon")
    assert text.startswith("# Brain default\n") and "## Project github.com/ada/falcon" in text
    assert "- The VPN config lives in the team vault" in text  # this device has the key
    assert "superseded by m-" in text and "## No project" in text
    assert "Kafka carries" in only and "Alice" not in only


# ------------------------------------------------------------------ the other Neural Memory


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()
    }


def test_the_other_neural_memory_brain_is_imported_and_never_written(
    home: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    shutil.copytree(FIXTURES / "neural_memory", other)
    before = _snapshot(other)
    read = read_neural_memory(other / "brains" / "default.db", NOW)
    assert _snapshot(other) == before  # not a byte, not a time, no journal left beside it
    assert (read.read, len(read.memories), read.bad, read.notes) == (6, 6, [], [])
    with open_brain() as brain:
        report = import_read(brain, "neural-memory", read)
        assert report.imported == 6
        memories = {m.content: m for m in list_memories(brain, everything=True).memories}
        assert (
            import_read(
                brain, "neural-memory", read_neural_memory(other / "brains" / "default.db", NOW)
            ).duplicates
            == 6
        )
    decision = memories["We chose PostgreSQL for billing because it has JSONB"]
    assert (decision.type, decision.priority, decision.tags) == (
        "decision",
        7,
        ["billing", "database"],
    )
    assert decision.expires_at is not None and decision.expires_at > decision.created_at
    assert memories["Alice Moreno leads Project Falcon"].project == "falcon"
    assert memories["Alice Moreno leads Project Falcon"].tags == ["team"]
    deploys = memories["Billing deploys happen on Fridays after the 14:00 freeze"]
    assert deploys.type == "workflow" and deploys.event_at == 1_772_438_400_000  # 2026-03-02T08:00
    assert memories["Never push to main without a review"].type == "instruction"
    sealed = memories["The staging VPN shared secret is kept in the team vault under ops/vpn"]
    assert sealed.encrypted and sealed.type == "reference"  # decrypted, sealed again with ours


def test_without_its_key_the_other_products_encrypted_memories_are_skipped_with_a_note(
    tmp_path: Path,
) -> None:
    other = tmp_path / "other"
    shutil.copytree(FIXTURES / "neural_memory", other)
    (other / "keys" / "default.key").unlink()
    read = read_neural_memory(other / "brains" / "default.db", NOW)
    assert len(read.memories) == 5
    assert read.notes[0].startswith("1 encrypted memories were skipped: their key is not at")


def test_the_other_products_expired_memories_are_left_out(tmp_path: Path) -> None:
    read = read_neural_memory(FIXTURES / "neural_memory" / "brains" / "default.db", NOW + 10**12)
    assert "expired or forgotten memories were left out" in read.notes[-1]


def test_a_file_that_is_not_the_other_products_brain_is_refused(home: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no brain of the other Neural Memory"):
        read_neural_memory(tmp_path / "nothing.db", NOW)
    with open_brain() as ours:
        path = ours.path
    with pytest.raises(InvalidInput, match="is not a brain of the other Neural Memory"):
        read_neural_memory(path, NOW)
    text = tmp_path / "text.db"
    text.write_text("hello")
    with pytest.raises(InvalidInput, match="is not a brain of the other Neural Memory"):
        read_neural_memory(text, NOW)


# ------------------------------------------------------------------ the MCP memory server


def test_the_mcp_memory_graph_becomes_memories(home: Path, tmp_path: Path) -> None:
    read = read_mcp_memory(FIXTURES / "mcp_memory" / "memory.jsonl", NOW)
    assert (read.read, len(read.memories), read.bad) == (5, 7, [])
    with open_brain() as brain:
        assert import_read(brain, "mcp-memory", read).imported == 7
        assert (
            import_read(
                brain, "mcp-memory", read_mcp_memory(FIXTURES / "mcp_memory" / "memory.jsonl", NOW)
            ).imported
            == 0
        )
        memories = {m.content: m for m in list_memories(brain).memories}
    assert memories["Ada_Lovelace: Prefers Go over Java for services"].tags == [
        "ada_lovelace",
        "person",
    ]
    assert memories["Project_Falcon depends on Kafka"].tags == ["kafka", "project_falcon"]
    assert "Ada_Lovelace leads Project_Falcon" in memories


def test_bad_mcp_memory_lines_are_named(home: Path, tmp_path: Path) -> None:
    file = tmp_path / "memory.jsonl"
    file.write_text(
        '{"type":"entity","name":"A","entityType":"x","observations":["fine"]}\n'
        "nope\n"
        '{"type":"entity","name":"","entityType":"x","observations":[]}\n'
        '{"type":"entity","name":"B","entityType":"x","observations":[1]}\n'
        '{"type":"relation","from":"A","to":"B"}\n'
        '{"type":"mood"}\n'
    )
    read = read_mcp_memory(file, NOW)
    assert [(b.line, b.error) for b in read.bad] == [
        (2, "not JSON"),
        (3, "name must be non-empty text"),
        (4, "observations must be a list of strings"),
        (5, "relationType must be non-empty text"),
        (6, "type must be entity or relation, not 'mood'"),
    ]
    with open_brain() as brain:
        with pytest.raises(InvalidInput, match="5 bad lines: line 2: not JSON; line 3"):
            import_read(brain, "mcp-memory", read)
        assert brain.changes.count() == 0


def test_an_empty_read_imports_nothing(home: Path) -> None:
    with open_brain() as brain:
        assert import_read(brain, "nmem", Read()).to_json()["imported"] == 0


def test_ids_of_the_other_product_are_stable_across_imports(tmp_path: Path) -> None:
    path = FIXTURES / "neural_memory" / "brains" / "default.db"
    first = [m.id for m in read_neural_memory(path, NOW).memories]
    assert first == [m.id for m in read_neural_memory(path, NOW + 1).memories]
    assert sqlite3.connect(":memory:")  # (the reader needs nothing but the standard library)


def test_a_big_import_reports_progress_batch_by_batch(home: Path, tmp_path: Path) -> None:
    lines = ['{"format":"nmem-export","version":1}'] + [
        json.dumps({**BASE, "id": f"m-{n:024x}", "content": f"Note {n}"}) for n in range(1200)
    ]
    file = tmp_path / "big.jsonl"
    file.write_text("\n".join(lines) + "\n")
    steps: list[tuple[int, int]] = []
    with open_brain() as brain:
        report = import_read(brain, "nmem", read_jsonl(file), progress=lambda *s: steps.append(s))
    assert report.imported == 1200
    assert steps == [(500, 1200), (1000, 1200), (1200, 1200)]
