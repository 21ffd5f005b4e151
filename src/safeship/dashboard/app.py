"""The dashboard web app (FastAPI): server-rendered pages, local assets, bundle files.

Everything it serves comes from this machine: templates and CSS are package data, plots
and the lineage graph are inline SVG, report files are read from ``reports/`` (and only
from there). Pages read the registry on every request; nothing here writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from safeship.dashboard.context import Context
from safeship.dashboard.site import Site
from safeship.errors import InputError, NotFoundError

STATIC = Path(__file__).parent / "static"


def safe_report_file(reports: Path, relative: str) -> Path:
    """The file at ``reports/relative``; NotFoundError for anything outside or missing."""
    root = reports.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise NotFoundError(f"no report file {relative!r} under {reports}")
    return target


def _page(render: Callable[[], str]) -> HTMLResponse:
    try:
        return HTMLResponse(render())
    except NotFoundError as error:
        raise HTTPException(status_code=404, detail=str(error)) from error
    except InputError as error:
        raise HTTPException(status_code=400, detail=str(error)) from error


def create_app(ctx: Context, *, watch_ledger: bool = True) -> FastAPI:
    """The dashboard's ASGI app. Long on purpose: it is the route table (each route a few
    lines that render a page from ``Site``), kept in one place so every URL is listed."""
    site = Site(ctx, "server")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if watch_ledger:
            ctx.ledger.start()
        yield
        ctx.ledger.stop()

    app = FastAPI(title="safeship dashboard", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(HTTPException)
    async def _error(_request: Request, error: HTTPException) -> Response:
        code, detail = error.status_code, escape(str(error.detail))
        body = f"<!doctype html><title>{code}</title><h1>{code}</h1><p>{detail}</p><a href='/'>overview</a>"
        return HTMLResponse(body, status_code=error.status_code)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        return JSONResponse({"ok": True, "ledger": ctx.ledger.result.model_dump()})

    @app.get("/", response_class=HTMLResponse)
    def overview() -> HTMLResponse:
        return _page(site.overview)

    @app.get("/model/{model}/{version}/", response_class=HTMLResponse)
    def version_page(model: str, version: str) -> HTMLResponse:
        return _page(lambda: site.version(model, version))

    @app.get("/review/{model}/{version}/", response_class=HTMLResponse)
    def review_page(model: str, version: str) -> HTMLResponse:
        return _page(lambda: site.review(model, version))

    @app.get("/safety/{model}/{version}/", response_class=HTMLResponse)
    def safety_page(model: str, version: str) -> HTMLResponse:
        return _page(lambda: site.safety(model, version))

    @app.get("/lineage/{model}/graph.svg")
    def model_svg(model: str) -> Response:
        return Response(_page(lambda: site.lineage_svg(model)).body, media_type="image/svg+xml")

    @app.get("/lineage/{model}/{version}/graph.svg")
    def version_svg(model: str, version: str) -> Response:
        body = _page(lambda: site.lineage_svg(model, version)).body
        return Response(body, media_type="image/svg+xml")

    @app.get("/lineage/{model}/", response_class=HTMLResponse)
    def lineage_page(model: str) -> HTMLResponse:
        return _page(lambda: site.lineage(model))

    @app.get("/lineage/{model}/{version}/", response_class=HTMLResponse)
    def ancestry_page(model: str, version: str) -> HTMLResponse:
        return _page(lambda: site.lineage(model, version))

    @app.get("/timeline/{model}/", response_class=HTMLResponse)
    def timeline_page(model: str, at: str | None = None) -> HTMLResponse:
        def render() -> str:
            moment: datetime | None = None
            if at:
                from safeship.cli.common import parse_time

                moment = parse_time(at)
            return site.timeline(model, moment)

        return _page(render)

    @app.get("/drills/", response_class=HTMLResponse)
    def drills_page() -> HTMLResponse:
        return _page(site.drills)

    @app.get("/reports/{relative:path}")
    def report_file(relative: str) -> FileResponse:
        try:
            path = safe_report_file(ctx.reports, relative)
        except NotFoundError as error:
            raise HTTPException(status_code=404, detail=str(error)) from error
        media: dict[str, Any] = {}
        if path.suffix in (".md", ".jsonl", ".txt", ".lock", ".yaml"):
            media["media_type"] = "text/plain; charset=utf-8"
        return FileResponse(path, **media)

    return app
