"""The UI's web app: its pages, its stylesheet and script (served from the package: no CDN, it
works offline), and the guard in front of everything (ui/guard.py)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from neuralmemory.errors import InvalidInput, NmemError, NotFound
from neuralmemory.sync.auto import AutoSync
from neuralmemory.ui import brains, memories, search, syncing
from neuralmemory.ui.guard import ASGIApp, Guard, Secrets
from neuralmemory.ui.render import error_page


def create_app(keys: Secrets, scheduler: AutoSync | None = None) -> ASGIApp:
    """`scheduler`: the auto-sync armed after each change (None: never sync by itself)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.keys = keys
    app.state.scheduler = scheduler
    app.mount("/static", StaticFiles(packages=[("neuralmemory.ui", "static")]), name="static")
    for module in (search, memories, syncing, brains):
        app.include_router(module.router)

    @app.exception_handler(NmemError)
    async def library_error(request: Request, exc: NmemError) -> HTMLResponse:
        return error_page(request, exc)

    @app.exception_handler(RequestValidationError)
    async def bad_form(request: Request, exc: RequestValidationError) -> HTMLResponse:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'][1:]))}: {error['msg']}" for error in exc.errors()
        )
        return error_page(request, InvalidInput(problems), title="That was not understood")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> HTMLResponse:
        if exc.status_code == 404:
            return error_page(request, NotFound("No such page"), title="Not found")
        return HTMLResponse(str(exc.detail), status_code=exc.status_code)

    return Guard(app, keys)
