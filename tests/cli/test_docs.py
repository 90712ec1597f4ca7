"""Every command and option is documented, with its --json output (docs/cli.md and friends)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from neuralmemory.cli.main import cli

DOCS = Path(__file__).resolve().parents[2] / "docs"
README = DOCS.parent / "README.md"


def commands(group: click.Group, prefix: str = "nmem") -> list[tuple[str, click.Command]]:
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # the root group imports its commands when asked
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found += commands(command, path)
        else:
            found.append((path, command))
    return found


def headings() -> set[str]:
    return {
        line.lstrip("#").strip().strip("`")
        for doc in DOCS.glob("*.md")
        for line in doc.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }


@pytest.mark.parametrize(("path", "command"), commands(cli), ids=lambda v: str(v))
def test_every_command_has_a_heading_in_the_docs(path: str, command: click.Command) -> None:
    assert path in headings(), f"{path} is not documented under docs/"


@pytest.mark.parametrize(
    "path",
    [
        p
        for p, _ in commands(cli)
        if p.split()[1] in {"remember", "recall", "edit", "forget", "stats", "brain", "keys"}
    ],
)
def test_every_core_command_documents_its_json(path: str) -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    section = text.split(f"## {path}\n", 1)[1].split("\n## ", 1)[0]
    assert "```json" in section or "Prints the Memory JSON" in section


def _documented_text() -> str:
    return "\n".join(doc.read_text(encoding="utf-8") for doc in [*DOCS.glob("*.md"), README])


@pytest.mark.parametrize(("path", "command"), commands(cli), ids=lambda v: str(v))
def test_every_option_is_documented(path: str, command: click.Command) -> None:
    text = _documented_text()
    missing = [
        option
        for param in command.params
        for option in param.opts
        if option.startswith("--") and option not in text
    ]
    assert not missing, f"{path}: {', '.join(missing)} not in docs/ or the README"
