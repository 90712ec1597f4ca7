"""Run one hook event as Claude Code calls it: its JSON on stdin, our answer on stdout.

Never in the way: whatever goes wrong (input that is not an event object, no brain, a broken
config.toml, a bug, more time than HookOptions.timeout_ms) the answer is nothing at all, exit
status 0, and one line in $NMEM_HOME/logs/hooks.log says what happened. The work (and the import
of the memory core) runs in a thread the caller waits for up to the limit.

The answers (docs/hooks.md lists every field read and written):
  SessionStart, UserPromptSubmit  {"hookSpecificOutput": {"hookEventName", "additionalContext"}}
  Stop, PreCompact                {"decision": "block", "reason"}
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuralmemory import config
from neuralmemory.errors import MSG_EVENT_NOT_JSON, MSG_EVENT_NOT_OBJECT, InvalidInput, NmemError
from neuralmemory.hooks.options import HookOptions, load_options
from neuralmemory.hooks.session import SessionState, load_session, prune_sessions
from neuralmemory.perms import private_dir

if TYPE_CHECKING:
    from neuralmemory.core.brain import Brain
    from neuralmemory.core.project import Project

#: `nmem hook EVENT` -> Claude Code's event name
EVENTS = {
    "session-start": "SessionStart",
    "user-prompt-submit": "UserPromptSubmit",
    "stop": "Stop",
    "pre-compact": "PreCompact",
}
LOG_NAME = "hooks.log"
MAX_LOG_BYTES = 1_000_000  # then it is moved to hooks.log.1, replacing the one before

Answer = dict[str, Any] | None


@dataclass(frozen=True)
class Outcome:
    output: str  # what to print: "" for nothing
    finished: bool  # False: the time limit passed, the work thread is still running


def run_hook(event: str, raw: str) -> Outcome:
    """The text to print for one event (unknown events are the CLI's to refuse)."""
    try:
        options = load_options()
    except NmemError as exc:
        log_line(event, str(exc))
        return Outcome("", True)
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(_answer_text(event, raw, options)))
    worker.daemon = True  # a hung hook must not hold the process: the caller exits without it
    worker.start()
    worker.join(options.timeout_ms / 1000)
    if worker.is_alive():
        log_line(event, f"gave up after {options.timeout_ms} ms (timeout_ms in [hooks])")
        return Outcome("", False)
    return Outcome(result[0] if result else "", True)


def _answer_text(event: str, raw: str, options: HookOptions) -> str:
    try:
        answer = HANDLERS[event](_payload(raw), options)
    except NmemError as exc:
        log_line(event, str(exc))
        return ""
    except Exception as exc:  # a bug: still nothing in the way, and a line to report
        log_line(event, f"unexpected {type(exc).__name__}: {exc}")
        return ""
    return "" if answer is None else json.dumps(answer, ensure_ascii=False)


def _payload(raw: str) -> dict[str, Any]:
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(MSG_EVENT_NOT_JSON.format(reason=exc)) from None
    if not isinstance(payload, dict):
        raise InvalidInput(MSG_EVENT_NOT_OBJECT)
    return payload


def log_line(event: str, message: str) -> None:
    """One line in $NMEM_HOME/logs/hooks.log (keys masked); a log that cannot be written is
    given up on silently: the hook answers nothing either way."""
    from neuralmemory.clock import wall_ms
    from neuralmemory.protocol import iso_ms

    folder = config.home() / "logs"
    path = folder / LOG_NAME
    text = " ".join(config.redact_keys(message).split())
    try:
        private_dir(folder)
        if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
            path.replace(folder / f"{LOG_NAME}.1")
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"{iso_ms(wall_ms())} {event}: {text}\n")
    except OSError:
        return


# ------------------------------------------------------------------------------ the events


def _context(event: str, text: str) -> dict[str, Any]:
    return {"hookSpecificOutput": {"hookEventName": EVENTS[event], "additionalContext": text}}


def _project(payload: dict[str, Any]) -> Project | None:
    from neuralmemory.core.project import detect_project

    cwd = payload.get("cwd")
    return detect_project(Path(cwd) if isinstance(cwd, str) and cwd else Path.cwd())


def _brain() -> Brain:
    """The current brain; a missing one is NotFound (a hook never creates a brain)."""
    from neuralmemory.core.brains import open_brain

    return open_brain(create=False)


def session_start(payload: dict[str, Any], options: HookOptions) -> Answer:
    from neuralmemory.hooks.context import session_block

    prune_sessions()
    state = load_session(payload.get("session_id"))
    if payload.get("source") != "resume":  # a new, cleared or compacted context
        state.injected = set()
    cfg = config.load_config()
    with _brain() as brain:
        found = session_block(brain, _project(payload), options.context_tokens, cfg)
    if found is None:
        state.save()
        return None
    text, ids = found
    state.injected |= set(ids)
    state.save()
    return _context("session-start", text)


def user_prompt_submit(payload: dict[str, Any], options: HookOptions) -> Answer:
    from neuralmemory.hooks.inject import prompt_block

    prompt = payload.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return None
    state = load_session(payload.get("session_id"))
    with _brain() as brain:
        found = prompt_block(brain, prompt, _project(payload), options, state.injected)
    if found is None:
        return None
    text, ids = found
    state.injected |= set(ids)
    state.save()
    return _context("user-prompt-submit", text)


def _ask(payload: dict[str, Any], options: HookOptions, reason: str) -> Answer:
    from neuralmemory.hooks.capture import should_ask

    if options.capture == "off":
        return None
    state: SessionState = load_session(payload.get("session_id"))
    if not should_ask(state, payload.get("transcript_path")):
        return None
    state.save()
    return {"decision": "block", "reason": reason}


def stop(payload: dict[str, Any], options: HookOptions) -> Answer:
    from neuralmemory.hooks.capture import STOP_REASON

    if payload.get("stop_hook_active") is True:  # this stop already continues a block
        return None
    return _ask(payload, options, STOP_REASON)


def pre_compact(payload: dict[str, Any], options: HookOptions) -> Answer:
    from neuralmemory.hooks.capture import PRECOMPACT_REASON

    if payload.get("trigger") != "manual":  # never hold an automatic compaction
        return None
    return _ask(payload, options, PRECOMPACT_REASON)


HANDLERS: dict[str, Callable[[dict[str, Any], HookOptions], Answer]] = {
    "session-start": session_start,
    "user-prompt-submit": user_prompt_submit,
    "stop": stop,
    "pre-compact": pre_compact,
}
