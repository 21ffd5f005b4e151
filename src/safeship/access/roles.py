"""Roles for deployment moves: who may promote, roll back, abort a canary, and force.

``params.yaml`` ``access.roles`` names the holders of each role. A person's move must carry
their signed statement (purpose = the action) over the model, the target version, the
reason and whether it is forced; ``--force`` is break-glass and also needs the ``force``
role. Moves by safeship's own automation (actors named ``safeship-…``: the release flow,
the canary, the monitor) are signed by this deployment's service key instead, naming the
rule or step that made them. The registry calls :func:`authorize` before it changes
anything, so the CLI, flows and every other caller obey the same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from safeship.access.identities import SERVICE_PREFIX, Signers, normalise_name
from safeship.access.signatures import SigningKey, Verified, expect_fields, statement, verify
from safeship.errors import AccessDenied, SignatureInvalid
from safeship.params.release import AccessParams

ACTIONS = ("promote", "rollback", "abort_canary", "force")


def is_service(actor: str) -> bool:
    return actor.strip().lower().startswith(SERVICE_PREFIX)


def move_fields(
    model: str, version: str | None, reason: str | None, force: bool = False
) -> dict[str, Any]:
    """What a person signs for a deployment move (besides purpose, signer and time)."""
    return {"model": model, "version": version, "reason": reason or "", "force": force}


def check_role(access: AccessParams, action: str, name: str) -> None:
    holders = [normalise_name(n) for n in access.roles.get(action, [])]
    if name not in holders:
        listing = ", ".join(holders) or "nobody"
        raise AccessDenied(
            f"{name!r} may not {action.replace('_', ' ')}: the {action!r} role is held by "
            f"{listing} (params.yaml access.roles)"
        )


def authorize(
    action: str,
    actor: str,
    token: str | None,
    *,
    fields: dict[str, Any],
    access: AccessParams,
    signers: Callable[[], Signers],
    service_key: Callable[[], SigningKey],
    already_used: Callable[[str], bool],
    now: datetime | None = None,
) -> Verified | None:
    """The verified statement that authorises a move; raise when it is not authorised.

    Returns None only when roles are not enforced and a person moved without signing."""
    moment = now or datetime.now(UTC)
    if is_service(actor):
        key = service_key()
        payload = statement(action, actor, at=moment, **fields)
        return Verified(
            signer=normalise_name(actor),
            key=key.public.fingerprint,
            payload=payload,
            token=key.sign(payload),
        )
    if not access.enforce and not token:
        return None
    name = normalise_name(actor)
    check_role(access, action, name)
    if fields.get("force"):
        check_role(access, "force", name)
    if not token:
        raise SignatureInvalid(
            f"{action.replace('_', ' ')} by {name!r} needs their signature: pass --key PATH "
            "(an ed25519 key listed for them in the allowed_signers file)"
        )
    verified = verify(
        token,
        signers(),
        purpose=action,
        now=moment,
        max_age_s=access.signature_max_age_s,
        skew_s=access.clock_skew_s,
    )
    if verified.signer != name:
        raise SignatureInvalid(f"the move names {name!r} but is signed by {verified.signer!r}")
    expect_fields(verified, fields)
    if already_used(verified.token):
        raise SignatureInvalid("replayed signature: this statement already authorised a move")
    return verified


__all__ = ["ACTIONS", "authorize", "check_role", "is_service", "move_fields"]
