"""`nmem`: the command line. A thin shell: parse, call one library function, format, map errors.

Each command group lives in its own module and is registered here by name, its module imported
only when it runs (NmemGroup); heavy imports stay inside the commands so `nmem recall` starts fast.
"""

from __future__ import annotations

import click

from neuralmemory import __version__
from neuralmemory.cli.common import NmemGroup

#: Each command's module, imported only when that command runs (or `nmem --help` lists them all):
#: a command pays for its own imports at start, not for every other command's.
COMMANDS = {
    "remember": "neuralmemory.cli.memory:remember",
    "recall": "neuralmemory.cli.memory:recall",
    "edit": "neuralmemory.cli.memory:edit",
    "forget": "neuralmemory.cli.memory:forget",
    "list": "neuralmemory.cli.browse:list_",
    "show": "neuralmemory.cli.browse:show",
    "export": "neuralmemory.cli.transfer:export",
    "import": "neuralmemory.cli.transfer:import_",
    "stats": "neuralmemory.cli.memory:stats",
    "brain": "neuralmemory.cli.brain:brain",
    "keys": "neuralmemory.cli.keys:keys",
    "mcp": "neuralmemory.cli.mcp:mcp",
    "hooks": "neuralmemory.cli.hooks:hooks",
    "hook": "neuralmemory.cli.hooks:hook",
    "serve": "neuralmemory.cli.serve:serve",
    "hub": "neuralmemory.cli.hub:hub",
    "sync": "neuralmemory.cli.sync:sync",
    "ui": "neuralmemory.cli.ui:ui",
}


@click.group(cls=NmemGroup, lazy=COMMANDS)
@click.version_option(__version__, prog_name="nmem")
def cli() -> None:
    """Neural Memory: associative memory for AI agents, synced through a hub you host."""
