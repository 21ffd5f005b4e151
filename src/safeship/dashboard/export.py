"""``safeship dashboard --export DIR``: the same pages as a static, self-contained site.

Every page is rendered with relative links (``render.make_link("export", ...)``), the CSS
is copied next to them, and every report file a page links to is copied under
``DIR/reports/`` — so the folder can be archived for an audit and opened offline.
The ledger is verified once, synchronously, before the overview is written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from safeship.dashboard import queries, render
from safeship.dashboard.app import STATIC
from safeship.dashboard.context import Context
from safeship.dashboard.pages import drills_page
from safeship.dashboard.site import Site
from safeship.dashboard.sources import bundles


def _write(out: Path, page_path: str, html: str, name: str = "index.html") -> Path:
    target = out / page_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return target


def export_site(ctx: Context, out: Path) -> list[Path]:
    """Write the site into ``out``; return the pages written."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(STATIC, out / "static", dirs_exist_ok=True)
    site = Site(ctx, "export")
    ctx.ledger.refresh()
    written = [_write(out, render.home_path(), site.overview())]
    written.append(_write(out, render.drills_path(), site.drills()))
    report_files: set[str] = set()
    for drill in drills_page(ctx)["drills"]:
        report_files.update(f for f in (drill.get("report_rel"), drill.get("report_md")) if f)
    for row in queries.model_rows(ctx.registry):
        model = row.name
        written.append(_write(out, render.lineage_path(model), site.lineage(model)))
        _write(out, render.lineage_path(model), site.lineage_svg(model), "graph.svg")
        written.append(_write(out, render.timeline_path(model), site.timeline(model)))
        for graph_row in queries.version_graph_rows(ctx.registry, model):
            version = graph_row["version"]
            written.append(
                _write(out, render.version_path(model, version), site.version(model, version))
            )
            ancestry = render.lineage_path(model, version)
            written.append(_write(out, ancestry, site.lineage(model, version)))
            _write(out, ancestry, site.lineage_svg(model, version), "graph.svg")
            if graph_row["status"] == "gated":
                written.append(
                    _write(out, render.review_path(model, version), site.review(model, version))
                )
            if ctx.registry.profiles.latest(model, version) is not None:
                written.append(
                    _write(
                        out, render.safety_report_path(model, version), site.safety(model, version)
                    )
                )
            for bundle in bundles(ctx.reports, model, version):
                report_files.update(bundle.files)
    for relative in sorted(report_files):
        source = ctx.reports / relative
        target = out / render.report_path(relative)
        if source.is_file() and source.resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return written
