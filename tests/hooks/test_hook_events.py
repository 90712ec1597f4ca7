"""`nmem hook EVENT` fed the JSON Claude Code sends (tests/hooks/fixtures), in a new process:
the exact output contract of each event, and nothing at all whenever there is nothing to say or
something goes wrong (docs/hooks.md)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from helpers.hook_process import FIXTURES, Ran, fixture, log_lines, run_hook, write_config
from neuralmemory.core.brains import open_brain


def _context(ran: Ran, event: str) -> str:
    """The additionalContext of an answer that is exactly Claude Code's context-adding shape."""
    data = ran.json()
    assert ran.code == 0 and list(data) == ["hookSpecificOutput"]
    output = data["hookSpecificOutput"]
    assert list(output) == ["hookEventName", "additionalContext"]
    assert output["hookEventName"] == event
    text: str = output["additionalContext"]
    return text


# ---------------------------------------------------------------------------- SessionStart


def test_session_start_without_a_brain_says_nothing_and_logs_one_line(home: Path) -> None:
    ran = run_hook("session-start", fixture("session_start"))
    assert (ran.code, ran.stdout) == (0, "")
    assert not (home / "brains").exists()  # a hook never creates a brain
    [line] = log_lines(home)
    assert "session-start: Brain not found: default" in line


def test_session_start_with_an_empty_brain_says_nothing(home: Path) -> None:
    open_brain().close()
    ran = run_hook("session-start", fixture("session_start"))
    assert (ran.code, ran.stdout, ran.stderr) == (0, "", "")
    assert log_lines(home) == []


def test_session_start_puts_guidance_first_and_the_project_first(
    project: Path, memories: dict[str, str]
) -> None:
    ran = run_hook("session-start", fixture("session_start", cwd=str(project)))
    lines = _context(ran, "SessionStart").splitlines()
    falcon = "Neural Memory for project falcon"
    assert lines == [
        f"{falcon}: instructions, preferences and decisions (newest first):",
        # the project's own first, newest first; then those of no project
        f"- [decision] We chose PostgreSQL for billing because it has JSONB ({memories['db']})",
        f"- [instruction] Always run make test before committing ({memories['rule']})",
        f"- [preference] Ada prefers tabs in Go code ({memories['tabs']})",
        f"{falcon}: strongest and most recent memories:",
        f"- [fact] The office cat is called Tom ({memories['cat']})",
        "- [fact] Billing deploys happen on Fridays after the 14:00 freeze"
        f" ({memories['deploys']})",
        "(nmem_recall finds more; nmem_remember saves what a later session should know.)",
    ]  # nothing of project heron, and no sync line: no hub is configured


def test_session_start_keeps_within_its_budget(home: Path, memories: dict[str, str]) -> None:
    write_config(home, "[hooks]\ncontext_tokens = 60\n")
    text = _context(run_hook("session-start", fixture("session_start")), "SessionStart")
    body = text.rsplit("\n", 1)[0]  # the footer is outside the budget
    assert len(body) / 4 <= 60
    assert memories["tabs"] in body and memories["cat"] not in body


def test_session_start_never_injects_secrets_or_private_text(home: Path) -> None:
    with open_brain() as brain:
        brain.remember("Deploy notes: <private>door code 4711</private> use the blue runner")
        # written before remember refused secrets (or synced from an older device)
        body = {
            "content": "staging key AKIAABCDEFGHIJKLMNOP",
            "encrypted": False,
            "type": "fact",
            "tags": [],
            "priority": 5,
            "created_at": 1,
            "event_at": None,
            "expires_at": None,
        }
        brain.write_record("memory", "m-0123456789abcdef01234567", body=body)
    text = _context(run_hook("session-start", fixture("session_start")), "SessionStart")
    assert "use the blue runner" in text
    assert "4711" not in text and "private" not in text
    assert "AKIA" not in text and "m-0123456789abcdef01234567" not in text


def test_session_start_adds_one_line_of_sync_state_when_a_hub_is_configured(
    home: Path, memories: dict[str, str]
) -> None:
    write_config(home, 'hub_url = "http://127.0.0.1:9"\n')
    text = _context(run_hook("session-start", fixture("session_start")), "SessionStart")
    assert "Sync: 7 changes not pushed yet; never synced." in text.splitlines()


# ---------------------------------------------------------------------------- UserPromptSubmit


def test_a_matching_prompt_gets_its_memories_once_per_session(
    project: Path, memories: dict[str, str]
) -> None:
    event = fixture("user_prompt_submit", session_id="prompt-session", cwd=str(project))
    text = _context(run_hook("user-prompt-submit", event), "UserPromptSubmit")
    assert text.splitlines() == [
        "Neural Memory: memories related to this prompt (best first):",
        "- [fact] Billing deploys happen on Fridays after the 14:00 freeze"
        f" ({memories['deploys']})",
    ]
    again = run_hook("user-prompt-submit", event)  # the session already has it
    assert (again.code, again.stdout) == (0, "")
    other = run_hook("user-prompt-submit", {**event, "session_id": "another-session"})
    assert memories["deploys"] in _context(other, "UserPromptSubmit")


def test_memories_from_session_start_are_not_injected_again(
    project: Path, memories: dict[str, str]
) -> None:
    start = run_hook("session-start", fixture("session_start", cwd=str(project)))
    assert memories["deploys"] in _context(start, "SessionStart")
    ran = run_hook("user-prompt-submit", fixture("user_prompt_submit", cwd=str(project)))
    assert (ran.code, ran.stdout) == (0, "")


