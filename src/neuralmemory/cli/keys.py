"""`nmem keys export | import | share | receive`: move a brain's encryption key between devices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from neuralmemory.cli.common import brain_option, emit_json, handled, json_option


@click.group()
def keys() -> None:
    """Move a brain's encryption key: a passphrase-protected file, or a one-time code."""


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
    """Write the brain's keyring to a file sealed with a passphrase (scrypt)."""
    from neuralmemory.core import crypto
    from neuralmemory.core.brains import open_brain

    with open_brain(brain) as opened:
        brain_id, name = opened.keys.encrypting_id, opened.name  # a merged brain: the key it shares
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
    """Add a brain key from an exported file to the keyring; a wrong passphrase changes nothing."""
    from neuralmemory.core.brains import import_key

    _installed(import_key(path, passphrase), as_json)


@keys.command("share")
@brain_option
@json_option
@handled
def share(brain: str | None, as_json: bool) -> None:
    """Leave the brain's key on the hub, sealed under a one-time code printed here."""
    from neuralmemory.sync import keyshare

    result = keyshare.share(brain)
    if as_json:
        emit_json(result)
        return
    click.echo(
        f"On the other device, before {result['expires_at']}, run:\n\n"
        f"    nmem keys receive {result['code']}\n\n"
        "The code works once. The hub stores the key sealed under it and never sees the code."
    )


@keys.command("receive")
@click.argument("code")
@json_option
@handled
def receive(code: str, as_json: bool) -> None:
    """Take the key `nmem keys share` left on the hub for CODE, and add it to the keyring."""
    from neuralmemory.sync import keyshare

    _installed(keyshare.receive(code), as_json)


def _installed(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    state = "Installed" if result["installed"] else "Already had"
    click.echo(f"{state} the key of brain {result['brain_id']}")
    if result["reencrypted"]:
        click.echo(f"Encrypted {result['reencrypted']} memories again under the brain's key")
