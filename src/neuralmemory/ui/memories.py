"""The memory pages: the list (a timeline, with the filters of `nmem list`), one memory with its
history and links, and the changes made from it: edit, forget, supersede. Each calls the Brain
method the command line calls (core/brain.py, core/browse.py)."""

from __future__ import annotations

from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from neuralmemory.clock import wall_ms
from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import open_brain
from neuralmemory.core.browse import list_memories, show
from neuralmemory.core.extract import MEMORY_TYPES
from neuralmemory.core.models import Memory
from neuralmemory.core.timespan import parse_window
from neuralmemory.errors import MSG_UI_SUPERSEDE_WITH, InvalidInput, NmemError, NotFound
from neuralmemory.ui.autosync import after_change
from neuralmemory.ui.forms import tag_list
from neuralmemory.ui.render import done, error_page, page, when

router = APIRouter(prefix="/memories")


@router.get("", response_class=HTMLResponse)
def memory_list(
    request: Request,
    tags: str = "",
    type: str = "",
    project: str = "",
    since: str = "",
    until: str = "",
    limit: int = 20,
    before: str = "",
    everything: Annotated[str, Query(alias="all")] = "",  # superseded and expired ones too
) -> HTMLResponse:
    filters = {"tags": tags, "type": type, "project": project, "since": since, "until": until}
    try:
        start, end = parse_window(since or None, until or None, wall_ms())
        with open_brain() as brain:
            found = list_memories(
                brain,
                limit=limit,
                tags=tag_list(tags),
                type=type or None,
                project=project or None,
                since=start,
                until=end,
                before=before or None,
                everything=bool(everything),
            )
    except NmemError as exc:
        return page(
            request,
            "list.html",
            status=404 if isinstance(exc, NotFound) else 400,
            title="Memories",
            days=[],
            more=None,
            filters=filters,
            limit=limit,
            all=everything,
            types=MEMORY_TYPES,
            error=str(exc),
        )
    days = [
        (day, list(memories))
        for day, memories in groupby(found.memories, key=lambda m: when(m.created_at)[:10])
    ]
    return page(
        request,
        "list.html",
        title="Memories",
        days=days,
        more=found.next_before,
        filters=filters,
        limit=limit,
        all=everything,
        types=MEMORY_TYPES,
    )


@router.get("/{memory_id}", response_class=HTMLResponse)
def memory_page(request: Request, memory_id: str) -> HTMLResponse:
    with open_brain() as brain:
        detail = show(brain, memory_id)
        linked = [(_held(brain, other), count) for other, count in detail.links]
        replaced = [_held(brain, old) for old in detail.supersedes]
        successor = _held(brain, detail.memory.superseded_by)
    return page(
        request,
        "memory.html",
        title=detail.memory.id,
        detail=detail,
        memory=detail.memory,
        linked=linked,
        replaced=replaced,
        successor=successor,
        types=MEMORY_TYPES,
    )


def _held(brain: Brain, memory_id: str | None) -> Memory | str | None:
    """The memory, or its bare id when this device no longer holds it."""
    if memory_id is None:
        return None
    try:
        return brain.get(memory_id)
    except NotFound:
        return memory_id


@router.post("/{memory_id}/edit", response_model=None)
def edit(
    request: Request,
    memory_id: str,
    priority: Annotated[int, Form()],
    type: Annotated[str, Form()],
    tags: Annotated[str, Form()] = "",
    content: Annotated[str | None, Form()] = None,
) -> HTMLResponse | RedirectResponse:
    try:
        with open_brain() as brain:
            before = brain.get(memory_id)
            after = brain.edit(
                memory_id,
                content=content,
                tags=tag_list(tags) or [],
                priority=priority,
                type=type,
            )
            name = brain.name
    except NmemError as exc:
        return error_page(request, exc, title="The edit was not made")
    if _same(before, after):
        return done(f"/memories/{memory_id}", "unchanged")
    after_change(request, name)
    return done(f"/memories/{memory_id}", "edited")


def _same(a: Memory, b: Memory) -> bool:
    return (a.content, a.tags, a.priority, a.type) == (b.content, b.tags, b.priority, b.type)


@router.get("/{memory_id}/forget", response_class=HTMLResponse)
def confirm_forget(request: Request, memory_id: str) -> HTMLResponse:
    """What forgetting would delete (a dry run), with the button that does it."""
    with open_brain() as brain:
        would = brain.forget(memory_id, dry_run=True)
    return page(request, "forget.html", title=f"Forget {memory_id}?", would=would)


@router.post("/{memory_id}/forget", response_model=None)
def forget(request: Request, memory_id: str) -> HTMLResponse | RedirectResponse:
    try:
        with open_brain() as brain:
            brain.forget(memory_id)
            name = brain.name
    except NmemError as exc:
        return error_page(request, exc, title="Nothing was forgotten")
    after_change(request, name)
    return done("/memories", "forgot")


@router.post("/{memory_id}/supersede", response_model=None)
def supersede(
    request: Request,
    memory_id: str,
    content: Annotated[str, Form()] = "",
    existing: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """Replace this memory: by a new one written here (it keeps this one's type, tags, priority,
    project and encryption), or by an existing memory."""
    try:
        if bool(content.strip()) == bool(existing.strip()):
            raise InvalidInput(MSG_UI_SUPERSEDE_WITH)
        with open_brain() as brain:
            old = brain.get(memory_id)
            if existing.strip():
                new = brain.edit(existing.strip(), supersedes=memory_id)
            else:
                new = brain.remember(
                    content,
                    # encrypted like the old one (its page offers this only with the key here)
                    encrypted=old.encrypted,
                    type=None if old.encrypted else old.type,
                    tags=old.tags,
                    priority=old.priority,
                    project=old.project,
                    supersedes=memory_id,
                ).memory
            name = brain.name
    except NmemError as exc:
        return error_page(request, exc, title="Nothing was superseded")
    after_change(request, name)
    return done(f"/memories/{new.id}", "superseded")
