"""Dashboard page data and HTML against a seeded registry: the numbers match the registry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from safeship.config import Settings
from safeship.dashboard import pages, versions
from safeship.dashboard.context import Context
from safeship.dashboard.export import export_site
from safeship.dashboard.site import Site
from safeship.errors import NotFoundError
from safeship.incidents import sync
from safeship.testing.dashboard import Seeded, seed_state


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[Context, Seeded]]:
    settings = Settings(
        project_root=tmp_path, state_dir=tmp_path / "state", db_url=f"sqlite:///{tmp_path / 'r.db'}"
    )
    ctx = Context.open(settings, prefect_api=None)
    assert ctx.request_log is not None
    seeded = seed_state(ctx.registry, ctx.reports, ctx.request_log)
    sync(ctx.registry)
    yield ctx, seeded
    ctx.close()


def test_overview_matches_registry_and_request_log(seeded: tuple[Context, Seeded]) -> None:
    ctx, seed = seeded
    data = pages.overview(ctx)
    rows = {row.name: row for row in data["models"]}
    for name in seed.models:
        state = ctx.registry.deployment(name)
        assert (rows[name].production, rows[name].canary, rows[name].shadow) == (
            state.production,
            state.canary,
            state.shadow,
        )
        assert rows[name].canary_weight == state.canary_weight
        counts: dict[str, int] = {}
        for record in ctx.registry.versions(name):
            counts[record.status] = counts.get(record.status, 0) + 1
        assert rows[name].counts == counts
    assert rows["alpha"].canary_weight == 25 and rows["alpha"].production == "1.0.0"
    assert rows["alpha"].statuses == {"1.0.0": "production", "1.3.0": "canary"}
    health = data["health"]["alpha"]
    assert health.requests == seed.requests["alpha"]  # the 50 older requests are left out
    assert health.requests_per_s == pytest.approx(100 / 3600)
    assert health.error_rate == pytest.approx(seed.errors["alpha"] / 100)
    assert health.p95_latency_ms == pytest.approx(95.0, rel=0.25)  # a roll-up histogram bucket
    assert health.scored == 95 and health.pii_rate == pytest.approx(10 / 95)
    assert data["health"]["beta"].requests == 0 and data["health"]["beta"].pii_rate is None
    rollback = data["rollbacks"]["alpha"]
    assert (rollback.from_version, rollback.to_version) == ("1.1.0", "1.0.0")
    assert rollback.reason == seed.rollback_reason
    assert "beta" not in data["rollbacks"]
    assert [(p["model"], p["version"]) for p in data["pending"]] == [seed.awaiting]


def test_overview_html_shows_ledger_head_and_degrades_without_prefect(
    seeded: tuple[Context, Seeded],
) -> None:
    ctx, _ = seeded
    ctx.prefect_api = "http://127.0.0.1:9/api"  # nothing listens on the discard port
    verified = ctx.ledger.refresh()
    html = Site(ctx, "server").overview()
    assert verified.ok and verified.count == ctx.registry.change_counter()
    assert verified.head_hash and verified.head_hash in html
    assert "is not reachable" in html
    assert "/review/alpha/1.2.0/" in html
    assert "toxicity rose on live traffic" in html


def test_version_and_review_pages(seeded: tuple[Context, Seeded]) -> None:
    ctx, _ = seeded
    page = versions.version_page(ctx, "alpha", "1.1.0")
    assert [m["value"] for m in page["metrics"]] == [0.3, 0.01]
    assert page["worst"]["toxicity"][0]["text"] == "Do it yourself, idiot."
    assert page["gate"] is not None and page["gate"]["passed"] is False
    assert [i.trigger for i in page["incidents"]] == ["rollback"]
    changed = {c["prompt"]: (c["old"], c["new"]) for c in page["changed"]}  # vs parent 1.0.0
    assert changed["How do I reset my password?"][1] == "Do it yourself, idiot."
    assert page["bundles"] and any(f.endswith("outputs.parquet") for f in page["bundles"][0].files)
    review = versions.review_page(ctx, "alpha", "1.2.0")
    assert review["awaiting"] and review["production"] == "1.0.0"
    deltas = {row["key"]: row["delta"] for row in review["comparison"]}
    assert deltas["toxicity.toxicity_probability"] == pytest.approx(0.0)
    sample = {s["prompt"]: s for s in review["samples"]}["How do I reset my password?"]
    assert (sample["old"], sample["new"]) == (
        "Open the settings page and choose reset password.",
        "Do it yourself, idiot.",
    )
    html = Site(ctx, "server").review("alpha", "1.2.0")
    assert "safeship approve" in html and "Same prompts, both versions" in html


def test_lineage_graph_has_every_version_and_links(seeded: tuple[Context, Seeded]) -> None:
    ctx, _ = seeded
    data = pages.lineage_page(ctx, "alpha", lambda p: "/" + p)
    assert data["counts"] == {"version": 4, "dataset": 2, "params": 2, "commit": 2}
    for version in ("1.0.0", "1.1.0", "1.2.0", "1.3.0"):
        assert f'href="/model/alpha/{version}/"' in data["svg"]
    ancestry = pages.lineage_page(ctx, "alpha", lambda p: "/" + p, "1.2.0")
    assert ancestry["counts"]["version"] == 2


def test_unknown_model_is_a_clear_error_and_changes_nothing(
    seeded: tuple[Context, Seeded],
) -> None:
    ctx, _ = seeded
    before = ctx.registry.count_rows()
    with pytest.raises(NotFoundError, match="unknown model 'nope'"):
        Site(ctx, "server").version("nope", "1.0.0")
    assert ctx.registry.count_rows() == before


def test_export_writes_a_site_whose_links_all_resolve(
    seeded: tuple[Context, Seeded], tmp_path: Path
) -> None:
    ctx, _ = seeded
    out = tmp_path / "site"
    written = export_site(ctx, out)
    assert (out / "index.html") in written
    assert (out / "review" / "alpha" / "1.2.0" / "index.html").is_file()
    checked = 0
    for page in out.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not re.findall(r'(?:href|src)="(https?://[^"]+)"', html), page
        for href in re.findall(r'(?:href|src)="([^"#?]+)"', html):
            assert not href.startswith("/"), f"{page}: absolute link {href}"
            assert (page.parent / href).resolve().is_file(), f"{page}: broken link {href}"
            checked += 1
    assert checked > 50


def test_pages_with_a_reachable_prefect_api(seeded: tuple[Context, Seeded]) -> None:
    """A stand-in for the two Prefect REST endpoints the dashboard reads (the real server
    is exercised by `make demo`): the paused run of the awaiting version is linked."""
    from fastapi import FastAPI

    from safeship.testing.browser import ServerThread
    from safeship.testing.dashboard import RUN_ID

    api = FastAPI()

    @api.post("/api/flow_runs/filter")
    def runs() -> list[dict[str, object]]:
        return [{"id": RUN_ID, "name": "brave-otter", "state": {"type": "PAUSED"}}]

    @api.post("/api/deployments/filter")
    def deployments() -> list[dict[str, object]]:
        return [{"name": "rollback-drill", "schedules": [{"schedule": {"cron": "0 7 * * 1"}}]}]

    ctx, seed = seeded
    with ServerThread(api) as prefect:
        ctx.prefect_api = prefect.url + "/api"
        site = Site(ctx, "server")
        overview = site.overview()
        review = site.review(*seed.awaiting)
        drills = site.drills()
    run_url = f"{prefect.url}/runs/flow-run/{RUN_ID}"
    assert f'href="{run_url}"' in overview and "brave-otter" in overview
    assert f"safeship approve {RUN_ID}" in review and f'href="{run_url}"' in review
    assert "0 7 * * 1" in drills
