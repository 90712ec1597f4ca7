"""What every nmem command shares: --json and --brain options, error mapping, output.

Errors are mapped here, at the edge only: a library NmemError becomes one line on stderr
("Error: ...") or, with --json, {"error": ..., "code": ...} on stdout, and exit status 1. Every
message passes config.redact_keys on its way out, so a key pasted into the wrong option is never
echoed whole (click's own usage errors too: NmemGroup).
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import click

from neuralmemory.config import redact_keys
from neuralmemory.errors import InternalError, NmemError

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
brain_option = click.option("--brain", help="The brain to use (default: the current one).")


def handled(command: F) -> F:
    """Map library errors to a clear message and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = command(*args, **kwargs)
            sys.stdout.flush()  # a closed pipe shows here, not at exit
            return result
        except BrokenPipeError:
            raise  # the reader stopped early (`nmem list | head`): click exits 1, silently
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own: a usage error, an exit code, Ctrl-C
        except NmemError as exc:
            _fail(exc, as_json=bool(kwargs.get("as_json")))
        except Exception as exc:  # a bug still gets one line, never a traceback
            log.debug("unexpected error", exc_info=True)
            _fail(InternalError.of(exc), as_json=bool(kwargs.get("as_json")))

    return wrapper  # type: ignore[return-value]


def _fail(exc: NmemError, *, as_json: bool) -> NoReturn:
    message = redact_keys(str(exc))
    if as_json:
        click.echo(json.dumps({"error": message, "code": exc.code}))
    else:
        click.echo(f"Error: {message}", err=True)
    sys.exit(1)


class NmemGroup(click.Group):
    """The root group: click's usage errors ("'nmk_...' is not one of ...") quote what was typed,
    so their messages are redacted before click prints them. Its commands are named with the
    "module:attribute" that holds each (`lazy`) and imported when first asked for."""

    def __init__(self, *args: Any, lazy: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as exc:  # "Did you mean" from every name
            names = self.list_commands(ctx)
            raise click.exceptions.NoSuchCommand(
                exc.command_name, possibilities=names, ctx=ctx
            ) from None

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _redacted_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _redacted_usage_errors():
            return super().invoke(ctx)


@contextmanager
def _redacted_usage_errors() -> Iterator[None]:
    try:
        yield
    except click.ClickException as exc:
        # typed Final, but click reads it only when it prints the error, after this
        exc.message = redact_keys(exc.message)  # type: ignore[misc]
        raise


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def split_tags(values: tuple[str, ...]) -> list[str] | None:
    """--tags a,b --tags c -> [a, b, c]; no option -> None (leave tags as they are)."""
    if not values:
        return None
    return [tag for value in values for tag in value.split(",") if tag.strip()]
