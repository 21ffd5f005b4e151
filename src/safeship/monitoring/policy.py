"""Monitoring of deployed models: integrity, output drift, safety rates, unsafe states.

The decisions are plain functions (``integrity_findings``, ``rate_checks``,
``drift_decision``, ``plan_actions``, ``choose_target``); the rest
are thin calls on the registry, the request log and Evidently, each doing one thing, so
the ``monitor`` flow can run them as separate tasks.

* **Integrity**: every deployed version (production, canary, shadow) is re-hashed against
  the catalog (DVC cache, remote and working copy).
* **Drift**: production (``stable``) outputs of the recent window against a reference
  window from the request log, on the output descriptors of ``score_outputs``
  (Evidently ``DataDriftPreset`` restricted to those columns; HTML + JSON written to
  ``reports/monitor/<model>/<timestamp>/``).
* **Safety rates** over the recent window: toxic outputs, PII, guardrail violations and
  errors, each with a 95% Wilson interval, against ``monitor`` limits.
* **Unsafe states**: a canary still taking traffic long after its last step with no
  release or canary run in progress is taken off traffic.

Under ``monitor.policy.<model>: rollback`` a tampered production version, or a confident
safety-rate breach, rolls production back to the newest earlier deployable version that
still verifies; a tampered canary or shadow is cleared. Every alert is a ``monitor.alert``
ledger event; the flow also publishes it as a Prefect artifact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from safeship.events import EventKind
from safeship.registry.records import DeploymentState, VersionRecord
from safeship.registry.semver import SemVer
from safeship.registry.status import DEPLOYABLE
from safeship.safety.stats import wilson_interval

if TYPE_CHECKING:
    import pandas as pd

    from safeship.params import MonitorParams
    from safeship.registry.store import Registry

ACTOR = "safeship-monitor"
PRODUCTION_ROLE = "stable"
DRIFT_NUMERIC: tuple[str, ...] = ("chars", "words", "toxicity", "sentiment")
DRIFT_BINARY: tuple[str, ...] = ("pii", "refusal", "guardrail_violation")
Check = Literal["integrity", "drift", "safety", "canary", "rescan"]
Severity = Literal["info", "alert"]


class Finding(BaseModel):
    """One thing a check found; ``alert`` findings are recorded and published."""

    check: Check
    severity: Severity
    model: str
    version: str | None = None
    role: str | None = None
    message: str
    detail: dict[str, Any] = Field(default_factory=dict)


class Action(BaseModel):
    """A state repair the policy asks for."""

    kind: Literal["rollback", "clear_canary", "clear_shadow", "hold_canary"]
    model: str
    version: str | None
    reason: str


class RateCheck(BaseModel):
    """One safety rate over the recent window, with its 95% interval."""

    name: str
    count: int
    n: int
    rate: float
    ci_low: float
    ci_high: float
    limit: float

    @property
    def breached(self) -> bool:
        return self.n > 0 and self.rate > self.limit

    @property
    def confident(self) -> bool:
        """The whole interval is above the limit: a breach that is not sampling noise."""
        return self.n > 0 and self.ci_low > self.limit


# ------------------------------------------------------------------ pure decisions
def deployed_versions(state: DeploymentState) -> dict[str, str]:
    """Role → version for everything the gateway may serve (canary only with weight)."""
    roles = {"production": state.production, "canary": state.canary, "shadow": state.shadow}
    return {role: version for role, version in roles.items() if version is not None}


def integrity_findings(model: str, reports: dict[str, dict[str, Any]]) -> list[Finding]:
    """Alerts for every role whose version failed ``verify_version``."""
    findings: list[Finding] = []
    for role, report in reports.items():
        if report.get("ok"):
            continue
        bad = [c for c in report.get("checks", []) if not c.get("ok")]
        places = "; ".join(
            f"{c['location']}: "
            + ", ".join(
                f"{kind} {', '.join(c[kind])}"
                for kind in ("changed", "missing", "extra")
                if c[kind]
            )
            for c in bad
        )
        findings.append(
            Finding(
                check="integrity",
                severity="alert",
                model=model,
                version=str(report["version"]),
                role=role,
                message=f"{model} {report['version']} ({role}) no longer matches the catalog: "
                f"{places or 'verification failed'}",
                detail={"checks": bad, "dir_hash": report.get("dir_hash")},
            )
        )
    return findings


def rollback_candidates(versions: Iterable[VersionRecord], production: str) -> list[str]:
    """Deployable versions older than production, newest first."""
    current = SemVer.parse(production)
    earlier = [
        v for v in versions
        if v.status in DEPLOYABLE and v.version != production and SemVer.parse(v.version) < current
    ]  # fmt: skip
    earlier.sort(key=lambda v: SemVer.parse(v.version).sort_key(), reverse=True)
    return [v.version for v in earlier]


def choose_target(candidates: Sequence[str], acceptable: Callable[[str], bool]) -> str | None:
    """The first candidate (newest first) that ``acceptable`` accepts; evaluated lazily."""
    return next((version for version in candidates if acceptable(version)), None)


def rate_checks(
    requests: pd.DataFrame, scored: pd.DataFrame, params: MonitorParams
) -> list[RateCheck]:
    """Toxic, PII and guardrail rates over answered outputs; error rate over requests."""
    answered = len(scored)
    counts = {
        "toxic_output_rate": (int((scored["toxicity"] >= params.toxic_score).sum()), answered),
        "pii_output_rate": (int(scored["pii"].sum()), answered),
        "guardrail_violation_rate": (int(scored["guardrail_violation"].sum()), answered),
        "error_rate": (int(failed_mask(requests).sum()), len(requests)),
    }
    limits = {
        "toxic_output_rate": params.max_toxic_rate,
        "pii_output_rate": params.max_pii_rate,
        "guardrail_violation_rate": params.max_guardrail_rate,
        "error_rate": params.max_error_rate,
    }
    checks = []
    for name, (count, n) in counts.items():
        low, high = wilson_interval(count, n) if n else (0.0, 1.0)
        checks.append(
            RateCheck(
                name=name,
                count=count,
                n=n,
                rate=count / n if n else 0.0,
                ci_low=low,
                ci_high=high,
                limit=limits[name],
            )  # fmt: skip
        )
    return checks


def failed_mask(requests: pd.DataFrame) -> pd.Series:
    """Requests that errored: HTTP status >= 400 or an error recorded."""
    return (requests["status"] >= 400) | requests["error"].notna()


def drift_decision(
    p_values: dict[str, float], threshold: float, share: float
) -> tuple[bool, float, list[str]]:
    """Drifted when the share of columns with p < threshold reaches ``share``."""
    drifted = sorted(column for column, p in p_values.items() if p < threshold)
    fraction = len(drifted) / len(p_values) if p_values else 0.0
    return bool(p_values) and fraction >= share, fraction, drifted


def plan_actions(
    model: str,
    policy: str,
    findings: Sequence[Finding],
    rates: Sequence[RateCheck] = (),
    *,
    rollback_on_rates: bool = True,
) -> list[Action]:
    """What ``policy`` does about the findings (nothing under ``alert``).

    A tampered production version, or a confident safety-rate breach (when
    ``rollback_on_rates``), asks for one rollback; a tampered canary or shadow is cleared.
    Output drift never rolls production back (traffic changes too), but a rollout does not
    go on while outputs drift: a live canary is held (off traffic, back to approved, not
    rejected), so a new rollout can follow once the drift is understood.
    """
    if policy != "rollback":
        return []
    actions: list[Action] = []
    for finding in findings:
        if finding.check != "integrity" or finding.severity != "alert":
            continue
        if finding.role == "production":
            actions.append(Action(kind="rollback", model=model, version=finding.version,
                                  reason=f"integrity: {finding.message}"))  # fmt: skip
        elif finding.role in ("canary", "shadow"):
            kind: Literal["clear_canary", "clear_shadow"] = (
                "clear_canary" if finding.role == "canary" else "clear_shadow"
            )
            actions.append(Action(kind=kind, model=model, version=finding.version,
                                  reason=f"integrity: {finding.message}"))  # fmt: skip
    drifted = [f for f in findings if f.check == "drift" and f.severity == "alert"]
    if drifted:
        actions.append(Action(kind="hold_canary", model=model, version=None,
                              reason=f"output drift: {drifted[0].message}"))  # fmt: skip
    confident = [r for r in rates if r.confident] if rollback_on_rates else []
    if confident and not any(a.kind == "rollback" for a in actions):
        reason = "; ".join(
            f"{r.name} {r.rate:.3f} (95% CI {r.ci_low:.3f}–{r.ci_high:.3f}, n={r.n}) "
            f"above {r.limit}"
            for r in confident
        )
        actions.append(Action(kind="rollback", model=model, version=None,
                              reason=f"safety rates: {reason}"))  # fmt: skip
    return actions


def window_bounds(now: datetime, params: MonitorParams) -> tuple[datetime, datetime, datetime]:
    """``(reference_start, recent_start, now)``: reference is the window before recent."""
    recent_start = now - timedelta(seconds=params.recent_window_s)
    return recent_start - timedelta(seconds=params.reference_window_s), recent_start, now


def report_stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


# ------------------------------------------------------------------ registry calls
def record_alert(registry: Registry, finding: Finding, *, actor: str = ACTOR) -> int:
    """Write a ``monitor.alert`` ledger event; returns its sequence number."""
    event = registry.record(
        EventKind.MONITOR_ALERT,
        actor=actor,
        model=finding.model,
        version=finding.version,
        payload={
            "check": finding.check,
            "role": finding.role,
            "message": finding.message[:2000],
            "detail": finding.detail,
        },
    )
    return event.seq


def check_integrity(registry: Registry, model: str) -> list[Finding]:
    """Re-hash every deployed version of ``model`` against the catalog."""
    from safeship.monitoring.integrity import verify_version

    state = registry.deployment(model)
    reports = {
        role: verify_version(registry, registry.version(model, version))
        for role, version in deployed_versions(state).items()
    }
    return integrity_findings(model, reports)


def verifies(registry: Registry, model: str, version: str) -> bool:
    from safeship.monitoring.integrity import verify_version

    return bool(verify_version(registry, registry.version(model, version))["ok"])


def apply_actions(
    registry: Registry,
    model: str,
    actions: Sequence[Action],
    *,
    acceptable: Callable[[str], bool] | None = None,
    actor: str = ACTOR,
) -> list[dict[str, Any]]:
    """Carry out the planned actions; returns what was done (or why not) per action.

    A rollback goes to the newest earlier deployable version that ``acceptable`` accepts
    (default: it still verifies against the catalog); with none, an alert says so.
    """
    check = acceptable or (lambda version: verifies(registry, model, version))
    done: list[dict[str, Any]] = []
    for action in actions:
        state = registry.deployment(model)
        outcome: dict[str, Any] = {**action.model_dump(), "done": False}
        if action.kind == "rollback":
            production = state.production
            if production is None or (action.version and action.version != production):
                outcome["result"] = "production changed since the check; nothing rolled back"
            else:
                target = choose_target(rollback_candidates(registry.versions(model), production),
                                       check)  # fmt: skip
                if target is None:
                    outcome["result"] = "no earlier deployable version qualifies"
                    record_alert(registry, Finding(
                        check="integrity" if action.reason.startswith("integrity") else "safety",
                        severity="alert", model=model, version=production, role="production",
                        message=f"{model} {production}: rollback wanted ({action.reason[:300]}) "
                        "but no earlier deployable version qualifies",
                    ), actor=actor)  # fmt: skip
                else:
                    event = registry.rollback(model, actor=actor, reason=action.reason[:1000],
                                              to=target)  # fmt: skip
                    outcome.update(done=True, result=f"rolled back to {target}", seq=event.seq,
                                   from_version=production, to_version=target)  # fmt: skip
        elif action.kind == "clear_canary":
            if action.version is not None and state.canary == action.version:
                # off traffic and rejected in one event: a tampered or unsafe canary must
                # not go back on canary without a new release (a gap a drill found)
                event = registry.abort_canary(
                    model, action.version, actor=actor, reason=action.reason[:1000]
                )
                outcome.update(done=True, result="canary cleared and rejected", seq=event.seq)
            else:
                outcome["result"] = "canary changed since the check"
        elif action.kind == "hold_canary":
            if state.canary is not None and state.canary_weight > 0:
                event = registry.abort_canary(model, state.canary, actor=actor,
                                              reason=action.reason[:1000], reject=False)  # fmt: skip
                outcome.update(done=True, result=f"canary {state.canary} held", seq=event.seq)
            else:
                outcome["result"] = "no canary on traffic"
        elif action.kind == "clear_shadow":
            if state.shadow == action.version:
                event = registry.set_shadow(model, None, actor=actor, reason=action.reason[:1000])
                outcome.update(done=True, result="shadow cleared", seq=event.seq)
            else:
                outcome["result"] = "shadow changed since the check"
        done.append(outcome)
    return done


def repair_stale_canary(
    registry: Registry,
    model: str,
    *,
    max_age_s: float,
    run_in_progress: bool = False,
    now: datetime | None = None,
) -> Finding | None:
    """Take a stale canary off traffic (``safeship.canary.stale.repair_stale_canary``).

    Returns a finding describing the repair, or None when nothing was stale.
    """
    from safeship.canary.stale import repair_stale_canary as repair

    state = registry.deployment(model)
    if run_in_progress or state.canary is None or state.canary_weight <= 0:
        return None
    repaired = repair(registry, model, max_age_s=max_age_s, now=now)
    if not repaired:
        return None
    return Finding(
        check="canary", severity="alert", model=model, version=state.canary, role="canary",
        message=f"{model} {state.canary}: stale canary at weight {state.canary_weight} taken "
        f"off traffic (no change for more than {max_age_s:.0f} s, no release run in progress)",
        detail={"weight": state.canary_weight, "max_age_s": max_age_s},
    )  # fmt: skip
