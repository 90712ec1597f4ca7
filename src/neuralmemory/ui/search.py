"""The search page: recall, with each hit's score and its activation path drawn as a graph.

A search here is a look, not a use: it recalls with `reinforce=False`, so browsing never changes
what the agent's recalls rank first, and writes nothing to sync.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from neuralmemory.core.brains import open_brain
from neuralmemory.core.extract import MEMORY_TYPES
from neuralmemory.core.models import Hit
from neuralmemory.errors import NmemError, NotFound
from neuralmemory.ui import graph
from neuralmemory.ui.forms import tag_list
from neuralmemory.ui.render import page

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def search(
    request: Request,
    q: str = "",
    limit: int = 10,
    type: str = "",
    tags: str = "",
    project: str = "",
) -> HTMLResponse:
    results: list[tuple[Hit, Markup]] = []
    error = None
    if q.strip():
        try:
            results = _recall(q, limit, type, tags, project)
        except NmemError as exc:
            error = str(exc)
    return page(
        request,
        "search.html",
        status=400 if error else 200,
        title="Search",
        q=q,
        limit=limit,
        type=type,
        tags=tags,
        project=project,
        types=MEMORY_TYPES,
        results=results,
        error=error,
    )


def _recall(q: str, limit: int, type: str, tags: str, project: str) -> list[tuple[Hit, Markup]]:
    with open_brain() as brain:
        hits = brain.recall(
            q,
            limit=limit,
            tags=tag_list(tags),
            type=type or None,
            project=project or None,
            reinforce=False,
        )
        ids = {step[7:] for hit in hits for step in hit.path if step.startswith("memory:")}
        previews = {}
        for memory_id in ids:
            try:
                text = brain.get(memory_id).content
            except NotFound:  # gone since recall ranked it
                continue
            previews[memory_id] = text if text is not None else "(encrypted)"
    return [
        (hit, graph.svg(graph.layers(hit, previews), label=f"How recall reached {hit.memory.id}"))
        for hit in hits
    ]
