"""Roles and signatures for deployment moves, enforced in the registry (SQLite and PostgreSQL).

Every refusal: one clear error, nothing changed (row counts and ledger count unchanged).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from safeship.access.roles import move_fields
from safeship.access.signatures import SigningKey, statement
from safeship.errors import AccessDenied, LedgerTampered, SignatureInvalid
from safeship.registry.registration import register
from safeship.registry.store import Registry
from tests.helpers import make_artifact

NAMES = ("alice", "bob", "carol")


@pytest.fixture
def keys(project: Path) -> dict[str, SigningKey]:
    """Keys for alice, bob, carol (listed) and mallory (not listed); enforced roles."""
    made = {name: SigningKey.generate() for name in (*NAMES, "mallory")}
    lines = [f"{n} {made[n].public.openssh()}" for n in NAMES]
    (project / ".allowed_signers").write_text("\n".join(lines) + "\n")
    access = {
        "enforce": True,
        "roles": {
            "promote": ["alice", "bob"],
            "rollback": ["alice", "carol"],
            "abort_canary": ["carol"],
            "force": ["alice"],
        },
    }
    (project / "params.yaml").write_text(yaml.safe_dump({"access": access}))
    return made


def _ready(registry: Registry, project: Path, version: str, seed: str) -> None:
    register(
        registry,
        model="demo",
        path=make_artifact(project / f"m{version}", seed=seed),
        version=version,
        author="ann",
    )
    for status in ("validated", "gated", "approved"):
        registry.move_status("demo", version, status, actor="safeship-release")


def _sign(key: SigningKey, action: str, name: str, **fields: Any) -> str:
    return key.sign(statement(action, name, **fields))


def _promote_token(key: SigningKey, name: str, version: str, force: bool = False) -> str:
    reason = "hotfix" if force else None
    return _sign(key, "promote", name, **move_fields("demo", version, reason, force))


def test_signed_moves_by_role_holders(
    registry: Registry, project: Path, keys: dict[str, SigningKey]
) -> None:
    _ready(registry, project, "1.0.0", "a")
    _ready(registry, project, "1.1.0", "b")
    event = registry.promote(
        "demo", "1.0.0", actor="Alice ", signature=_promote_token(keys["alice"], "alice", "1.0.0")
    )
    assert event.actor == "alice" and event.actor_key == keys["alice"].public.fingerprint
    registry.promote(
        "demo", "1.1.0", actor="bob", signature=_promote_token(keys["bob"], "bob", "1.1.0")
    )
    token = _sign(keys["carol"], "rollback", "carol", **move_fields("demo", None, "toxic"))
    rolled = registry.rollback("demo", actor="carol", reason="toxic", signature=token)
    assert rolled.version == "1.0.0"
    result = registry.verify_ledger()
    assert result.signatures_checked and result.signed == 3  # the three people's moves


def test_automation_is_signed_by_the_service_key(
    registry: Registry, project: Path, keys: dict[str, SigningKey]
) -> None:
    _ready(registry, project, "1.0.0", "a")
    event = registry.promote("demo", "1.0.0", actor="safeship-release")
    assert event.signature and event.actor_key
    assert registry.verify_ledger().signed >= 1


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("no role", AccessDenied, "'carol' may not promote"),
        ("unknown key", AccessDenied, "'mallory' may not promote"),
        ("unsigned", SignatureInvalid, "needs their signature"),
        ("wrong key", SignatureInvalid, "wrong key"),
        ("other version", SignatureInvalid, "another version"),
        ("force without role", AccessDenied, "'bob' may not force"),
        ("force unsigned reason", SignatureInvalid, "another reason"),
        ("revoked", SignatureInvalid, "revoked"),
    ],
)
def test_refused_moves_change_nothing(
    registry: Registry,
    project: Path,
    keys: dict[str, SigningKey],
    case: str,
    error: type[Exception],
    message: str,
) -> None:
    _ready(registry, project, "1.0.0", "a")
    _ready(registry, project, "1.1.0", "b")
    before = registry.count_rows()
    alice, bob = keys["alice"], keys["bob"]
    calls: dict[str, Any] = {
        "no role": ("carol", False, _promote_token(keys["carol"], "carol", "1.0.0")),
        "unknown key": ("mallory", False, _promote_token(keys["mallory"], "mallory", "1.0.0")),
        "unsigned": ("alice", False, None),
        "wrong key": ("alice", False, _promote_token(bob, "alice", "1.0.0")),
        "other version": ("alice", False, _promote_token(alice, "alice", "1.1.0")),
        "force without role": ("bob", True, _promote_token(bob, "bob", "1.0.0", force=True)),
        "force unsigned reason": ("alice", True, _promote_token(alice, "alice", "1.0.0")),
        "revoked": ("alice", False, _promote_token(alice, "alice", "1.0.0")),
    }
    if case == "revoked":
        (project / ".revoked_signers").write_text(alice.public.openssh() + "\n")
    actor, force, token = calls[case]
    with pytest.raises(error, match=message):
        registry.promote(
            "demo",
            "1.0.0",
            actor=actor,
            force=force,
            reason="hotfix" if force else None,
            signature=token,
        )
    assert registry.count_rows() == before
    assert registry.deployment("demo").production is None


def test_a_move_signature_cannot_be_replayed(
    registry: Registry, project: Path, keys: dict[str, SigningKey]
) -> None:
    _ready(registry, project, "1.0.0", "a")
    token = _promote_token(keys["alice"], "alice", "1.0.0")
    registry.promote("demo", "1.0.0", actor="alice", signature=token)
    _ready(registry, project, "1.1.0", "b")
    registry.promote(
        "demo", "1.1.0", actor="bob", signature=_promote_token(keys["bob"], "bob", "1.1.0")
    )
    before = registry.count_rows()
    with pytest.raises(SignatureInvalid, match="replayed"):
        registry.promote("demo", "1.0.0", actor="alice", signature=token)
    assert registry.count_rows() == before


def test_break_glass_is_flagged(
    registry: Registry, project: Path, keys: dict[str, SigningKey]
) -> None:
    _ready(registry, project, "1.0.0", "a")
    register(registry, model="demo", path=make_artifact(project / "m2", seed="c"), version="1.2.0")
    token = _promote_token(keys["alice"], "alice", "1.2.0", force=True)
    event = registry.promote(
        "demo", "1.2.0", actor="alice", force=True, reason="hotfix", signature=token
    )
    assert event.payload["break_glass"] is True and event.payload["forced"] is True
    assert event.signature == token


def test_verify_names_the_first_event_whose_signature_fails(
    registry: Registry, project: Path, keys: dict[str, SigningKey]
) -> None:
    _ready(registry, project, "1.0.0", "a")
    event = registry.promote(
        "demo", "1.0.0", actor="alice", signature=_promote_token(keys["alice"], "alice", "1.0.0")
    )
    registry.verify_ledger()
    # alice's key is revoked: what it signed no longer counts
    (project / ".revoked_signers").write_text(keys["alice"].public.openssh() + "\n")
    with pytest.raises(LedgerTampered, match=f"signature of event seq {event.seq} "):
        registry.verify_ledger()
    assert registry.verify_ledger(signatures=False).count == event.seq
