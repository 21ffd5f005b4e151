"""Signed approvals: every way an approval input can be refused, and four-eyes by keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from safeship.access.identities import Signers, normalise_name, parse_signers
from safeship.access.signatures import SigningKey, statement
from safeship.errors import InputError
from safeship.params import AccessParams, TierPolicy
from safeship.release.approvals import (
    PURPOSE,
    ApprovalInput,
    Subject,
    Verdict,
    approval_statement,
    complete,
    judge,
)

POLICY = TierPolicy(approvers=["alice", "bob", "carol", "dave"], approvals_required=2)
SUBJECT = Subject(
    run_id="run-1", model="m", version="1.0.0", artifact_hash="a.dir", profile_hash="p" * 64
)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KEYS = {name: SigningKey.generate() for name in ("alice", "bob", "carol", "dave", "mallory")}


def _signers(revoked: tuple[str, ...] = (), extra: str = "") -> Signers:
    lines = [f"{n} {KEYS[n].public.openssh()}" for n in ("alice", "bob", "carol", "dave")]
    revoked_lines = [KEYS[n].public.openssh() for n in revoked]
    return parse_signers("\n".join(lines) + "\n" + extra, "\n".join(revoked_lines))


def _sign(
    name: str,
    decision: str = "approve",
    comment: str = "",
    key: str | None = None,
    at: datetime = NOW,
    **changes: Any,
) -> str:
    subject = SUBJECT.model_copy(update=changes)
    payload = statement(PURPOSE, name, at=at, **approval_statement(subject, decision, comment))  # type: ignore[arg-type]
    return KEYS[key or name.strip()].sign(payload)


def _judge(
    token: str,
    name: str | None = None,
    decision: str = "approve",
    comment: str = "",
    done: dict[str, str] | None = None,
    seen: set[str] | None = None,
    signers: Signers | None = None,
    author: str | None = "dave",
) -> Verdict:
    return judge(
        ApprovalInput(approver=name or "", decision=decision, comment=comment, signature=token),  # type: ignore[arg-type]
        policy=POLICY,
        tier="high",
        author=author,
        subject=SUBJECT,
        signers=signers or _signers(),
        access=AccessParams(),
        approved_by=done or {},
        seen=seen or set(),
        now=NOW,
    )


def test_a_signed_approval_is_accepted_with_its_key() -> None:
    verdict = _judge(_sign("alice"), "alice")
    assert verdict.outcome == "accepted", verdict.reason
    assert verdict.approver == "alice" and verdict.key == KEYS["alice"].public.fingerprint
    assert _judge(_sign("bob", "reject", "no"), "bob", "reject", "no").outcome == "rejected"


@pytest.mark.parametrize(
    ("token", "typed", "reason"),
    [
        ("", "alice", "unsigned"),
        ("ssv1.not-base64!.x", "alice", "malformed"),
        ("garbage", "alice", "malformed"),
        (_sign("mallory"), "mallory", "unknown approver key"),
        (_sign("alice", key="bob"), "alice", "wrong key"),
        (_sign("alice", run_id="run-2"), "alice", "another run id"),
        (_sign("alice", version="1.0.1"), "alice", "another version"),
        (_sign("alice", model="other"), "alice", "another model"),
        (_sign("alice", artifact_hash="b.dir"), "alice", "artifact changed"),
        (_sign("alice", profile_hash="q" * 64), "alice", "safety profile changed"),
        (_sign("alice", at=NOW - timedelta(hours=2)), "alice", "expired"),
        (_sign("alice", at=NOW + timedelta(hours=1)), "alice", "future"),
        (_sign("alice"), "bob", "the form names 'bob'"),
        (_sign("alice", comment="x"), "alice", "differs from what was signed"),
        (_sign("dave"), "dave", "author"),
    ],
)
def test_bad_approvals_are_refused(token: str, typed: str, reason: str) -> None:
    verdict = _judge(token, typed)
    assert verdict.outcome == "refused"
    assert reason in verdict.reason


def test_revoked_key_is_refused() -> None:
    verdict = _judge(_sign("alice"), "alice", signers=_signers(revoked=("alice",)))
    assert verdict.outcome == "refused" and "revoked" in verdict.reason


def test_replayed_signature_is_refused() -> None:
    token = _sign("alice")
    first = _judge(token, "alice")
    assert first.outcome == "accepted" and first.signature_digest
    again = _judge(token, "alice", seen={first.signature_digest})
    assert again.outcome == "refused" and "replayed" in again.reason


def test_names_are_normalised_at_the_edge_bob_space_is_bob() -> None:
    assert ApprovalInput(approver="bob ").approver == "bob"
    assert ApprovalInput(approver=" Bob").approver == "bob"
    first = _judge(_sign("bob"), "bob ")
    assert first.outcome == "accepted" and first.approver == "bob"
    second = _judge(
        _sign("bob ", comment="again"), "bob", comment="again", done={"bob": first.key or ""}
    )
    assert second.outcome == "refused" and "already approved" in second.reason
    with pytest.raises(InputError):
        normalise_name("b ob")


def test_four_eyes_counts_distinct_keys_not_names() -> None:
    shared = SigningKey.generate()
    signers = parse_signers(
        f"alice {KEYS['alice'].public.openssh()}\nerin,frank {shared.public.openssh()}\n"
    )
    policy = TierPolicy(approvers=["alice", "erin", "frank"], approvals_required=2)
    assert not complete(
        {"erin": shared.public.fingerprint, "frank": shared.public.fingerprint}, policy
    )
    assert complete(
        {"alice": KEYS["alice"].public.fingerprint, "erin": shared.public.fingerprint}, policy
    )
    # frank signs with the key erin already approved with: refused
    frank = shared.sign(
        statement(PURPOSE, "frank", at=NOW, **approval_statement(SUBJECT, "approve", ""))
    )
    verdict = judge(
        ApprovalInput(approver="frank", signature=frank),
        policy=policy,
        tier="high",
        author=None,
        subject=SUBJECT,
        signers=signers,
        access=AccessParams(),
        approved_by={"erin": shared.public.fingerprint},
        seen=set(),
        now=NOW,
    )
    assert verdict.outcome == "refused" and "already approved" in verdict.reason


def test_author_may_not_approve_with_a_key_they_share() -> None:
    signers = _signers(extra=f"dave2 {KEYS['carol'].public.openssh()}\n")
    verdict = _judge(_sign("carol"), "carol", signers=signers, author="dave2")
    assert verdict.outcome == "refused" and "author" in verdict.reason


def test_not_on_the_tier_list() -> None:
    signers = _signers(extra=f"erin {KEYS['mallory'].public.openssh()}\n")
    verdict = _judge(_sign("erin", key="mallory"), "erin", signers=signers)
    assert verdict.outcome == "refused" and "not an approver" in verdict.reason
