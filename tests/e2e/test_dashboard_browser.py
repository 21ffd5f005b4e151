"""The dashboard in a real headless Chromium (Debian's, driven by Playwright).

Seeded registry, the real FastAPI app on a loopback port: the overview, a version page,
the review page and the lineage graph render with the registry's numbers, every link on
them answers (no 404), a lineage node is clickable, and no request leaves 127.0.0.1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from safeship.config import Settings
from safeship.dashboard.app import create_app
from safeship.dashboard.context import Context
from safeship.incidents import sync
from safeship.testing.browser import CHROMIUM, ServerThread, loopback_browser
from safeship.testing.dashboard import seed_state

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
        reason=f"{CHROMIUM} is missing (`make test` installs Debian's chromium)",
    ),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Context]]:
    root = tmp_path_factory.mktemp("dash")
    settings = Settings(
        project_root=root, state_dir=root / "state", db_url=f"sqlite:///{root / 'r.db'}"
    )
    ctx = Context.open(settings, prefect_api="http://127.0.0.1:9/api")
    seed_state(ctx.registry, ctx.reports, ctx.request_log)
    sync(ctx.registry)  # the seeded automatic rollback and alert open incidents
    ctx.ledger.refresh()
    with ServerThread(create_app(ctx, watch_ledger=False)) as server:
        yield server.url, ctx
    ctx.close()


def _links_answer(page: Any, base: str) -> int:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    local = sorted({h.split("#")[0] for h in hrefs if h.startswith(base)})
    with httpx.Client(timeout=10) as client:
        for url in local:
            assert client.get(url).status_code == 200, url
    return len(local)


def test_pages_render_links_resolve_and_nothing_leaves_loopback(
    served: tuple[str, Context], tmp_path: Path
) -> None:
    base, ctx = served
    with loopback_browser() as (page, outside):
        page.goto(base + "/")
        alpha = page.locator('tr[data-model="alpha"]')
        state = ctx.registry.deployment("alpha")
        assert alpha.locator("td.production").inner_text().startswith(state.production or "?")
        assert f"({state.canary_weight}%)" in alpha.locator("td.canary").inner_text()
        assert alpha.locator("td.err").inner_text() == "5.0%"
        # p95 comes from the per-minute roll-up's latency histogram: an estimate within 25%
        p95 = alpha.locator("td.p95").inner_text()
        assert p95.endswith(" ms") and float(p95[:-3]) == pytest.approx(95, rel=0.25)
        assert "toxicity rose on live traffic" in alpha.locator("td.rollback").inner_text()
        head = ctx.ledger.result.head_hash or "?"
        assert head in page.locator("#ledger-status").inner_text()
        assert "not reachable" in page.locator("#prefect-status").inner_text()
        assert page.locator("#incidents tbody tr").count() == 2
        assert _links_answer(page, base) >= 8

        page.goto(base + "/model/alpha/1.1.0/")
        assert page.locator("h1").inner_text().startswith("alpha 1.1.0")
        assert page.locator("table.metrics tr.fail").count() == 1
        assert "Do it yourself, idiot." in page.locator("table.worst").first.inner_text()
        assert _links_answer(page, base) >= 5

        page.goto(base + "/review/alpha/1.2.0/")
        assert "safeship approve" in page.locator("#approve-command").inner_text()
        assert page.locator("#comparison tbody tr").count() == 2
        assert page.locator(".pair").count() >= 1
        _links_answer(page, base)

        page.goto(base + "/lineage/alpha/")
        nodes = page.locator("svg.lineage g.node.version")
        assert nodes.count() == 4
        page.locator('svg.lineage a[href="/model/alpha/1.2.0/"]').click()
        page.wait_for_url(base + "/model/alpha/1.2.0/")
        assert page.locator("h1").inner_text().startswith("alpha 1.2.0")

        for path in (
            "/timeline/alpha/?at=2099-01-01T00:00:00Z",
            "/drills/",
            "/safety/alpha/1.1.0/",
        ):
            response = page.goto(base + path)
            assert response is not None and response.status == 200, path
        served = page.goto(base + "/timeline/alpha/?at=2099-01-01T00:00:00Z")
        assert served is not None and "production <b>1.0.0</b>" in served.text()
        missing = page.goto(base + "/model/alpha/9.9.9/")
        assert missing is not None and missing.status == 404
        page.screenshot(path=str(tmp_path / "last.png"))
    assert outside == []
