"""The brain switcher every page shows: it makes another brain the current one, as
`nmem brain use` does (the command line and the MCP server use it too from then on)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from neuralmemory.core.brains import use_brain
from neuralmemory.errors import NmemError
from neuralmemory.ui.forms import local_path
from neuralmemory.ui.render import done, error_page

router = APIRouter()


@router.post("/brain", response_model=None)
def switch(
    request: Request, name: Annotated[str, Form()], back: Annotated[str, Form()] = "/"
) -> HTMLResponse | RedirectResponse:
    try:
        use_brain(name)
    except NmemError as exc:
        return error_page(request, exc, title="The brain was not switched")
    # a memory of the brain left behind has no page in this one: its list instead
    target = local_path(back)
    return done("/memories" if target.startswith("/memories/") else target, "switched")
