"""The release flow: register → validate data → safety battery → gate → approval → promote.

Every run writes a release bundle to ``reports/<model>/<version>/<run-id>/`` and Prefect
artifacts (a summary, the safety metrics, links to the reports). A failed validation or
gate, a rejection or an approval timeout ends the run Failed with the version rejected.
Approvers resume the paused run from the Prefect UI form (with a signature from
``safeship approve RUN_ID --as NAME --print-signature``) or with
``safeship approve RUN_ID --as NAME --key PATH``; unsigned or wrongly signed input is
refused and recorded, and the run keeps waiting. Every run ends by writing a signed
checkpoint of the ledger head to the DVC remote.

A run of the ``release`` deployment is *suspended* while it waits (its process ends; the
wait survives restarts of the worker or the Prefect server) and each input runs the flow
again from the top: the steps are idempotent and the wait is rebuilt from the ledger
(:mod:`safeship.release.approval`). The wait is not a subflow because Prefect suspends only
top-level runs of a deployment; approvers sign this run's id, the one the UI shows.
"""

from __future__ import annotations

import math
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, pause_flow_run, suspend_flow_run
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import Field

from flows.canary import CanaryRolledBack, canary_rollout, shadow_evaluation
from safeship.config import Settings
from safeship.dashboard.links import review_url
from safeship.errors import SafeshipError
from safeship.release.approval import ApprovalWait, canary_runs
from safeship.release.approvals import ApprovalInput, Subject
from safeship.release.bundle import bundle_dir
from safeship.release.request import ReleaseRequest
from tasks import release as t
from tasks.artifacts import publish_artifacts, publish_review_artifacts, summary_markdown
from tasks.common import load_params_task
from tasks.locks import release_slot

POLL_INTERVAL_S = 1


class ReleaseFailed(SafeshipError):
    """The release ended without promotion (the reasons are in the bundle and artifacts)."""


class ApprovalForm(RunInput):
    """Approve or reject this release (signed: see the command in the description)."""

    approver: str = Field(default="", description="your name, as in the allowed_signers file")
    decision: Literal["approve", "reject"] = "approve"
    comment: str = Field(default="", description="why (goes into the release bundle)")
    signature: str = Field(default="", description="output of the command in the description")


def _approval_description(
    subject: Subject, gate: dict[str, Any], bundle: Path, approved: dict[str, str], required: int
) -> str:
    command = f"safeship approve {subject.run_id} --as YOUR-NAME --key ~/.ssh/id_ed25519"
    lines = [
        f"## Approve {subject.model} {subject.version}?",
        "",
        f"Gate: **{'passed' if gate['passed'] else 'failed'}** for the {gate['risk_tier']} tier.",
        f"Approvals so far: {', '.join(sorted(approved)) or 'none'} ({len(approved)}/{required}).",
        f"Artifact `{subject.artifact_hash}`, safety profile `{subject.profile_hash}`.",
        f"Review everything on one page: {review_url(subject.model, subject.version) or 'no dashboard running'}",
        f"Reports: `{bundle}`",
        "",
        "Approvals are signed. Either approve from a shell (signs and sends, then prints the "
        "verdict):",
        f"`{command} [--reject] [--comment TEXT]`",
        "or add `--print-signature` to that command and paste its output in the `signature` "
        "field below (decision and comment must match what you signed). Unsigned input is "
        "refused.",
    ]
    return "\n".join(lines)


def _can_suspend() -> tuple[bool, set[str]]:
    """Whether this run can suspend (Prefect suspends only top-level runs of a deployment,
    not subflows nor runs called directly), and the pause keys it has already used."""
    context = FlowRunContext.get()
    run = context.flow_run if context is not None else None
    if run is None or run.deployment_id is None or run.parent_task_run_id is not None:
        return False, set()
    return True, set(run.empirical_policy.pause_keys or ())


def _ask(
    subject: Subject, gate: dict[str, Any], bundle: Path, wait: ApprovalWait, slot: ExitStack
) -> Any:
    """Wait for one approval input; None when the wait timed out.

    A run of a deployment is *suspended*: its process ends, the input survives restarts of
    the worker or the server, and the resumed run starts the flow again from the top (every
    step before this one is idempotent; the verdicts so far come back from the ledger). A
    run without a deployment (called directly) can only pause in its process. The release
    slot is given back before the run suspends (not after: the process may be killed)."""
    form_type = ApprovalForm.with_initial_data(
        description=_approval_description(
            subject, gate, bundle, wait.approved, wait.policy.approvals_required
        ),
        approver="",
        decision="approve",
        comment="",
        signature="",
    )
    timeout = max(1, math.ceil(wait.remaining_s))
    suspends, used = _can_suspend()
    if suspends:
        if wait.pause_key not in used:
            slot.close()  # this call suspends the run and ends the process
        # for a key already used, Prefect returns that input without suspending
        return suspend_flow_run(wait_for_input=form_type, timeout=timeout, key=wait.pause_key)
    try:
        return pause_flow_run(
            wait_for_input=form_type,
            timeout=timeout,
            poll_interval=POLL_INTERVAL_S,
            key=wait.pause_key,
        )
    except FlowPauseTimeout:
        return None


