"""What every nmem command shares: --json and --brain options, error mapping, output.

Errors are mapped here, at the edge only: a library NmemError becomes one line on stderr
("Error: ...") or, with --json, {"error": ..., "code": ...} on stdout, and exit status 1.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from neuralmemory.errors import NmemError

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
brain_option = click.option("--brain", help="The brain to use (default: the current one).")


def handled(command: F) -> F:
    """Map library errors to a clear message and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except NmemError as exc:
            if kwargs.get("as_json"):
                click.echo(json.dumps({"error": str(exc), "code": exc.code}))
            else:
                click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def split_tags(values: tuple[str, ...]) -> list[str] | None:
    """--tags a,b --tags c -> [a, b, c]; no option -> None (leave tags as they are)."""
    if not values:
        return None
    return [tag for value in values for tag in value.split(",") if tag.strip()]
