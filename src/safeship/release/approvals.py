"""Approval rules, as plain decisions (the release flow asks a person; this judges the answer).

Every approval is a signed statement (``safeship.access.signatures``) over the run id, the
model, the version, the artifact hash, the safety-profile hash, the decision, the comment
and the time. An input is *refused* (recorded, and the run keeps waiting) when its
signature is missing, malformed, by an unknown, wrong or revoked key, expired, replayed, or
over another run, version or hash; when the signer is not on the tier's list, is the
author (by name or by key), or already approved. A valid, signed *reject* ends the release.
Approvals are complete when enough distinct verified keys of distinct people have approved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from safeship.access.identities import Signers, normalise_name
from safeship.access.signatures import (
    Verified,
    decode_token,
    expect_fields,
    token_digest,
    verify,
)
from safeship.errors import InputError, SignatureInvalid
from safeship.params import AccessParams, TierPolicy

Decision = Literal["approve", "reject"]
Outcome = Literal["accepted", "refused", "rejected"]
PURPOSE = "approval"


class ApprovalInput(BaseModel):
    """What an approver submits (the Prefect form and `safeship approve` send this)."""

    approver: str = Field(default="", description="your name, as in the allowed_signers file")
    decision: Decision = Field(default="approve", description="approve or reject the release")
    comment: str = Field(default="", description="why (shown in the release bundle)")
    signature: str = Field(default="", description="the output of the command shown above")

    @field_validator("approver")
    @classmethod
    def _normalise(cls, value: str) -> str:
        """Names are normalised once, here: "Bob " and "bob" are one person. A name that
        cannot be a principal is kept as typed: it matches no signer, so it is refused."""
        if not value.strip():
            return ""
        try:
            return normalise_name(value)
        except InputError:
            return value.strip()


class Shown(BaseModel):
    """The hashes an approver signs: the artifact and the safety profile."""

    artifact_hash: str
    profile_hash: str


class Subject(BaseModel):
    """What an approval is about: this run, this version, these hashes."""

    run_id: str
    model: str
    version: str
    artifact_hash: str
    profile_hash: str


class Verdict(BaseModel):
    outcome: Outcome
    reason: str
    approver: str
    decision: Decision
    comment: str
    artifact_hash: str
    profile_hash: str
    key: str | None = None
    signature_digest: str | None = None
    signature: str = ""

    def statement(self) -> Verified | None:
        """The verified signed statement behind this verdict (None when refused unverified)."""
        if self.key is None or not self.signature:
            return None
        payload = decode_token(self.signature)[2]
        return Verified(signer=self.approver, key=self.key, payload=payload, token=self.signature)


def approval_statement(subject: Subject, decision: Decision, comment: str) -> dict[str, Any]:
    """The fields an approver signs (with purpose, signer and time added by the signer)."""
    return {**subject.model_dump(), "decision": decision, "comment": comment}


def _verify_signature(
    submitted: ApprovalInput,
    subject: Subject,
    signers: Signers,
    access: AccessParams,
    now: datetime,
) -> Verified:
    verified = verify(
        submitted.signature,
        signers,
        purpose=PURPOSE,
        now=now,
        max_age_s=access.signature_max_age_s,
        skew_s=access.clock_skew_s,
    )
    if submitted.approver and submitted.approver != verified.signer:
        raise SignatureInvalid(
            f"the form names {submitted.approver!r} but the signature is by {verified.signer!r}"
        )
    expect_fields(verified, {k: getattr(subject, k) for k in ("run_id", "model", "version")})
    for name, label in (("artifact_hash", "artifact"), ("profile_hash", "safety profile")):
        signed, current = verified.payload.get(name), getattr(subject, name)
        if signed != current:
            raise SignatureInvalid(
                f"the {label} changed since it was signed ({str(signed)[:16]} → "
                f"{current[:16]}): review the new one and sign again"
            )
    if (verified.payload.get("decision"), verified.payload.get("comment")) != (
        submitted.decision,
        submitted.comment,
    ):
        raise SignatureInvalid(
            "the form's decision or comment differs from what was signed: sign what you submit"
        )
    return verified


def judge(
    submitted: ApprovalInput,
    *,
    policy: TierPolicy,
    tier: str,
    author: str | None,
    subject: Subject,
    signers: Signers,
    access: AccessParams,
    approved_by: dict[str, str],
    seen: set[str],
    now: datetime,
) -> Verdict:
    """Decide what one submitted approval means (``approved_by``: name → key fingerprint)."""
    digest = token_digest(submitted.signature) if submitted.signature.strip() else None

    def verdict(outcome: Outcome, reason: str, who: str, key: str | None = None) -> Verdict:
        return Verdict(
            outcome=outcome,
            reason=reason,
            approver=who,
            decision=submitted.decision,
            comment=submitted.comment,
            artifact_hash=subject.artifact_hash,
            profile_hash=subject.profile_hash,
            key=key,
            signature_digest=digest,
            signature=submitted.signature.strip(),
        )

    typed = submitted.approver or "?"
    if digest is not None and digest in seen:
        return verdict(
            "refused", "replayed signature: this exact signature was already used", typed
        )
    try:
        verified = _verify_signature(submitted, subject, signers, access, now)
    except SignatureInvalid as error:
        return verdict("refused", f"{error}", typed)
    name, key = verified.signer, verified.key
    author_name = _as_principal(author)
    if author_name is not None and (name == author_name or author_name in _owners(signers, key)):
        return verdict(
            "refused", f"{name!r} is the author of this version and may not approve it", name, key
        )
    if name not in {normalise_name(a) for a in policy.approvers}:
        return verdict(
            "refused",
            f"{name!r} is not an approver for {tier}-tier models; approvers: "
            + ", ".join(policy.approvers),
            name,
            key,
        )
    if submitted.decision == "reject":
        return verdict(
            "rejected", f"rejected by {name}: {submitted.comment or 'no comment'}", name, key
        )
    if name in approved_by or key in approved_by.values():
        return verdict(
            "refused",
            f"{name!r} (key {key}) has already approved; approvals must be distinct",
            name,
            key,
        )
    return verdict("accepted", f"approved by {name} (key {key})", name, key)


def _as_principal(name: str | None) -> str | None:
    """A free-text name (the version's author) in principal form, when it can be one."""
    if name is None or not name.strip():
        return None
    try:
        return normalise_name(name)
    except InputError:
        return name.strip().lower()


def _owners(signers: Signers, fingerprint: str) -> set[str]:
    return {
        n for n, keys in signers.keys.items() if any(k.fingerprint == fingerprint for k in keys)
    }


def complete(approved_by: dict[str, str], policy: TierPolicy) -> bool:
    """Enough distinct people with distinct verified keys have approved."""
    return min(len(approved_by), len(set(approved_by.values()))) >= policy.approvals_required
