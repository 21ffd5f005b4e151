"""Rescans: living safety profiles for versions already released.

A rescan re-runs the safety battery (typically on a newer probe set) on production and
the most recent earlier versions and *appends* the result to each version's safety
profile as an amendment with the rescan's reason; baselines stay locked. Then the gate
(``judge_gate``) is judged again on production's newest profile. If production now fails:
a ``monitor.alert`` ledger event (check ``rescan``) and, under
``monitor.policy.<model>: rollback``, a rollback to the newest earlier deployable version
whose own newest profile — on the same probe set, scanned now if it is not — passes the
gate and whose artifact still verifies.

``rescan_targets``, ``needs_scan`` and ``production_failed`` decide; the rest are thin
calls on the registry and the battery.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from safeship.errors import InputError
from safeship.monitoring.policy import (
    Finding,
    choose_target,
    record_alert,
    rollback_candidates,
    verifies,
)
from safeship.registry.records import VersionRecord
from safeship.registry.semver import SemVer
from safeship.registry.status import DEPLOYABLE

if TYPE_CHECKING:
    from safeship.params import Params
    from safeship.registry.profiles import StoredProfile
    from safeship.registry.store import Registry
    from safeship.safety.probes import ProbeSuite

ACTOR = "safeship-rescan"


class VersionScan(BaseModel):
    """One version's profile after the rescan, and the gate on it."""

    version: str
    kind: str  # baseline | amendment | reused
    profile_hash: str
    probe_set_hash: str | None
    battery_passed: bool
    gate_passed: bool
    gate_reasons: list[str] = Field(default_factory=list)
    against: str | None = None
    report_dir: str | None = None


class RescanResult(BaseModel):
    model: str
    reason: str
    policy: str
    production: str | None
    probe_set: dict[str, Any] = Field(default_factory=dict)
    scans: list[VersionScan] = Field(default_factory=list)
    alerts: list[Finding] = Field(default_factory=list)
    rollback: dict[str, Any] | None = None

    @property
    def production_scan(self) -> VersionScan | None:
        return next((s for s in self.scans if s.version == self.production), None)


# ------------------------------------------------------------------ pure decisions
def rescan_targets(
    versions: Iterable[VersionRecord],
    production: str | None,
    recent: int,
    requested: Sequence[str] | None = None,
) -> list[str]:
    """Production first, then the ``recent`` newest other deployable versions.

    ``requested`` (explicit versions) replaces that choice; unknown ones are refused.
    """
    records = list(versions)
    known = {v.version for v in records}
    if requested:
        unknown = [v for v in requested if v not in known]
        if unknown:
            listing = ", ".join(sorted(known, key=lambda v: SemVer.parse(v).sort_key()))
            raise InputError(f"no version {unknown[0]!r} to rescan; versions: {listing or 'none'}")
        ordered = [v for v in requested if v == production]
        return ordered + list(dict.fromkeys(v for v in requested if v != production))
    others = sorted(
        (v for v in records if v.status in DEPLOYABLE and v.version != production),
        key=lambda v: SemVer.parse(v.version).sort_key(),
        reverse=True,
    )
    return ([production] if production else []) + [v.version for v in others[:recent]]


def needs_scan(latest: StoredProfile | None, probe_set_hash: str) -> bool:
    """A version needs the battery when it has no profile, or one on another probe set."""
    return latest is None or latest.probe_set_hash != probe_set_hash


def production_failed(result: RescanResult) -> bool:
    scan = result.production_scan
    return scan is not None and not scan.gate_passed


# ------------------------------------------------------------------ registry calls
def _stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def load_suite(probe_dir: str | Path | None, root: Path) -> ProbeSuite:
    """The probe sets to scan with: ``probe_dir`` (relative to the project) or the shipped."""
    from safeship.safety.probes import load_probes

    if probe_dir is None or str(probe_dir) == "":
        return load_probes()
    folder = Path(probe_dir)
    return load_probes(folder if folder.is_absolute() else root / folder)


