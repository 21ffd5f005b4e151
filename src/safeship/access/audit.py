"""The service key, and re-verifying the signatures the ledger carries.

Each deployment of safeship (a state folder) has its own ed25519 *service key*, made by
``safeship init`` (``<state>/service_key``, mode 0600, and ``service_key.pub``). The service
signs what it does on its own (automatic rollbacks, naming the rule that fired) and the
ledger checkpoints it writes to the artifact remote. People sign with their own keys, listed
in the project's allowed_signers file. ``audit verify`` re-verifies both kinds.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from safeship.access.identities import PublicKey, Signers, load_signers
from safeship.access.signatures import SigningKey, verify
from safeship.errors import ConfigError, SignatureInvalid

SERVICE = "safeship-service"
KEY_FILE = "service_key"


def service_key_path(state_dir: Path) -> Path:
    return state_dir / KEY_FILE


def ensure_service_key(state_dir: Path) -> SigningKey:
    """The state folder's service key; made (once) when missing."""
    import os
    import tempfile

    path = service_key_path(state_dir)
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=state_dir) as scratch:
            draft = Path(scratch) / KEY_FILE
            SigningKey.generate().save(draft, comment=f"{SERVICE}@{state_dir.name}")
            try:  # atomic: a concurrent process that made the key first wins
                os.link(draft, path)
                os.replace(Path(scratch) / (KEY_FILE + ".pub"), state_dir / (KEY_FILE + ".pub"))
            except FileExistsError:
                pass
    return SigningKey.load(path)


def service_public_key(state_dir: Path) -> PublicKey | None:
    path = state_dir / (KEY_FILE + ".pub")
    if not path.exists():
        return None
    parts = path.read_text(encoding="utf-8").split()
    if len(parts) < 2:
        raise ConfigError(f"{path} is not an OpenSSH public key line; re-run `safeship init`")
    return PublicKey.from_openssh(parts[0], parts[1], str(path))


def audit_signers(project_root: Path, state_dir: Path, allowed: str, revoked: str) -> Signers:
    """People's keys (allowed_signers) plus this deployment's service key."""
    signers = load_signers(project_root, allowed, revoked)
    return replace(signers, service=service_public_key(state_dir))


def signature_problem(
    token: str,
    key: str | None,
    actor: str,
    model: str | None,
    version: str | None,
    signers: Signers,
) -> str | None:
    """Why a ledger event's signature does not hold (None when it does).

    The statement must verify with a listed key of the event's actor (no expiry: it was
    checked when recorded), carry that key's fingerprint, and be about the event's model
    and version."""
    try:
        verified = verify(token, signers, purpose=None, max_age_s=None)
    except SignatureInvalid as error:
        return str(error)
    if verified.key != key:
        return f"the event names key {key}, the signature verifies with {verified.key}"
    payload = verified.payload
    if payload.get("signer") != actor:
        return f"signed by {payload.get('signer')!r}, but the event's actor is {actor!r}"
    for name, value in (("model", model), ("version", version)):
        if payload.get(name) is not None and value is not None and payload[name] != value:
            return f"signed over {name} {payload[name]!r}, but the event is about {value!r}"
    return None
