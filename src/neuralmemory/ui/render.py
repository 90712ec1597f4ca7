"""Pages as HTML: the Jinja2 templates shipped in the package, and what every page shows (the
navigation, the brain switcher, a notice after a change, the CSRF token for its forms)."""

from __future__ import annotations

from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from neuralmemory.core.brains import current_brain_name, list_brains
from neuralmemory.core.timespan import short_time
from neuralmemory.errors import NmemError, NotFound
from neuralmemory.protocol import iso_ms
from neuralmemory.ui.guard import Secrets

ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("neuralmemory.ui", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,  # a misspelt name is an error in the tests, not a blank
    trim_blocks=True,
    lstrip_blocks=True,
)

#: what a page says after the change that led to it (`?done=`); anything else says nothing
NOTICES = {
    "edited": "Edited: a new version of this memory (it syncs like any edit).",
    "unchanged": "Nothing changed: the form held what the memory already says.",
    "superseded": "This memory now supersedes the old one, which stays in history, out of recall.",
    "forgot": "Forgotten: the deletion syncs to your other devices, so it never comes back.",
    "restored": "Restored the lost side of the conflict; what it replaced is kept as a copy.",
    "synced": "Synced with the hub.",
    "switched": "Switched brain: the command line uses it too now (nmem brain use).",
}


def when(ms: int | None) -> str:
    """Epoch milliseconds as the pages show them: to the minute, in UTC."""
    return "-" if ms is None else short_time(iso_ms(ms))


ENV.filters["when"] = when
ENV.filters["when_iso"] = short_time


def page(request: Request, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
    keys: Secrets = request.app.state.keys
    notice = NOTICES.get(request.query_params.get("done", ""))
    html = ENV.get_template(template).render(
        csrf=keys.csrf,
        here=request.url.path,
        brains=list_brains(),
        current=current_brain_name(),
        notice=notice,
        **{"error": None, **values},
    )
    return HTMLResponse(html, status_code=status)


def error_page(
    request: Request, exc: NmemError, *, title: str = "That did not work"
) -> HTMLResponse:
    status = 404 if isinstance(exc, NotFound) else 400
    return page(request, "error.html", status=status, title=title, error=str(exc))


def done(path: str, what: str) -> RedirectResponse:
    """After a change, the page to look at, saying what was done (POST, then GET)."""
    return RedirectResponse(f"{path}?done={what}", status_code=303)
