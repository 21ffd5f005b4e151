"""Jinja2 rendering shared by the server and the static export.

Pages refer to each other through ``paths`` (e.g. ``model/demo-chat/1.1.0/``). Served,
a path becomes ``/model/demo-chat/1.1.0/``; exported, it becomes a relative link to the
file that holds it (``../../../model/demo-chat/1.1.0/index.html``), so the static site
works from any folder or a ``file://`` URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

Mode = Literal["server", "export"]


def seg(text: str) -> str:
    return quote(str(text), safe="")


def home_path() -> str:
    return ""


def version_path(model: str, version: str) -> str:
    return f"model/{seg(model)}/{seg(version)}/"


def review_path(model: str, version: str) -> str:
    return f"review/{seg(model)}/{seg(version)}/"


def lineage_path(model: str, version: str | None = None) -> str:
    return f"lineage/{seg(model)}/" + (f"{seg(version)}/" if version else "")


def timeline_path(model: str) -> str:
    return f"timeline/{seg(model)}/"


def drills_path() -> str:
    return "drills/"


def safety_report_path(model: str, version: str) -> str:
    return f"safety/{seg(model)}/{seg(version)}/"


def report_path(relative: str) -> str:
    return "reports/" + "/".join(seg(part) for part in relative.split("/"))


def make_link(mode: Mode, current: str) -> Callable[[str], str]:
    """A function from a target path to the URL the page at ``current`` should use."""
    if mode == "server":
        return lambda target: "/" + target
    depth = current.count("/")

    def link(target: str) -> str:
        suffix = "index.html" if target == "" or target.endswith("/") else ""
        return "../" * depth + target + suffix

    return link


def _number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _percent(value: Any) -> str:
    return "—" if value is None else f"{100 * float(value):.1f}%"


def _time(value: Any) -> str:
    if not value:
        return "—"
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return str(value)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("safeship.dashboard", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=_number, pct=_percent, when=_time, pretty=_pretty, short=lambda s: str(s or "")[:12]
    )
    return env


class Renderer:
    """Renders a page template at a path, with the link helpers bound for that path."""

    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.env = environment()

    def render(self, template: str, current: str, **data: Any) -> str:
        link = make_link(self.mode, current)
        helpers = {
            "link": link,
            "home_url": link(home_path()),
            "drills_url": link(drills_path()),
            "static_url": lambda name: link(f"static/{name}"),
            "version_url": lambda m, v: link(version_path(m, v)),
            "review_url": lambda m, v: link(review_path(m, v)),
            "lineage_url": lambda m, v=None: link(lineage_path(m, v)),
            "timeline_url": lambda m: link(timeline_path(m)),
            "safety_url": lambda m, v: link(safety_report_path(m, v)),
            "report_url": lambda rel: link(report_path(rel)),
            "exported": self.mode == "export",
            "rendered_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        }
        return self.env.get_template(template).render(**helpers, **data)
