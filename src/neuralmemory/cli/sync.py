"""`nmem sync ...`: parse, call neuralmemory.sync.service, format. Nothing else lives here.

--json prints exactly what the service returns (docs/sync.md documents the shapes). A progress bar
is drawn on a terminal only; a pipe gets the result and nothing else. The API key is only ever
shown masked, because the service never hands it out whole.

Just over ~400 lines: it is the whole `nmem sync` group, each command beside the text form of the
result it prints; splitting off the formatting would separate each command from what it shows.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from neuralmemory.cli.common import brain_option, emit_json, handled, json_option
from neuralmemory.config import STRATEGIES
from neuralmemory.core.models import KeyStatus
from neuralmemory.core.timespan import short_time
from neuralmemory.errors import MSG_ALONE, MSG_ELSEWHERE, MSG_SPLIT
from neuralmemory.sync.results import (
    BrainSyncFailed,
    ConfigView,
    ConflictView,
    Restored,
    Status,
    SyncFailed,
    SyncResult,
)


class RestoredAndSynced(Restored):
    """`nmem sync restore --json`: the restore, and the auto-sync it ran (None: auto-sync off)."""

    sync: SyncResult | SyncFailed | None


def _emit(data: Any, as_json: bool, human: Callable[[Any], str]) -> None:
    if as_json:
        emit_json(data)
    else:
        click.echo(human(data))


@click.group()
def sync() -> None:
    """Sync brains through your hub: seed, push, pull, full, verify, repair, status, conflicts."""


# ---------------------------------------------------------------- actions


def _action(name: str, doc: str) -> click.Command:
    @click.option(
        "--strategy",
        type=click.Choice(STRATEGIES),
        help="Conflict strategy for this call (default: conflict_strategy from config).",
    )
    @brain_option
    @click.option("--all", "all_brains", is_flag=True, help="Every local brain, one after another.")
    @json_option
    @handled
    def command(strategy: str | None, brain: str | None, all_brains: bool, as_json: bool) -> None:
        from neuralmemory.sync import indexer, service

        with _progress(enabled=not as_json) as bar:
            if all_brains:
                results = service.run_sync_all(name, strategy=strategy, progress=bar)
                for done in results:
                    if "error" not in done:
                        indexer.start(done["brain"])  # what each pull left to build
                _emit({"brains": results}, as_json, lambda d: "\n".join(map(_report, d["brains"])))
                if any("error" in r for r in results):
                    sys.exit(1)
                return
            progress = _indexing(brain, bar)
            result = service.run_sync(name, strategy=strategy, brain=brain, progress=progress)
        indexer.start(result["brain"])  # what the pull left to build, if its indexer is gone
        _emit(result, as_json, _report)
        if name == "verify" and not result["verified"]:
            sys.exit(3)  # scripts can tell "not in sync" from an error

    command.__doc__ = doc
    return click.command(name)(command)


for _name, _doc in (
    ("seed", "Make records written before sync was set up eligible for the next push."),
    ("push", "Push pending changes (conflicts refused by the hub are resolved and re-pushed)."),
    ("pull", "Pull what changed on the hub since the last sync, resolving conflicts."),
    ("full", "Pull, resolve, push, then verify by digest; repair only where they differ."),
    ("verify", "Compare this brain's digest with the hub's (exit 3 when they differ)."),
    ("repair", "Exchange the records of the digest buckets that differ, then verify."),
):
    sync.add_command(_action(_name, _doc))


def _report(r: SyncResult | BrainSyncFailed) -> str:
    if "error" in r:
        return f"{r['brain']}: error: {r['error']}"
    if r["action"] == "seed":
        return f"{r['brain']}: {r['seeded']} records marked for push; {r['pending']} pending"
    parts = [
        f"pulled {r['pulled']}",
        f"pushed {r['pushed']}",
        f"conflicts {r['conflicts']}",
        f"pending {r['pending']}",
    ]
    if r["repaired"]:
        parts.append(f"repaired {r['repaired']}")
    if r["quarantined"]:
        parts.append(f"quarantined {r['quarantined']} (see nmem sync status)")
    verdict = {True: "in sync", False: "NOT in sync", None: ""}[r["verified"]]
    joined = f" (joined hub brain {r['joined']})" if r["joined"] else ""
    line = f"{r['brain']}: {r['action']} {', '.join(parts)}{joined} in {r['duration_ms']} ms"
    line = f"{line} - {verdict}" if verdict else line
    return _with_elsewhere(_with_split(line, r["brain"], r.get("split")), r)


def _last_sync(r: SyncResult) -> str:
    """When, and a summary that fits 80 columns with its label (--json has the whole report).
    Only a sync that ended is recorded here; a failure is the `last error` line."""
    when = f"{short_time(r['started_at'])} UTC, {r['action']}"
    verdict = {True: "in sync", False: "NOT in sync", None: "done"}[r["verified"]]
    return f"{when}: {verdict} (pulled {r['pulled']:,}, pushed {r['pushed']:,})"


def _with_split(line: str, name: str, split: list[str] | None) -> str:
    if not split:
        return line
    return f"{line}\n{MSG_SPLIT.format(name=name, ids=', '.join(split))}"


def _with_elsewhere(line: str, r: SyncResult) -> str:
    """The devices of the account that sync another brain of this name (verify, repair)."""
    if r.get("alone"):
        return f"{line}\n{MSG_ALONE.format(mine=r['hub_brain'], name=r['brain'])}"
    lines = [line]
    for device in r.get("elsewhere") or []:
        lines.append(
            MSG_ELSEWHERE.format(
                device=device["name"],
                device_id=device["device_id"],
                name=r["brain"],
                brain_id=device["brain_id"],
                when=device["last_sync_at"] or "never",
            )
        )
    return "\n".join(lines)


Progress = Callable[[str, int, int | None], None]


def _indexing(brain: str | None, bar: Progress | None) -> Progress:
    """The progress callback, which also starts the graph indexer on another core as soon as a
    pull brings enough records to be stored text first (sync/indexer.py)."""
    from neuralmemory.core.brains import current_brain_name
    from neuralmemory.core.indexing import text_first
    from neuralmemory.sync import indexer

    started: set[str] = set()

    def update(phase: str, done: int, total: int | None) -> None:
        if phase == "pull" and not started and total is not None and text_first(total):
            name = brain or current_brain_name()
            started.add(name)
            indexer.start(name, force=True)
        if bar is not None:
            bar(phase, done, total)

    return update


@contextmanager
def _progress(*, enabled: bool) -> Iterator[Progress | None]:
    """A rich progress bar on a terminal; None (nothing drawn) on a pipe or with --json."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True, console=None) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


