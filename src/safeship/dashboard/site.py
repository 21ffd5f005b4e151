"""The dashboard's pages as HTML strings: one method per page, used by the server and the export."""

from __future__ import annotations

from datetime import datetime

from safeship.dashboard import pages, render, versions
from safeship.dashboard.context import Context
from safeship.dashboard.render import Mode, Renderer


class Site:
    def __init__(self, ctx: Context, mode: Mode) -> None:
        self.ctx = ctx
        self.mode = mode
        self.renderer = Renderer(mode)

    def overview(self) -> str:
        return self.renderer.render("overview.html", render.home_path(), **pages.overview(self.ctx))

    def version(self, model: str, version: str) -> str:
        data = versions.version_page(self.ctx, model, version)
        return self.renderer.render("version.html", render.version_path(model, version), **data)

    def review(self, model: str, version: str) -> str:
        data = versions.review_page(self.ctx, model, version)
        return self.renderer.render("review.html", render.review_path(model, version), **data)

    def lineage(self, model: str, version: str | None = None) -> str:
        current = render.lineage_path(model, version)
        link = render.make_link(self.mode, current)
        data = pages.lineage_page(self.ctx, model, link, version)
        return self.renderer.render("lineage.html", current, **data)

    def lineage_svg(self, model: str, version: str | None = None) -> str:
        """The graph as a standalone SVG file next to the lineage page (same links)."""
        current = render.lineage_path(model, version) + "graph.svg"
        return pages.lineage_svg(self.ctx, model, version, render.make_link(self.mode, current))

    def timeline(self, model: str, at: datetime | None = None) -> str:
        data = pages.timeline_page(self.ctx, model, at)
        return self.renderer.render("timeline.html", render.timeline_path(model), **data)

    def drills(self) -> str:
        return self.renderer.render(
            "drills.html", render.drills_path(), **pages.drills_page(self.ctx)
        )

    def safety(self, model: str, version: str) -> str:
        from safeship.dashboard.safety_report import report_data

        data = report_data(self.ctx, model, version)
        return self.renderer.render(
            "safety.html", render.safety_report_path(model, version), **data
        )
