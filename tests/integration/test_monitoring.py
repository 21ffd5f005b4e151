"""The monitor and rescan core against a real registry, real n-gram versions, a real
request log and real Evidently: tampering, stale canaries, drift reports."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from safeship.config import Settings
from safeship.gateway.requestlog import RequestLog, RequestRecord, default_url
from safeship.models.base import GenerationRequest
from safeship.models.loader import load_generator
from safeship.monitoring import policy as monitoring
from safeship.monitoring.traffic import check_traffic
from safeship.params import Params, parse_params
from safeship.registry.registration import artifact_dir
from safeship.registry.store import Registry
from safeship.testing.gateway import add_version, make_project, promote
from safeship.testing.ngram import DEMO_DATA, prepare_slices, train_ngram

MODEL = "mon-chat"


def _params(**monitor: object) -> Params:
    return parse_params({"monitor": monitor}, Path("params.yaml"))


@pytest.fixture
def deployed(tmp_path: Path) -> tuple[Settings, Registry]:
    """1.0.0 (retired) and 1.1.0 (production), both real n-gram models."""
    settings = make_project(tmp_path / "project")
    registry = Registry.open(settings)
    add_version(registry, MODEL, "1.0.0", train_ngram(tmp_path / "m" / "o3", 3))
    add_version(registry, MODEL, "1.1.0", train_ngram(tmp_path / "m" / "o4", 4))
    promote(registry, MODEL, "1.0.0")
    promote(registry, MODEL, "1.1.0")
    yield settings, registry
    registry.close()


def _tamper(registry: Registry, version: str) -> None:
    working = artifact_dir(registry, registry.version(MODEL, version))
    weights = working / "weights.json"
    weights.chmod(0o644)
    weights.write_bytes(weights.read_bytes().replace(b"1", b"2", 1))


def _monitor_once(registry: Registry, policy: str) -> list[dict[str, object]]:
    params = _params(policy={MODEL: policy})
    findings = monitoring.check_integrity(registry, MODEL)
    for finding in findings:
        monitoring.record_alert(registry, finding)
    actions = monitoring.plan_actions(MODEL, params.monitor.policy_for(MODEL), findings)
    return monitoring.apply_actions(registry, MODEL, actions)


def test_tampered_production_alerts_then_rolls_back(deployed: tuple[Settings, Registry]) -> None:
    _, registry = deployed
    assert monitoring.check_integrity(registry, MODEL) == []
    _tamper(registry, "1.1.0")
    assert _monitor_once(registry, "alert") == []  # alert only: production stays
    assert registry.deployment(MODEL).production == "1.1.0"
    alerts = [e for e in registry.events(MODEL) if e.kind == "monitor.alert"]
    assert alerts[-1].payload["check"] == "integrity" and alerts[-1].version == "1.1.0"
    assert "weights.json" in alerts[-1].payload["message"]

    (done,) = _monitor_once(registry, "rollback")
    assert done["done"] and done["to_version"] == "1.0.0"
    assert registry.deployment(MODEL).production == "1.0.0"
    assert registry.version(MODEL, "1.1.0").status == "rejected"
    assert registry.events(MODEL)[-1].kind == "deployment.rolled_back"
    assert monitoring.check_integrity(registry, MODEL) == []
    assert registry.verify_ledger().count > 0


def test_rollback_skips_a_tampered_target(
    deployed: tuple[Settings, Registry], tmp_path: Path
) -> None:
    _, registry = deployed
    add_version(registry, MODEL, "1.2.0", train_ngram(tmp_path / "m" / "o5", 5))
    promote(registry, MODEL, "1.2.0")  # 1.1.0 retired, 1.0.0 retired
    _tamper(registry, "1.1.0")
    _tamper(registry, "1.2.0")
    (done,) = _monitor_once(registry, "rollback")
    assert done["to_version"] == "1.0.0"  # 1.1.0 is newer but no longer verifies


def test_stale_canary_repaired(deployed: tuple[Settings, Registry], tmp_path: Path) -> None:
    _, registry = deployed
    add_version(registry, MODEL, "1.2.0", train_ngram(tmp_path / "m" / "o5", 5))
    registry.set_canary(MODEL, "1.2.0", 20, actor="release", reason="step 1")
    assert monitoring.repair_stale_canary(registry, MODEL, max_age_s=3600) is None
    later = datetime.now(UTC) + timedelta(hours=2)
    assert (
        monitoring.repair_stale_canary(registry, MODEL, max_age_s=3600, run_in_progress=True,
                                       now=later) is None
    )  # fmt: skip
    assert registry.deployment(MODEL).canary_weight == 20
    finding = monitoring.repair_stale_canary(registry, MODEL, max_age_s=3600, now=later)
    assert finding is not None and finding.check == "canary" and finding.version == "1.2.0"
    state = registry.deployment(MODEL)
    assert state.canary_weight == 0 and state.production == "1.1.0"


# ------------------------------------------------------------------ drift from the request log
def _outputs(path: Path, prompts: list[str], seed: int) -> list[str]:
    generator = load_generator(path)
    request = GenerationRequest(max_new_tokens=48, temperature=0.9, seed=seed)
    return [g.text for g in generator.generate(prompts, request)]


def _prompts() -> list[str]:
    data = DEMO_DATA
    rows = [json.loads(line) for name in ("cooking.jsonl", "finance.jsonl")
            for line in (data / name).read_text().splitlines()[:60]]  # fmt: skip
    return [row["prompt"] for row in rows]


def _log(settings: Settings, windows: list[tuple[float, str, list[str]]]) -> None:
    log = RequestLog(default_url(settings))
    try:
        records = [
            RequestRecord(request_id=f"{start}-{i}", ts=start + i, model=MODEL, version=version,
                          role="stable", endpoint="completions", user_hash=None, prompt="p",
                          output=text, latency_ms=1.0, status=200)
            for start, version, texts in windows for i, text in enumerate(texts)
        ]  # fmt: skip
        log.write(records)
    finally:
        log.close()


@pytest.mark.slow
def test_drift_report_when_outputs_shift(tmp_path: Path) -> None:
    settings = make_project(tmp_path / "project")
    model_a = train_ngram(tmp_path / "m" / "a", 3)
    data_b = prepare_slices(tmp_path / "m" / "prepared-b", ("refusals", "finance"))
    # no request router: this model refuses much of what it is asked, a clear shift
    model_b = train_ngram(tmp_path / "m" / "b", 3, data=data_b, router=False)
    prompts = _prompts()
    now = datetime.now(UTC)
    recent, reference = now.timestamp() - 600, now.timestamp() - 3000
    params = _params(recent_window_s=1200, reference_window_s=3600, min_samples=50,
                     drift_share=0.3)  # fmt: skip
    out = tmp_path / "reports" / "monitor"

    _log(settings, [(reference, "1.0.0", _outputs(model_a, prompts, 1)),
                    (recent, "1.0.0", _outputs(model_a, prompts, 2))])  # fmt: skip
    log = RequestLog(default_url(settings))
    try:
        same = check_traffic(log, MODEL, params, out, now=now)
    finally:
        log.close()
    assert same.drift.drifted is False and same.drift.html
    assert [r.name for r in same.rates][:1] == ["toxic_output_rate"]

    _log(settings, [(recent + 200, "1.1.0", _outputs(model_b, prompts, 3))])
    later = now + timedelta(seconds=400)
    log = RequestLog(default_url(settings))
    try:
        shifted = check_traffic(log, MODEL, params, out, now=later)
    finally:
        log.close()
    drift = shifted.drift
    assert drift.drifted is True, (drift.columns, drift.drifted_columns)
    assert {"sentiment", "refusal"} <= set(drift.drifted_columns)
    assert shifted.versions["recent"] == ["1.0.0", "1.1.0"]
    html, data = Path(drift.html or ""), Path(drift.json_path or "")
    assert html.parent.parent == out / MODEL and html.stat().st_size > 10_000
    assert json.loads(data.read_text())["metrics"]
    assert (html.parent / "summary.json").exists()
    alert = next(f for f in shifted.findings if f.check == "drift")
    assert alert.severity == "alert" and "refusal" in alert.message


def test_too_little_traffic_is_said_not_judged(tmp_path: Path) -> None:
    settings = make_project(tmp_path / "project")
    _log(settings, [(time.time() - 10, "1.0.0", ["hello there"] * 5)])
    log = RequestLog(default_url(settings))
    try:
        result = check_traffic(log, MODEL, _params(), tmp_path / "out")
    finally:
        log.close()
    assert result.drift.drifted is None and result.rates == []
    assert all(f.severity == "info" for f in result.findings) and len(result.findings) == 2
