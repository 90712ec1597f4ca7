"""After a change made from the UI: the auto-sync the command line would arm, on the server's own
debounced scheduler (a long-lived process, like the MCP server: sync/auto.py)."""

from __future__ import annotations

from fastapi import Request

from neuralmemory.sync import service
from neuralmemory.sync.auto import AutoSync


def after_change(request: Request, brain: str) -> None:
    scheduler: AutoSync | None = request.app.state.scheduler
    service.after_write(brain, scheduler)
