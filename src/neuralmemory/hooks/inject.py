"""The UserPromptSubmit block: memories related to what the user just asked.

Recall runs on the prompt (its `<private>` spans cut, at most MAX_QUERY_CHARS) without
reinforcing anything: a hook that wrote on every prompt would make every prompt a change to sync.
In a project, only its memories and those of no project count, its own first (recall's
`project`); and only hits scoring at least the floor (HookOptions.min_score); at most
MAX_HITS of them, within the budget, and never one this session already received. Nothing
relevant: no block.
"""

from __future__ import annotations

from neuralmemory.core.brain import Brain
from neuralmemory.core.checks import MAX_QUERY_CHARS
from neuralmemory.core.privacy import strip_private
from neuralmemory.core.project import Project
from neuralmemory.hooks.block import Block
from neuralmemory.hooks.options import HookOptions

MAX_HITS = 5
CANDIDATES = 20  # hits read before the floor and the session's repeats are taken out


def prompt_block(
    brain: Brain,
    prompt: str,
    project: Project | None,
    options: HookOptions,
    already: set[str],
) -> tuple[str, list[str]] | None:
    query = strip_private(prompt)[:MAX_QUERY_CHARS].strip()
    if not query:
        return None
    key = project.key if project else None
    hits = brain.recall(query, limit=CANDIDATES, reinforce=False, project=key)
    block = Block(options.prompt_tokens)
    block.add_section(
        "Neural Memory: memories related to this prompt (best first):",
        [h.memory for h in hits if h.score >= options.min_score],
        skip=already,
        most=MAX_HITS,
    )
    text = block.text()
    return None if text is None else (text, block.ids)
