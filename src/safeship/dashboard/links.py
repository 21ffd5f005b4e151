"""Where the dashboard is reachable, for links written elsewhere (Prefect artifacts, forms).

``SAFESHIP_DASHBOARD_URL`` (set by ``make up`` and ``make demo``) is the dashboard's base URL;
without it there is no http link to give, and callers say where the files are instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from safeship.dashboard import render

ENV = "SAFESHIP_DASHBOARD_URL"


def dashboard_url() -> str | None:
    url = os.environ.get(ENV, "").strip()
    return url.rstrip("/") if url else None


def page_url(path: str) -> str | None:
    base = dashboard_url()
    return None if base is None else f"{base}/{path}"


def review_url(model: str, version: str) -> str | None:
    return page_url(render.review_path(model, version))


def safety_url(model: str, version: str) -> str | None:
    return page_url(render.safety_report_path(model, version))


def version_url(model: str, version: str) -> str | None:
    return page_url(render.version_path(model, version))


def report_file_url(reports: Path, path: Path) -> str | None:
    """The dashboard URL serving ``path`` (a file under ``reports``), or None."""
    try:
        relative = path.resolve().relative_to(reports.resolve()).as_posix()
    except ValueError:
        return None
    return page_url(render.report_path(relative))