# ---------------------------------------------------------------- status and conflicts


@sync.command()
@brain_option
@json_option
@handled
def status(brain: str | None, as_json: bool) -> None:
    """Enabled, hub, masked key, devices, pending changes, conflicts, last result, hub usage."""
    from neuralmemory.sync import service

    _emit(service.status(brain), as_json, _status_text)


def _status_text(s: Status) -> str:
    off = f"off: {s['warning']}" if s["warning"] else "not configured (nmem sync config setup)"
    lines = [
        f"sync:        {'enabled' if s['enabled'] else off}",
        f"hub:         {s['hub_url'] or '-'}",
        f"api key:     {s['api_key'] or '-'}",
        f"strategy:    {s['conflict_strategy']}   auto-sync: {'on' if s['auto_sync'] else 'off'}",
        f"device:      {s['device']['name']} ({s['device']['device_id']})",
        f"brain:       {s['brain']['name']} ({s['brain']['remote_id']})"
        + (", end-to-end encrypted" if s["brain"]["e2e"] else ""),
        f"pending:     {s['pending']}   conflicts: {s['conflicts']}   cursor: {s['cursor']}",
    ]
    if s["graph_waiting"]:  # a pull stored memories text first: recall finds them by words
        lines.append(f"indexing:    concept graph of {s['graph_waiting']:,} memories to build")
    if s["keys"]["keyed"]:
        lines.append(f"encryption:  {_keys_text(s['keys'])}")
    for item in s["quarantined"]:
        lines.append(f"quarantined: {item['record']}: {item['reason']}")
    last = s["last_sync"]
    if last:
        lines.append(f"last sync:   {_last_sync(last)}")
    if s["last_error"]:
        lines.append(f"last error:  {s['last_error']['at']} {s['last_error']['error']}")
    hub = s["hub"]
    if hub and "error" not in hub:
        usage = hub["usage"]
        lines.append(
            f"hub:         {hub['implementation']} {hub['version']}, tier {hub['tier']}, "
            f"{usage['brains']} brains, {usage['records']} records, {usage['bytes']:,} bytes"
        )
        lines[-1] = _with_split(lines[-1], s["brain"]["name"], hub["split"])
        for device in hub["devices"]:
            lines.append(
                f"  device     {device['name']} ({device['device_id']}, {device['platform']}) "
                f"last sync {device['last_sync_at'] or 'never'}"
            )
    elif hub:  # an answer that is an error (401, 403, ...) is not "unreachable"
        lines.append(f"hub:         {'' if hub['reachable'] else 'unreachable: '}{hub['error']}")
    return "\n".join(lines)


def _keys_text(keys: KeyStatus) -> str:
    text = f"key {(keys['fingerprint'] or '?')[:8]}, {keys['keys_held']} held here"
    if keys["missing_key"]:
        text += " -- this device lacks the brain's key: nmem keys receive CODE"
    return text


@sync.command()
@brain_option
@json_option
@handled
def conflicts(brain: str | None, as_json: bool) -> None:
    """List conflict copies: the losing side of each conflict, kept whole and restorable."""
    from neuralmemory.sync import service

    found = service.list_conflicts(brain)
    _emit({"conflicts": found}, as_json, _conflicts_text)


