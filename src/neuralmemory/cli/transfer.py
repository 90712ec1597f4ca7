"""`nmem export | import`: parse, call core/export.py and core/importer.py (and the readers of
other tools' files), format."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from neuralmemory.cli.common import brain_option, emit_json, handled, json_option
from neuralmemory.cli.memory import _after_write, _open
from neuralmemory.errors import (
    HINT_IMPORT_NEEDS_FILE,
    HINT_JSON_NEEDS_OUTPUT,
    MSG_CANNOT_WRITE,
    MSG_IMPORT_NEEDS_FILE,
    MSG_JSON_NEEDS_OUTPUT,
    InvalidInput,
)

SOURCES = ("nmem", "neural-memory", "mcp-memory")


@click.command()
@click.option(
    "--format",
    "format_",
    type=click.Choice(["jsonl", "markdown"]),
    default="jsonl",
    show_default=True,
    help="jsonl: every memory, to import again (docs/export.md); markdown: to read.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File.")
@click.option("--decrypt", is_flag=True, help="Encrypted memories as text, not ciphertext.")
@click.option("--project", help="Only the memories of this project.")
@brain_option
@json_option
@handled
def export(
    format_: str,
    output: Path | None,
    decrypt: bool,
    project: str | None,
    brain: str | None,
    as_json: bool,
) -> None:
    """Export a brain's memories (to stdout, or to a file with -o)."""
    from neuralmemory.core.export import export_lines, export_markdown

    if as_json and output is None:
        raise InvalidInput(MSG_JSON_NEEDS_OUTPUT, hint=HINT_JSON_NEEDS_OUTPUT)
    with _open(brain) as opened:
        if format_ == "markdown":
            text = export_markdown(opened, project=project)
            count = sum(line.startswith("- ") for line in text.splitlines())
        else:
            lines = list(export_lines(opened, decrypt=decrypt, project=project))
            text, count = "".join(f"{line}\n" for line in lines), len(lines) - 1
        name = opened.name
    if output is None:
        sys.stdout.write(text)
        return
    _write_private(output, text)
    summary = {"brain": name, "format": format_, "path": str(output), "memories": count}
    if as_json:
        emit_json(summary)
        return
    click.echo(f"Exported {count} memories of brain {name} to {output}")


def _write_private(path: Path, text: str) -> None:
    """Owner-only (an export holds what the brain holds), replaced whole or not at all."""
    from neuralmemory import perms

    partial = path.with_name(f".{path.name}.partial")
    try:
        perms.private_file(partial)
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(MSG_CANNOT_WRITE.format(path=path, reason=exc.strerror)) from None


@click.command("import")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--from",
    "source",
    type=click.Choice(SOURCES),
    default="nmem",
    show_default=True,
    help="nmem: our JSONL export; neural-memory: the other Neural Memory product's brain file"
    " (default ~/.neuralmemory/brains/default.db); mcp-memory: the MCP memory server's JSONL.",
)
@click.option("--skip-bad", is_flag=True, help="Import the good lines, report the bad ones.")
@brain_option
@json_option
@handled
def import_(
    file: Path | None, source: str, skip_bad: bool, brain: str | None, as_json: bool
) -> None:
    """Import memories from FILE: all of them, or none while a line is bad."""
    from neuralmemory.clock import wall_ms
    from neuralmemory.core import importer
    from neuralmemory.core.from_mcp_memory import read_mcp_memory
    from neuralmemory.core.from_neural_memory import DEFAULT_PATH, read_neural_memory

    if source == "neural-memory":
        read = read_neural_memory(file or DEFAULT_PATH, wall_ms())
    elif file is None:
        raise InvalidInput(MSG_IMPORT_NEEDS_FILE, hint=HINT_IMPORT_NEEDS_FILE)
    elif source == "mcp-memory":
        read = read_mcp_memory(file, wall_ms())
    else:
        read = importer.read_jsonl(file)
    with _open(brain) as opened:
        report = importer.import_read(
            opened, source, read, skip_bad=skip_bad, progress=_progress(len(read.memories))
        )
        name = opened.name
    if report.imported:
        _after_write(name)
    if as_json:
        emit_json(report.to_json())
        return
    click.echo(
        f"Imported {report.imported} memories into brain {name} (read {report.read},"
        f" {report.duplicates} already there, {len(report.bad)} bad)"
    )
    for bad in report.bad:
        click.echo(f"  line {bad.line}: {bad.error}")
    for note in report.notes:
        click.echo(f"  note: {note}")


def _progress(total: int) -> Callable[[int, int], None] | None:
    """A progress line on a terminal, for files worth one."""
    from neuralmemory.core.importer import BATCH

    if total <= BATCH or not sys.stderr.isatty():
        return None

    def show(done: int, of: int) -> None:
        click.echo(f"\rImporting: {done:,} of {of:,} memories", nl=done >= of, err=True)

    return show