def test_an_unrelated_prompt_gets_nothing(memories: dict[str, str]) -> None:
    for prompt in ("hello, how are you?", "Fix the typo in the README", "   "):
        ran = run_hook("user-prompt-submit", fixture("user_prompt_submit", prompt=prompt))
        assert (ran.code, ran.stdout, ran.stderr) == (0, "", "")


def test_at_most_five_hits_above_the_floor(home: Path) -> None:
    with open_brain() as brain:
        for n in range(8):
            brain.remember(f"Kestrel service note number {n}: kestrel runs on host k{n}")
    text = _context(
        run_hook("user-prompt-submit", fixture("user_prompt_submit", prompt="kestrel")),
        "UserPromptSubmit",
    )
    assert len(text.splitlines()) == 1 + 5


def test_a_huge_prompt_and_a_private_one(memories: dict[str, str]) -> None:
    huge = "When do billing deploys happen? " + "x" * 200_000
    ran = run_hook("user-prompt-submit", fixture("user_prompt_submit", prompt=huge))
    assert memories["deploys"] in _context(ran, "UserPromptSubmit")
    private = "<private>billing deploys fridays</private> hello"
    ran = run_hook(
        "user-prompt-submit", fixture("user_prompt_submit", prompt=private, session_id="p2")
    )
    assert (ran.code, ran.stdout) == (0, "")  # its only matching words were private


# ---------------------------------------------------------------------------- Stop, PreCompact


def _stop(transcript: str, **changes: object) -> dict[str, object]:
    return fixture("stop", transcript_path=str(FIXTURES / transcript), **changes)


def test_stop_asks_once_when_the_session_worked_and_saved_nothing(home: Path) -> None:
    ran = run_hook("stop", _stop("transcript_worked.jsonl"))
    assert ran.code == 0
    answer = ran.json()
    assert list(answer) == ["decision", "reason"] and answer["decision"] == "block"
    assert "nmem_remember" in answer["reason"]
    assert run_hook("stop", _stop("transcript_worked.jsonl")).stdout == ""  # once per session
    fresh = run_hook("stop", _stop("transcript_worked.jsonl", session_id="other"))
    assert fresh.json()["decision"] == "block"


def test_stop_does_not_ask_when_it_should_not(home: Path) -> None:
    for event in (
        _stop("transcript_saved.jsonl"),  # it saved
        _stop("transcript_chat.jsonl"),  # no work: only nmem's own tools
        _stop("missing.jsonl"),  # no transcript
        _stop("transcript_worked.jsonl", stop_hook_active=True),  # already continuing
    ):
        ran = run_hook("stop", event)
        assert (ran.code, ran.stdout, ran.stderr) == (0, "", "")


def test_capture_off_never_asks(home: Path) -> None:
    write_config(home, '[hooks]\ncapture = "off"\n')
    assert run_hook("stop", _stop("transcript_worked.jsonl")).stdout == ""


def test_pre_compact_holds_a_manual_compaction_once_and_never_an_automatic_one(
    home: Path,
) -> None:
    transcript = str(FIXTURES / "transcript_worked.jsonl")
    auto = fixture("pre_compact", trigger="auto", transcript_path=transcript)
    assert run_hook("pre-compact", auto).stdout == ""
    manual = fixture("pre_compact", transcript_path=transcript)
    answer = run_hook("pre-compact", manual).json()
    assert answer["decision"] == "block" and "/compact again" in answer["reason"]
    assert run_hook("pre-compact", manual).stdout == ""
    assert run_hook("stop", fixture("stop", transcript_path=transcript)).stdout == ""


# ---------------------------------------------------------------------------- never in the way


def test_bad_input_answers_nothing_and_logs_one_line_each(home: Path) -> None:
    open_brain().close()
    for event, payload in (
        ("session-start", "{not json"),
        ("user-prompt-submit", '["a", "list"]'),
        ("stop", ""),
    ):
        ran = run_hook(event, payload)
        assert (ran.code, ran.stdout, ran.stderr) == (0, "", "")
    lines = log_lines(home)
    assert len(lines) == 3
    assert "session-start: the event is not JSON" in lines[0]
    assert "user-prompt-submit: the event is not a JSON object" in lines[1]


def test_a_broken_setting_is_logged_with_the_key(home: Path) -> None:
    write_config(home, "[hooks]\ncontext_tokens = -5\n")
    ran = run_hook("session-start", fixture("session_start"))
    assert (ran.code, ran.stdout) == (0, "")
    [line] = log_lines(home)
    assert "[hooks] context_tokens is -5; it must be from 0 to 20000" in line


def test_a_hook_that_runs_out_of_time_answers_nothing(home: Path, memories: dict[str, str]) -> None:
    write_config(home, "[hooks]\ntimeout_ms = 200\n")
    holder = sqlite3.connect(home / "brains" / "default.db")
    # In WAL mode readers pass an ordinary write lock; this one shuts them out past the limit.
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        ran = run_hook("session-start", fixture("session_start"))
    finally:
        holder.rollback()
        holder.close()
    assert (ran.code, ran.stdout) == (0, "")
    [line] = log_lines(home)
    assert "session-start: gave up after 200 ms" in line


def test_the_fixtures_are_the_events_claude_code_sends() -> None:
    common = {"session_id", "transcript_path", "cwd", "permission_mode", "hook_event_name"}
    for name, own in (
        ("session_start", {"source", "model"}),
        ("user_prompt_submit", {"prompt"}),
        ("stop", {"stop_hook_active"}),
        ("pre_compact", {"trigger", "custom_instructions"}),
    ):
        assert set(json.loads((FIXTURES / f"{name}.json").read_text())) == common | own
