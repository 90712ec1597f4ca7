"""The sync pages: status (hub, this device and the others with their last sync, pending
changes, the last error) with a "sync now" button, and the conflicts with a restore button each.
They call neuralmemory.sync.service, as `nmem sync status|full|conflicts|restore` do."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from neuralmemory.core.brains import current_brain_name
from neuralmemory.errors import HubError, NmemError
from neuralmemory.sync import service
from neuralmemory.ui.autosync import after_change
from neuralmemory.ui.render import done, error_page, page

router = APIRouter()


@router.get("/sync", response_class=HTMLResponse)
def status(request: Request) -> HTMLResponse:
    return page(request, "sync.html", title="Sync", status_=service.status())


@router.post("/sync", response_model=None)
def sync_now(request: Request) -> HTMLResponse | RedirectResponse:
    """A full sync of the current brain; a failure is shown with the status (and stays there as
    the brain's last error when the hub was asked)."""
    try:
        service.run_sync("full")
    except NmemError as exc:
        return page(
            request,
            "sync.html",
            status=502 if isinstance(exc, HubError) else 400,
            title="Sync",
            status_=service.status(),
            error=f"The sync failed: {exc}",
        )
    return done("/sync", "synced")


@router.get("/conflicts", response_class=HTMLResponse)
def conflicts(request: Request) -> HTMLResponse:
    return page(request, "conflicts.html", title="Conflicts", conflicts=service.list_conflicts())


@router.post("/conflicts/{conflict_id}/restore", response_model=None)
def restore(request: Request, conflict_id: str) -> HTMLResponse | RedirectResponse:
    try:
        restored = service.restore(conflict_id)
    except NmemError as exc:
        return error_page(request, exc, title="Nothing was restored")
    after_change(request, current_brain_name())
    record = restored["record"]
    if record["kind"] == "memory":
        return done(f"/memories/{record['id']}", "restored")
    return done("/conflicts", "restored")
