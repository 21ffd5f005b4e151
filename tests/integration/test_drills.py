"""Rollback drills against a project like the one `make demo` leaves: demo-chat with two
real n-gram versions (1.0.0 retired, 1.1.0 production) and a rejected 1.2.0."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from safeship.config import Settings
from safeship.demo import train as tr
from safeship.drills import SCENARIOS, DrillOptions, run_drill
from safeship.params import Params, TrainParams
from safeship.registry.store import Registry
from safeship.testing.gateway import (
    GatewayServer,
    add_version,
    clean_env,
    make_project,
    serving_params,
)
from safeship.testing.ngram import prepare_slices

pytestmark = pytest.mark.slow
MODEL = "demo-chat"
FAST = {"rate": 40.0, "steps": [25, 100], "min_requests": 40, "check_interval_s": 0.5,
        "reference_s": 4.0, "settle_s": 0.5, "max_detect_s": 40.0}  # fmt: skip


def _train(root: Path, version: str, order: int, data: Path) -> Path:
    dest = root / "models" / version
    tr.train(TrainParams(order=order), dest.parent, data_dir=data, model_dir=dest,
             metrics_path=dest.parent / f"{version}.metrics.json")  # fmt: skip
    return dest


@pytest.fixture(scope="module")
def demo_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """demo-chat 1.0.0 → 1.1.0 production, 1.2.0 rejected (router on: refusals slice)."""
    root = tmp_path_factory.mktemp("drills") / "project"
    settings = make_project(root)
    data = prepare_slices(root / "prepared", ("cooking", "travel", "refusals"))
    with clean_env(), Registry.open(settings) as registry:
        for version, order, status in (("1.0.0", 3, "approved"), ("1.1.0", 4, "approved"),
                                       ("1.2.0", 5, "rejected")):  # fmt: skip
            add_version(registry, MODEL, version, _train(root, version, order, data), status)
        registry.promote(MODEL, "1.0.0", actor="tester", reason="first")
        registry.promote(MODEL, "1.1.0", actor="tester", reason="second")
    with clean_env():
        yield settings


def _drill(settings: Settings, scenario: str, **options: object):  # type: ignore[no-untyped-def]
    return run_drill(MODEL, scenario, settings=settings, params=Params(),
                     options=DrillOptions(**{**FAST, **options}))  # fmt: skip


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_is_detected_and_reverted(demo_state: Settings, scenario: str) -> None:
    with Registry.open(demo_state) as production:
        before = production.count_rows()
    report = _drill(demo_state, scenario)
    assert report.outcome == "passed", (report.failures, report.gaps)
    assert report.ended_safe and all(report.safety_checks.values())
    assert report.time_to_detect_s is not None and report.time_to_revert_s is not None
    assert 0 < report.time_to_detect_s <= report.time_to_revert_s < FAST["max_detect_s"] + 15
    assert report.requests_total > 0
    if scenario != "output-drift":
        assert report.requests_affected > 0  # the faulty version did serve before the revert
    out = Path(str(report.report_dir))
    payload = (out / "report.json").read_bytes()
    assert json.loads(payload)["outcome"] == "passed"
    assert (out / "report.md").read_text().startswith("# Rollback drill")
    assert out.parent == demo_state.project_root / "reports" / "drills" / MODEL
    with Registry.open(demo_state) as production:
        after = production.count_rows()
        event = production.events(model=MODEL)[-1]
        assert production.deployment(MODEL).production == "1.1.0"
    assert after["ledger_events"] == before["ledger_events"] + 1
    assert event.kind == "drill.completed" and event.seq == report.ledger_seq
    assert event.payload["report_sha256"] == hashlib.sha256(payload).hexdigest()
    staging = Settings(demo_state.project_root, Path(report.staging_dir),
                       f"sqlite:///{Path(report.staging_dir) / 'registry.db'}")  # fmt: skip
    with Registry.open(staging) as registry:
        events = registry.events()
        assert events[0].kind == "drill.seeded" and events[0].seq == 1
        assert registry.verify_ledger().count == len(events)  # raises when broken
        assert registry.deployment(MODEL).production == "1.1.0"


def test_output_drift_holds_the_canary_through_the_monitor_policy(demo_state: Settings) -> None:
    """The monitor's policy (not the drill) takes the canary off traffic on output drift,
    back to approved: the version is not rejected, the rollout simply stops."""
    report = _drill(demo_state, "output-drift")
    assert report.outcome == "passed", (report.failures, report.gaps)
    assert "hold_canary" in str(report.reverted_by)
    staging = Settings(demo_state.project_root, Path(report.staging_dir),
                       f"sqlite:///{Path(report.staging_dir) / 'registry.db'}")  # fmt: skip
    with Registry.open(staging) as registry:
        aborted = [e for e in registry.events(model=MODEL) if e.kind == "deployment.canary_aborted"]
        assert aborted and aborted[-1].payload["to"] == "approved"  # held, not rejected
        state = registry.deployment(MODEL)
        assert state.canary is None or state.canary_weight == 0


def test_broken_follow_reports_failed(demo_state: Settings) -> None:
    report = _drill(demo_state, "error-burst", break_follow=True, max_revert_s=3.0)
    assert report.outcome == "failed"
    assert report.time_to_detect_s is not None  # the analysis caught it ...
    assert report.time_to_revert_s is None  # ... but the gateway never stopped serving it
    assert not report.ended_safe
    assert any("still routed" in f for f in report.failures)


def test_disabled_analysis_reports_failed(demo_state: Settings) -> None:
    report = _drill(demo_state, "unsafe-candidate", disable_detection=True, max_detect_s=3.0)
    assert report.outcome == "failed"
    assert report.time_to_detect_s is None and report.time_to_revert_s is None
    assert "the fault was not detected" in report.failures


def test_drill_leaves_production_untouched(demo_state: Settings) -> None:
    gateway = GatewayServer(demo_state, serving_params())
    try:
        gateway.wait_for(MODEL, "1.1.0")
        served = gateway.complete(MODEL)
        assert served.headers["X-Safeship-Version"] == "1.1.0"
        working = demo_state.state_dir / "artifacts" / MODEL / "1.1.0"
        hashes = {p.name: hashlib.md5(p.read_bytes()).hexdigest()
                  for p in working.iterdir() if p.is_file()}  # fmt: skip
        with Registry.open(demo_state) as production:
            before, state = production.count_rows(), production.deployment(MODEL)
            versions = {v.version: v.status for v in production.versions(MODEL)}
        report = _drill(demo_state, "tampered-artifact")
        assert report.outcome == "passed"
        with Registry.open(demo_state) as production:
            after = production.count_rows()
            assert production.deployment(MODEL) == state
            assert {v.version: v.status for v in production.versions(MODEL)} == versions
            assert [e.kind for e in production.events()[-1:]] == ["drill.completed"]
        assert after == {**before, "ledger_events": before["ledger_events"] + 1}
        assert {p.name: hashlib.md5(p.read_bytes()).hexdigest()
                for p in working.iterdir() if p.is_file()} == hashes  # fmt: skip
        gateway.wait_seq(before["ledger_events"] + 1)  # it followed the drill event ...
        for _ in range(5):  # ... and still serves production's version, untouched
            response = gateway.complete(MODEL)
            assert response.status_code == 200
            assert response.headers["X-Safeship-Version"] == "1.1.0"
        assert gateway.gateway.snapshot.models[MODEL].canary is None
    finally:
        gateway.close()
