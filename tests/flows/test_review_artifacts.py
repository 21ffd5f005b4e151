"""While a release waits for approval, Prefect already shows what to review: named
artifacts with http links to the dashboard (never file://), and the form links the
review page."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.flows.support import ReleaseRun, approve, wait_for_paused_run

pytestmark = pytest.mark.slow
DASHBOARD = "http://127.0.0.1:8750"  # only written into links; nothing is fetched from it


def _artifacts(api: str, run_id: str) -> list[dict[str, object]]:
    body = {"artifacts": {"flow_run_id": {"any_": [run_id]}}, "limit": 100}
    response = httpx.post(f"{api}/artifacts/filter", json=body, timeout=15)
    response.raise_for_status()
    found: list[dict[str, object]] = response.json()
    return found


def test_review_artifacts_exist_before_the_pause_ends(
    release_project: Path, prefect_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.release import _approval_description
    from safeship.release.approvals import Subject

    monkeypatch.setenv("SAFESHIP_DASHBOARD_URL", DASHBOARD)
    run = ReleaseRun(version="1.0.0", author="dave", risk_tier="medium")
    run_id = wait_for_paused_run(run)
    artifacts = _artifacts(prefect_api, run_id)
    review = f"{DASHBOARD}/review/demo-chat/1.0.0/"
    by_key = {str(a.get("key")): a for a in artifacts}
    assert review in str(by_key["review-demo-chat"]["data"])
    assert f"safeship approve {run_id}" in str(by_key["review-demo-chat"]["data"])
    assert "review-demo-chat-safety" in by_key  # the gate's checks as a table
    # link artifacts come back from the API as markdown: find them by their keys (names)
    links = [
        a
        for k, a in by_key.items()
        if k.startswith(("review-demo-chat-page", "review-demo-chat-report-"))
    ]
    assert len(links) >= 2 and "review-demo-chat-page" in by_key
    text = " ".join(str(a.get("data")) for a in links)
    assert review in text and "file://" not in text
    assert f"{DASHBOARD}/reports/demo-chat/1.0.0/{run_id}/" in text
    gate = {"passed": True, "risk_tier": "medium"}
    subject = Subject(run_id=run_id, model="demo-chat", version="1.0.0",
                      artifact_hash="a" * 32, profile_hash="p" * 64)  # fmt: skip
    described = _approval_description(subject, gate, Path("/x"), {}, 1)
    assert review in described
    assert approve(run_id, "alice").returncode == 0
    assert run.wait().is_completed()