def scan_version(
    registry: Registry,
    model: str,
    version: str,
    params: Params,
    *,
    reason: str,
    probes: ProbeSuite,
    out_dir: Path,
    force: bool = True,
) -> VersionScan:
    """Run the battery (an amendment; a baseline if the version has none) and the gate.

    Without ``force`` a profile already on this probe set is reused as it is.
    """
    from safeship.release.steps import judge_gate, run_safety

    latest = registry.profiles.latest(model, version)
    scan = force or needs_scan(latest, probes.sha256)
    outcome = run_safety(
        registry, model, version, params, out_dir,
        amend_reason=reason if scan and latest is not None else None, probes=probes,
    )  # fmt: skip
    stored = registry.profiles.require_latest(model, version)
    gate, payload = judge_gate(registry, model, version, params)
    return VersionScan(
        version=version,
        kind="reused" if outcome.reused else stored.kind,
        profile_hash=stored.profile_hash,
        probe_set_hash=stored.probe_set_hash,
        battery_passed=outcome.passed,
        gate_passed=bool(gate.passed),
        gate_reasons=list(gate.reasons),
        against=payload.get("against"),
        report_dir=outcome.report_dir,
    )


def production_alert(model: str, scan: VersionScan, reason: str) -> Finding:
    return Finding(
        check="rescan", severity="alert", model=model, version=scan.version, role="production",
        message=f"{model} {scan.version} (production) fails the gate after a rescan ({reason}): "
        + "; ".join(scan.gate_reasons[:5]),
        detail={"profile_hash": scan.profile_hash, "probe_set_hash": scan.probe_set_hash,
                "reasons": scan.gate_reasons},
    )  # fmt: skip


def rollback_to_passing(
    registry: Registry,
    model: str,
    params: Params,
    *,
    reason: str,
    probes: ProbeSuite,
    out_root: Path,
    actor: str = ACTOR,
) -> dict[str, Any]:
    """Roll production back to the newest earlier version that passes the gate now.

    A candidate is scanned on ``probes`` first when its newest profile is on another
    probe set (or missing); it must also still verify against the catalog.
    """
    production = registry.deployment(model).production
    if production is None:
        return {"done": False, "result": f"{model} has no production version"}
    scans: dict[str, VersionScan] = {}

    def passes(version: str) -> bool:
        scans[version] = scan_version(
            registry, model, version, params, reason=reason, probes=probes,
            out_dir=out_root / version / f"rescan-{_stamp()}" / "safety", force=False,
        )  # fmt: skip
        return scans[version].gate_passed and verifies(registry, model, version)

    target = choose_target(rollback_candidates(registry.versions(model), production), passes)
    checked = {v: s.model_dump() for v, s in scans.items()}
    if target is None:
        finding = Finding(
            check="rescan", severity="alert", model=model, version=production,
            role="production", message=f"{model} {production} fails the gate but no earlier "
            "deployable version passes it (and verifies): production left in place",
            detail={"checked": sorted(scans)},
        )  # fmt: skip
        record_alert(registry, finding, actor=actor)
        return {"done": False, "result": finding.message, "checked": checked}
    event = registry.rollback(
        model, actor=actor, to=target,
        reason=f"rescan ({reason}): {production} fails the gate; {target} passes",
    )  # fmt: skip
    return {"done": True, "from_version": production, "to_version": target, "seq": event.seq,
            "result": f"rolled back from {production} to {target}", "checked": checked}  # fmt: skip


def rescan(
    registry: Registry,
    model: str,
    params: Params,
    *,
    reason: str,
    versions: Sequence[str] | None = None,
    probes: ProbeSuite | None = None,
    out_root: Path | None = None,
    actor: str = ACTOR,
) -> RescanResult:
    """The whole rescan in one call (the flow runs the same steps as tasks)."""
    from safeship.safety.probes import load_probes

    if not reason.strip():
        raise InputError("a rescan needs a reason: it is recorded with every amendment")
    suite = probes or load_probes()
    root = out_root or registry.settings.project_root / "reports" / model
    production = registry.deployment(model).production
    policy = params.monitor.policy_for(model)
    result = RescanResult(
        model=model, reason=reason, policy=policy, production=production,
        probe_set={"version": suite.version, "hash": suite.sha256},
    )  # fmt: skip
    stamp = _stamp()
    targets = rescan_targets(
        registry.versions(model), production, params.monitor.rescan_recent, versions
    )
    for version in targets:
        result.scans.append(scan_version(
            registry, model, version, params, reason=reason, probes=suite,
            out_dir=root / version / f"rescan-{stamp}" / "safety",
        ))  # fmt: skip
    scan = result.production_scan
    if scan is not None and production_failed(result):
        finding = production_alert(model, scan, reason)
        record_alert(registry, finding, actor=actor)
        result.alerts.append(finding)
        if policy == "rollback":
            result.rollback = rollback_to_passing(
                registry, model, params, reason=reason, probes=suite, out_root=root, actor=actor
            )
    return result
