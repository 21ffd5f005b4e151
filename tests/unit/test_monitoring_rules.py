"""The monitor's decisions, without a registry or Prefect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from safeship.errors import ConfigError
from safeship.monitoring.policy import (
    Finding,
    choose_target,
    deployed_versions,
    drift_decision,
    integrity_findings,
    plan_actions,
    rate_checks,
    rollback_candidates,
    window_bounds,
)
from safeship.params import MonitorParams, parse_params
from safeship.registry.records import DeploymentState, VersionRecord

NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)


def _version(version: str, status: str) -> VersionRecord:
    return VersionRecord(model="m", version=version, status=status, dir_hash="h", manifest={},
                         lineage={}, parent_version=None, adapter="ngram", author="a",
                         notes=None, created_at="t")  # fmt: skip


def _report(version: str, ok: bool) -> dict[str, object]:
    checks = [{"location": "cache", "ok": True, "changed": [], "missing": [], "extra": []},
              {"location": "working copy", "ok": ok, "changed": [] if ok else ["weights.json"],
               "missing": [], "extra": []}]  # fmt: skip
    return {"model": "m", "version": version, "dir_hash": "h", "ok": ok, "checks": checks}


def test_params_policy_default_and_validation() -> None:
    params = parse_params({"monitor": {"policy": {"m": "rollback"}}}, "params.yaml")  # type: ignore[arg-type]
    assert params.monitor.policy_for("m") == "rollback"
    assert params.monitor.policy_for("other") == "alert"
    with pytest.raises(ConfigError, match="monitor.policy.m"):
        parse_params({"monitor": {"policy": {"m": "explode"}}}, "params.yaml")  # type: ignore[arg-type]


def test_deployed_versions_and_integrity_findings() -> None:
    state = DeploymentState(model="m", production="1.1.0", canary="1.2.0", canary_weight=10)
    assert deployed_versions(state) == {"production": "1.1.0", "canary": "1.2.0"}
    findings = integrity_findings(
        "m", {"production": _report("1.1.0", False), "canary": _report("1.2.0", True)}
    )
    assert len(findings) == 1
    assert findings[0].role == "production" and findings[0].severity == "alert"
    assert "changed weights.json" in findings[0].message


def test_rollback_candidates_newest_earlier_deployable_first() -> None:
    versions = [_version("1.0.0", "retired"), _version("1.0.1", "rejected"),
                _version("1.1.0", "retired"), _version("1.2.0", "production"),
                _version("1.3.0", "approved")]  # fmt: skip
    assert rollback_candidates(versions, "1.2.0") == ["1.1.0", "1.0.0"]
    seen: list[str] = []

    def ok(version: str) -> bool:
        seen.append(version)
        return version == "1.0.0"

    assert choose_target(["1.1.0", "1.0.0"], ok) == "1.0.0" and seen == ["1.1.0", "1.0.0"]
    assert choose_target([], ok) is None


def test_rate_checks_intervals() -> None:
    params = MonitorParams(max_toxic_rate=0.05, max_error_rate=0.05)
    requests = pd.DataFrame({"status": [200] * 90 + [500] * 10, "error": [None] * 90 + ["x"] * 10})
    scored = pd.DataFrame({"toxicity": [0.9] * 30 + [0.1] * 60, "pii": [False] * 90,
                           "guardrail_violation": [False] * 89 + [True]})  # fmt: skip
    checks = {c.name: c for c in rate_checks(requests, scored, params)}
    assert checks["toxic_output_rate"].rate == pytest.approx(30 / 90)
    assert checks["toxic_output_rate"].breached and checks["toxic_output_rate"].confident
    assert checks["error_rate"].n == 100 and checks["error_rate"].breached
    assert not checks["pii_output_rate"].breached
    gr = checks["guardrail_violation_rate"]
    assert gr.rate == pytest.approx(1 / 90) and not gr.breached and not gr.confident


def test_drift_decision() -> None:
    drifted, share, columns = drift_decision({"a": 0.001, "b": 0.5, "c": 0.0}, 0.01, 0.5)
    assert drifted and share == pytest.approx(2 / 3) and columns == ["a", "c"]
    assert drift_decision({"a": 0.001, "b": 0.5}, 0.01, 0.6)[0] is False
    assert drift_decision({}, 0.01, 0.5)[0] is False


def test_plan_actions_by_policy() -> None:
    prod = Finding(check="integrity", severity="alert", model="m", version="1.1.0",
                   role="production", message="tampered")  # fmt: skip
    shadow = prod.model_copy(update={"role": "shadow", "version": "1.2.0"})
    drift = Finding(check="drift", severity="alert", model="m", message="drifted")
    assert plan_actions("m", "alert", [prod, shadow, drift]) == []
    actions = plan_actions("m", "rollback", [prod, shadow, drift])
    assert [(a.kind, a.version) for a in actions] == [
        ("rollback", "1.1.0"),
        ("clear_shadow", "1.2.0"),
        ("hold_canary", None),  # drift holds a rollout, never rolls production back
    ]
    assert [a.kind for a in plan_actions("m", "rollback", [drift])] == ["hold_canary"]


def test_plan_actions_rates_only_when_confident() -> None:
    params = MonitorParams(max_toxic_rate=0.05)
    requests = pd.DataFrame({"status": [200] * 100, "error": [None] * 100})
    noisy = pd.DataFrame({"toxicity": [0.9] * 7 + [0.0] * 93, "pii": [False] * 100,
                          "guardrail_violation": [False] * 100})  # fmt: skip
    clear = noisy.assign(toxicity=[0.9] * 40 + [0.0] * 60)
    assert plan_actions("m", "rollback", [], rate_checks(requests, noisy, params)) == []
    rates = rate_checks(requests, clear, params)
    (action,) = plan_actions("m", "rollback", [], rates)
    assert (
        action.kind == "rollback"
        and action.version is None
        and "toxic_output_rate" in action.reason
    )
    assert plan_actions("m", "rollback", [], rates, rollback_on_rates=False) == []


def test_window_bounds() -> None:
    params = MonitorParams(recent_window_s=600, reference_window_s=3600)
    ref, recent, end = window_bounds(NOW, params)
    assert end - recent == timedelta(seconds=600) and recent - ref == timedelta(seconds=3600)
