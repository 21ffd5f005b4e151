"""Tasks of the release flow. Each opens the registry, calls one core step, returns data."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from safeship.events import EventKind
from safeship.params import Params
from safeship.release import steps
from safeship.release.approvals import ApprovalInput, Shown, Subject, Verdict, judge
from safeship.release.request import ReleaseRequest
from tasks.common import open_registry, task


@task(name="register")
def register_task(request: ReleaseRequest) -> steps.RegisterOutcome:
    with open_registry() as registry:
        return steps.register_candidate(registry, request)


@task(name="validate-data")
def validate_task(
    model: str, version: str, params: Params, out_dir: Path
) -> steps.ValidationOutcome:
    with open_registry() as registry:
        return steps.validate_datasets(registry, model, version, params, out_dir)


@task(name="safety-battery")
def safety_task(model: str, version: str, params: Params, out_dir: Path) -> steps.SafetyOutcome:
    with open_registry() as registry:
        return steps.run_safety(registry, model, version, params, out_dir)


@task(name="gate")
def gate_task(model: str, version: str, params: Params) -> dict[str, Any]:
    with open_registry() as registry:
        result = steps.gate_version(registry, model, version, params)
        return dict(result.model_dump(mode="json"))


@task(name="current-hashes")
def current_hashes_task(model: str, version: str) -> Shown:
    """The artifact hash (re-hashed from storage) and the latest safety-profile hash."""
    from safeship.monitoring.integrity import check_directory
    from safeship.registry.hashing import Manifest
    from safeship.registry.registration import artifact_dir

    with open_registry() as registry:
        record = registry.version(model, version)
        working = artifact_dir(registry, record)
        check = check_directory(working, Manifest.from_dict(record.manifest), "working copy")
        artifact = (
            record.dir_hash
            if check.ok
            else f"changed:{','.join(check.changed + check.missing + check.extra)}"
        )
        profile = registry.profiles.require_latest(model, version)
        return Shown(artifact_hash=artifact, profile_hash=profile.profile_hash)


@task(name="request-approval")
def request_approval_task(subject: Subject, required: int) -> tuple[float, list[Verdict]]:
    """Record what approvers are asked to sign (``safeship approve`` reads it back), once
    per run; return when it was first asked and the verdicts the run has recorded since."""
    from safeship.release.approval import recorded_approvals

    with open_registry() as registry:
        since, verdicts = recorded_approvals(registry.events(subject.model), subject.run_id)
        if since is None:
            event = registry.record(
                EventKind.APPROVAL_REQUESTED,
                actor="safeship-release",
                model=subject.model,
                version=subject.version,
                payload={**subject.model_dump(), "approvals_required": required},
            )
            since = datetime.fromisoformat(event.time).timestamp()
        return since, verdicts


@task(name="judge-approval")
def approval_task(
    submitted: ApprovalInput,
    subject: Subject,
    approved_by: dict[str, str],
    seen: set[str],
    params: Params,
) -> Verdict:
    """Verify and judge one submitted approval; record the verdict with its signature."""
    from safeship.access.identities import load_signers
    from safeship.ledger import utc_now

    with open_registry() as registry:
        record = registry.version(subject.model, subject.version)
        tier = registry.model(subject.model).risk_tier
        access = params.access
        verdict = judge(
            submitted,
            policy=params.release.tiers[tier],  # type: ignore[index]
            tier=tier,
            author=record.author,
            subject=subject,
            signers=load_signers(
                registry.settings.project_root, access.allowed_signers, access.revoked_keys
            ),
            access=access,
            approved_by=approved_by,
            seen=seen,
            now=utc_now(),
        )
        statement = verdict.statement()
        actor = verdict.approver if statement else f"unverified:{verdict.approver}"
        registry.record(
            EventKind(f"approval.{verdict.outcome}"),
            actor=actor[:200],
            model=subject.model,
            version=subject.version,
            payload={**verdict.model_dump(exclude={"signature"}), "run_id": subject.run_id},
            signed=statement,
        )
        return verdict


@task(name="mark-approved")
def mark_approved_task(model: str, version: str, approvers: dict[str, str], run_id: str) -> None:
    with open_registry() as registry:
        if registry.version(model, version).status == "gated":
            registry.move_status(
                model,
                version,
                "approved",
                actor="safeship-release",
                payload={"approvers": sorted(approvers), "keys": approvers, "run_id": run_id},
            )


@task(name="promote")
def promote_task(model: str, version: str, run_id: str) -> str | None:
    with open_registry() as registry:
        previous = registry.deployment(model).production
        if previous != version:
            registry.promote(model, version, actor="safeship-release", run_id=run_id)
        return previous


@task(name="reject")
def reject_task(model: str, version: str, reason: str) -> None:
    with open_registry() as registry:
        steps.reject(registry, model, version, reason)


@task(name="write-bundle")
def bundle_task(
    model: str,
    version: str,
    run_id: str,
    directory: Path,
    decision: str,
    sections: dict[str, Any],
    previous_production: str | None,
) -> tuple[str, str]:
    from safeship.release.bundle import write_bundle

    with open_registry() as registry:
        path, digest = write_bundle(
            registry,
            model=model,
            version=version,
            run_id=run_id,
            directory=directory,
            decision=decision,  # type: ignore[arg-type]
            sections=sections,
            previous_production=previous_production,
        )
        return str(path), digest


@task(name="production-version")
def production_task(model: str) -> str | None:
    with open_registry() as registry:
        return registry.deployment(model).production if registry.has_model(model) else None


@task(name="checkpoint-ledger")
def checkpoint_task(reason: str) -> str:
    """Write a service-signed checkpoint of the ledger head to the DVC remote (issue 14)."""
    with open_registry() as registry:
        return registry.checkpoint(reason)
