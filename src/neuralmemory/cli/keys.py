"""`nmem keys export | import`: move a brain's encryption key between devices."""

from __future__ import annotations

from pathlib import Path

import click

from neuralmemory.cli.common import brain_option, emit_json, handled, json_option


@click.group()
def keys() -> None:
    """Export or import a brain's encryption key as a passphrase-protected file."""


@keys.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the key file (default: ./{brain}-{brain_id}.nmemkey).",
)
@click.password_option("--passphrase", help="Protects the file (asked when not given).")
@brain_option
@json_option
@handled
def export_(output: Path | None, passphrase: str, brain: str | None, as_json: bool) -> None:
    """Write the brain's key to a file sealed with a passphrase (scrypt)."""
    from neuralmemory.core import crypto
    from neuralmemory.core.brain import open_brain

    with open_brain(brain) as opened:
        brain_id, name = opened.key_id, opened.name  # a merged brain: the key it shares
    path = crypto.export_key(brain_id, passphrase, output or Path(f"{name}-{brain_id}.nmemkey"))
    if as_json:
        emit_json({"brain": name, "brain_id": brain_id, "path": str(path)})
        return
    click.echo(f"Exported the key of brain {name} to {path}")


@keys.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--passphrase", prompt=True, hide_input=True, help="The file's passphrase.")
@json_option
@handled
def import_(path: Path, passphrase: str, as_json: bool) -> None:
    """Install a brain key from an exported file; a wrong passphrase changes nothing."""
    from neuralmemory.core.brain import import_key

    result = import_key(path, passphrase)
    if as_json:
        emit_json(result)
        return
    state = "Installed" if result["installed"] else "Already had"
    click.echo(f"{state} the key of brain {result['brain_id']}")
