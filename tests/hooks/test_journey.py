"""A session's journey through the hooks, each a new process as Claude Code runs them: a brain
with memories of two projects, a session in one of them (nothing of the other), prompts that
match and one that does not, the Stop that asks once, and the save that ends the asking."""

from __future__ import annotations

from pathlib import Path

from helpers.hook_process import FIXTURES, fixture, run_hook
from neuralmemory.core.brains import open_brain


def test_a_session_in_project_falcon(
    project: Path, memories: dict[str, str], tmp_path: Path
) -> None:
    session = {"session_id": "journey", "cwd": str(project)}
    start = run_hook("session-start", fixture("session_start", **session)).json()
    block = start["hookSpecificOutput"]["additionalContext"]
    assert memories["rule"] in block and memories["deploys"] in block
    assert memories["heron"] not in block and memories["heron-rule"] not in block

    # a later memory, then a prompt about it: injected once, with nothing repeated
    with open_brain() as brain:
        new = brain.remember(
            "The falcon staging database is reset every Monday", project="github.com/ada/falcon"
        )
    prompt = fixture("user_prompt_submit", prompt="when is the staging database reset?", **session)
    context = run_hook("user-prompt-submit", prompt).json()["hookSpecificOutput"]
    lines = context["additionalContext"].splitlines()[1:]
    assert lines[0].startswith("- [fact] The falcon staging database is reset every Monday")
    assert new.memory.id in lines[0]
    assert not any(memories[name] in line for line in lines for name in ("db", "rule"))
    assert run_hook("user-prompt-submit", prompt).stdout == ""
    unrelated = fixture("user_prompt_submit", prompt="thanks, that is all", **session)
    assert run_hook("user-prompt-submit", unrelated).stdout == ""

    # the agent worked and saved nothing: asked once; after saving, a new session is not asked
    worked = str(FIXTURES / "transcript_worked.jsonl")
    stop = fixture("stop", transcript_path=worked, **session)
    assert run_hook("stop", stop).json()["decision"] == "block"
    assert run_hook("stop", {**stop, "stop_hook_active": True}).stdout == ""
    saved = str(FIXTURES / "transcript_saved.jsonl")
    assert run_hook("stop", {**stop, "session_id": "next", "transcript_path": saved}).stdout == ""
