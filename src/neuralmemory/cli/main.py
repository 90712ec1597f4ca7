"""`nmem`: the command line. A thin shell: parse, call one library function, format, map errors.

Each command group lives in its own module and is registered here; heavy imports stay inside the
commands so `nmem recall` starts fast.
"""

from __future__ import annotations

import click

from neuralmemory import __version__
from neuralmemory.cli.brain import brain
from neuralmemory.cli.browse import list_, show
from neuralmemory.cli.common import NmemGroup
from neuralmemory.cli.hooks import hook, hooks
from neuralmemory.cli.hub import hub
from neuralmemory.cli.keys import keys
from neuralmemory.cli.mcp import mcp
from neuralmemory.cli.memory import edit, forget, recall, remember, stats
from neuralmemory.cli.serve import serve
from neuralmemory.cli.sync import sync
from neuralmemory.cli.transfer import export, import_
from neuralmemory.cli.ui import ui


@click.group(cls=NmemGroup)
@click.version_option(__version__, prog_name="nmem")
def cli() -> None:
    """Neural Memory: associative memory for AI agents, synced through a hub you host."""


for command in (remember, recall, edit, forget, list_, show, export, import_, stats, brain, keys):
    cli.add_command(command)
cli.add_command(mcp)
cli.add_command(hooks)
cli.add_command(hook)
cli.add_command(serve)
cli.add_command(hub)
cli.add_command(sync)
cli.add_command(ui)