def _conflicts_text(data: dict[str, list[ConflictView]]) -> str:
    if not data["conflicts"]:
        return "No conflicts."
    lines = []
    for c in data["conflicts"]:
        current = c["current"]["preview"] if c["current"] else "[none]"
        lines.append(
            f"{c['id']}  {c['record']['kind']} {c['record']['id']} ({c['strategy']})\n"
            f"    kept:  {current}\n    lost:  {c['loser']['preview']}  "
            f"[{c['loser']['device_id']}]"
        )
    lines.append("Restore a lost side with: nmem sync restore ID")
    return "\n".join(lines)


@sync.command()
@click.argument("conflict_id")
@brain_option
@json_option
@handled
def restore(conflict_id: str, brain: str | None, as_json: bool) -> None:
    """Make a conflict's losing side current again (the side it replaces is kept as a copy);
    with auto-sync on, sync it at once."""
    from neuralmemory.sync import service

    restored = service.restore(conflict_id, brain)
    # A command's threads and timers die with it: the auto-sync runs now, in this process.
    result = RestoredAndSynced(**restored, sync=service.sync_now_if_auto(brain))
    _emit(result, as_json, _restored)


def _restored(r: RestoredAndSynced) -> str:
    line = f"restored {r['record']['kind']} {r['record']['id']} from {r['restored']}"
    if r["kept"]:
        line += f"; the replaced version is kept as {r['kept']}"
    if r["sync"] is not None:
        synced = r["sync"]
        line += "\n" + (
            f"not synced yet: {synced['error']}" if "error" in synced else _report(synced)
        )
    return line


# ---------------------------------------------------------------- config


@sync.group("config")
def config_group() -> None:
    """Show or change the sync settings, or print the set-up steps."""


@config_group.command("get")
@json_option
@handled
def config_get(as_json: bool) -> None:
    """The sync settings (the API key masked)."""
    from neuralmemory.sync import service

    _emit(service.get_config(), as_json, _config_text)


@config_group.command("set")
@click.option("--hub-url", help="https://your-hub, or http:// on loopback/LAN ('' clears).")
@click.option("--api-key", help="nmk_... from the hub's register or keys endpoint ('' clears).")
@click.option(
    "--ca-cert",
    metavar="FILE",
    help="Also trust this CA certificate (PEM) for an https hub, e.g. self-signed ('' clears).",
)
@click.option("--conflict-strategy", type=click.Choice(STRATEGIES))
@click.option("--auto-sync", type=click.Choice(["on", "off"]), help="Background sync after writes.")
@json_option
@handled
def config_set(
    hub_url: str | None,
    api_key: str | None,
    ca_cert: str | None,
    conflict_strategy: str | None,
    auto_sync: str | None,
    as_json: bool,
) -> None:
    """Change sync settings; sync turns on once hub_url (and, if the hub needs one, api_key) is set.

    Asks the hub (GET /v1/hub/info) whether it needs a key, and says so when one is missing.
    """
    from neuralmemory.sync import service

    result = service.configure(
        hub_url=hub_url,
        api_key=api_key,
        ca_cert=ca_cert,
        conflict_strategy=conflict_strategy,
        auto_sync=None if auto_sync is None else auto_sync == "on",
    )
    _emit(result, as_json, _config_text)


def _config_text(c: ConfigView) -> str:
    lines = [
        f"enabled:           {'yes' if c['enabled'] else 'no'}",
        f"hub_url:           {c['hub_url'] or '-'}",
        f"api_key:           {c['api_key'] or '-'}",
        f"conflict_strategy: {c['conflict_strategy']}",
        f"auto_sync:         {'on' if c['auto_sync'] else 'off'}",
        f"device:            {c['device_name']} ({c['device_id']})",
        f"file:              {c['config_file']}",
    ]
    if c["ca_cert"]:
        lines.insert(3, f"ca_cert:           {c['ca_cert']}")
    if c["warning"]:
        lines.append(f"warning:           {c['warning']}")
    return "\n".join(lines)


@sync.command()
@click.argument("target", metavar="CODE@HOST:PORT")
@json_option
@handled
def pair(target: str, as_json: bool) -> None:
    """Pair with a LAN hub: the line `nmem serve --lan` or `nmem hub pair` printed there."""
    from neuralmemory.sync import service

    _emit(service.pair(target), as_json, lambda c: _config_text(c) + "\npaired")


@config_group.command("setup")
@json_option
@handled
def config_setup(as_json: bool) -> None:
    """Step-by-step instructions for where you are: no hub yet, hub but no key, or ready."""
    from neuralmemory.sync import service

    _emit(
        service.setup_instructions(),
        as_json,
        lambda s: "\n".join(f"{n}. {step}" for n, step in enumerate(s["steps"], 1)),
    )
