"""The release flow's approval step against a real registry (SQLite and PostgreSQL): every
bad approval is refused with one reason, recorded as one refusal, and changes nothing else;
a good one is recorded with the approver's verified key and signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from safeship.access.signatures import SigningKey, statement, token_digest
from safeship.params import Params
from safeship.registry.registration import register
from safeship.registry.store import Registry
from safeship.release.approvals import PURPOSE, ApprovalInput, Subject, approval_statement
from tests.helpers import make_artifact


@pytest.fixture
def keys(project: Path) -> dict[str, SigningKey]:
    made = {n: SigningKey.generate() for n in ("alice", "bob", "dave", "mallory")}
    listed = [f"{n} {made[n].public.openssh()}" for n in ("alice", "bob", "dave")]
    (project / ".allowed_signers").write_text("\n".join(listed) + "\n")
    return made


def _subject(registry: Registry, project: Path) -> Subject:
    register(
        registry,
        model="demo",
        path=make_artifact(project / "m1", seed="a"),
        version="1.0.0",
        author="dave",
        risk_tier="high",
    )
    record = registry.version("demo", "1.0.0")
    return Subject(
        run_id="run-1",
        model="demo",
        version="1.0.0",
        artifact_hash=record.dir_hash,
        profile_hash="p" * 64,
    )


def _token(key: SigningKey, name: str, subject: Subject, **changes: Any) -> str:
    at = changes.pop("at", None)
    fields = approval_statement(subject.model_copy(update=changes), "approve", "")
    return key.sign(statement(PURPOSE, name, at=at, **fields))


def test_bad_approvals_are_refused_and_recorded_once(
    registry: Registry, project: Path, keys: dict[str, SigningKey]
) -> None:
    from tasks.release import approval_task

    subject = _subject(registry, project)
    alice, bob = keys["alice"], keys["bob"]
    good = _token(alice, "alice", subject)
    old = datetime.now(UTC) - timedelta(hours=3)
    earlier = datetime.now(UTC) - timedelta(seconds=5)  # another statement than ``good``
    bad = [
        ("mallory", _token(keys["mallory"], "mallory", subject), "unknown approver key"),
        ("alice", _token(alice, "alice", subject, run_id="run-2"), "another run id"),
        ("alice", _token(alice, "alice", subject, version="1.0.1"), "another version"),
        ("alice", _token(alice, "alice", subject, artifact_hash="x.dir"), "artifact changed"),
        ("alice", _token(alice, "alice", subject, at=old), "expired"),
        ("dave", _token(keys["dave"], "dave", subject), "author"),
        ("alice", good, "replayed"),
        ("alice", _token(alice, "alice", subject, at=earlier), "already approved"),
    ]
    params = Params()
    approved = {"bob": bob.public.fingerprint}
    seen = {token_digest(good)}
    for name, token, reason in bad:
        before = registry.count_rows()
        status = registry.version("demo", "1.0.0").status
        verdict = approval_task.fn(
            ApprovalInput(approver=name, signature=token),
            subject,
            {**approved, "alice": alice.public.fingerprint}
            if reason == "already approved"
            else approved,
            seen,
            params,
        )
        assert verdict.outcome == "refused" and reason in verdict.reason, (reason, verdict.reason)
        after = registry.count_rows()
        assert after["ledger_events"] == before["ledger_events"] + 1
        assert {k: v for k, v in after.items() if k != "ledger_events"} == {
            k: v for k, v in before.items() if k != "ledger_events"
        }
        assert registry.version("demo", "1.0.0").status == status
        last = registry.events()[-1]
        assert last.kind == "approval.refused" and reason in last.payload["reason"]
    # revoked: alice's key no longer counts
    (project / ".revoked_signers").write_text(alice.public.openssh() + "\n")
    verdict = approval_task.fn(
        ApprovalInput(approver="alice", signature=_token(alice, "alice", subject)),
        subject,
        approved,
        set(),
        params,
    )
    assert verdict.outcome == "refused" and "revoked" in verdict.reason
    (project / ".revoked_signers").unlink()
    accepted = approval_task.fn(
        ApprovalInput(approver="Alice ", signature=_token(alice, "alice", subject)),
        subject,
        approved,
        set(),
        params,
    )
    assert accepted.outcome == "accepted"
    event = registry.events()[-1]
    assert event.actor == "alice" and event.actor_key == alice.public.fingerprint
    assert registry.verify_ledger().signed >= 2  # dave's refused-but-signed one, alice's