@flow(name="release", log_prints=True)
def release(request: ReleaseRequest) -> dict[str, Any]:
    """Release a candidate model version: lineage, data validation, safety battery, gate,
    human approval (paused run; four-eyes per risk tier), promotion and a release bundle.
    One release per model at a time, across every worker (a Prefect concurrency limit)."""
    with release_slot(request.model) as slot:
        return _release_steps(request, slot)


def _release_steps(request: ReleaseRequest, slot: ExitStack) -> dict[str, Any]:
    """The release, step by step: register, validate, safety battery, gate, approval wait,
    shadow and canary, promote. Long on purpose: it is one ordered list of task calls,
    each of which may end the run, and reading it top to bottom is reading the release;
    the decisions live in the core (``safeship.release``), not here."""
    logger = get_run_logger()
    run_id = str(flow_run.id or uuid.uuid4())
    settings = Settings.from_env()
    timings: dict[str, float] = {}
    sections: dict[str, Any] = {"request": request.model_dump(), "approvals": [], "canary": []}

    def timed(name: str, fn: Any, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            timings[name] = round(time.perf_counter() - started, 3)

    params = timed("load_params", load_params_task)
    registered = timed("register", t.register_task, request)
    model, version = registered.model, registered.version
    sections["registration"] = registered.model_dump()
    bundle = bundle_dir(settings.project_root / "reports", model, version, run_id)
    previous = t.production_task(model)
    logger.info("registered %s %s (%s)", model, version, registered.dir_hash)

    def finish(decision: str, reasons: list[str]) -> dict[str, Any]:
        sections["timings_s"] = timings
        sections["reasons"] = reasons
        if decision == "rejected":
            t.reject_task(model, version, "; ".join(reasons)[:500] or "release stopped")
        path, digest = t.bundle_task(model, version, run_id, bundle, decision, sections, previous)
        summary = {
            "model": model,
            "version": version,
            "decision": decision,
            "reasons": reasons,
            "bundle": path,
            "bundle_sha256": digest,
            "run_id": run_id,
            "timings_s": timings,
            "approvals": sections["approvals"],
        }
        publish_artifacts(summary, sections, bundle)
        t.checkpoint_task(f"release {model} {version} {decision} (run {run_id})")
        if decision != "promoted":
            raise ReleaseFailed(f"{model} {version} {decision}: " + "; ".join(reasons))
        return summary

    validation = timed("validate", t.validate_task, model, version, params, bundle / "validation")
    sections["validation"] = validation.model_dump()
    if not validation.passed:
        return finish("rejected", ["data validation failed", *validation.reasons[:10]])

    safety = timed("safety", t.safety_task, model, version, params, bundle / "safety")
    sections["safety"] = safety.model_dump()
    gate = timed("gate", t.gate_task, model, version, params)
    sections["gate"] = gate
    if not gate["passed"]:
        return finish("rejected", ["safety gate failed", *gate["reasons"]])

    tier = gate["risk_tier"]
    policy = params.release.tiers[tier]
    shown = t.current_hashes_task(model, version)
    subject = Subject(run_id=run_id, model=model, version=version, **shown.model_dump())
    publish_review_artifacts(
        model, version, run_id, gate, settings.project_root / "reports", bundle
    )
    since, verdicts = t.request_approval_task(subject, policy.approvals_required)
    wait = ApprovalWait.resume(policy, since, verdicts)  # a resumed run picks up its wait
    sections["approvals"] = [v.model_dump(exclude={"signature"}) for v in verdicts]
    while wait.waiting:
        form = _ask(subject, gate, bundle, wait, slot)
        if form is None:
            break
        submitted = ApprovalInput(
            approver=form.approver or "",
            decision=form.decision,
            comment=form.comment,
            signature=form.signature or "",
        )
        live = subject.model_copy(update=t.current_hashes_task(model, version).model_dump())
        verdict = t.approval_task(submitted, live, wait.approved, wait.seen, params)
        wait.record(verdict)
        sections["approvals"].append(verdict.model_dump(exclude={"signature"}))
        logger.info(
            "approval input from %s: %s (%s)", verdict.approver, verdict.outcome, verdict.reason
        )
    timings["approval"] = wait.elapsed_s
    if wait.rejection is not None:
        return finish("rejected", [wait.rejection])
    if not wait.complete:
        return finish("rejected", [wait.timeout_reason])
    t.mark_approved_task(model, version, wait.approved, run_id)
    if canary_runs(params, previous, version):
        # shadow, then canary: only against a production version (a first release has none)
        shadow = timed("shadow", shadow_evaluation, model, version, str(bundle / "shadow"))
        sections["shadow"] = shadow
        if not shadow["passed"]:
            return finish("rejected", ["shadow evaluation failed", *shadow["reasons"]])
        try:
            rollout = timed("canary", canary_rollout, model, version, str(bundle / "canary"))
        except CanaryRolledBack as error:
            sections["canary"] = error.steps
            return finish("rolled_back", [str(error)])
        sections["canary"] = rollout["steps"]
    timed("promote", t.promote_task, model, version, run_id)
    return finish("promoted", [])


__all__ = ["release", "ReleaseRequest", "ApprovalForm", "summary_markdown"]
