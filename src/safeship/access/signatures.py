"""Signed statements: ed25519 (``cryptography``) over a canonical JSON payload.

A token is ``ssv1.<payload>.<signature>`` (both base64url, no padding). The signed message
is ``b"safeship-v1\\n" + payload`` where ``payload`` is the canonical JSON (sorted keys, no
spaces) of a statement that always names its ``purpose`` (approval, promote, rollback, …),
its ``signer`` (a normalised name) and its ``time`` (UTC, seconds). Carrying the payload
inside the token lets a refusal say exactly what was signed (another run, another version)
instead of only "does not verify".

Keys are ordinary OpenSSH ed25519 key files (``ssh-keygen -t ed25519`` makes them; so does
``safeship keygen``); public keys go in the ``allowed_signers`` file git uses.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from safeship.access.identities import PublicKey, Signers, normalise_name
from safeship.errors import ConfigError, InputError, SignatureInvalid

PREFIX = "ssv1"
DOMAIN = b"safeship-v1\n"


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def token_digest(token: str) -> str:
    """A short stable id of a token (what the ledger and replay checks use)."""
    return hashlib.sha256(token.encode()).hexdigest()


class SigningKey:
    """An ed25519 private key loaded from an OpenSSH key file (unencrypted)."""

    def __init__(self, private: Any) -> None:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self._private = private
        raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public = PublicKey.from_raw(raw)

    @classmethod
    def generate(cls) -> SigningKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import load_ssh_private_key

        if not path.is_file():
            raise InputError(
                f"no signing key at {path}: pass --key PATH (an OpenSSH ed25519 private key, "
                "e.g. ~/.ssh/id_ed25519) or set SAFESHIP_SIGNING_KEY"
            )
        try:
            private = load_ssh_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as error:
            raise InputError(
                f"{path} is not an unencrypted OpenSSH private key ({error}); "
                "use an ed25519 key without a passphrase, or make one with `safeship keygen`"
            ) from error
        if not isinstance(private, Ed25519PrivateKey):
            raise InputError(f"{path} is not an ed25519 key: safeship signs with ed25519 only")
        return cls(private)

    def save(self, path: Path, comment: str) -> None:
        """Write the private key (0600) and ``path.pub`` in OpenSSH formats."""
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )

        path.parent.mkdir(parents=True, exist_ok=True)
        data = self._private.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())
        path.write_bytes(data)
        path.chmod(0o600)
        path.with_name(path.name + ".pub").write_text(f"{self.public.openssh()} {comment}\n")

    def sign(self, payload: dict[str, Any]) -> str:
        body = canonical(payload)
        signature: bytes = self._private.sign(DOMAIN + body)
        return f"{PREFIX}.{_b64e(body)}.{_b64e(signature)}"


def statement(
    purpose: str, signer: str, *, at: datetime | None = None, **fields: Any
) -> dict[str, Any]:
    """A payload to sign: purpose, normalised signer, time (UTC seconds), and the fields."""
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    return {
        "purpose": purpose,
        "signer": normalise_name(signer),
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **fields,
    }


@dataclass(frozen=True)
class Verified:
    """A statement whose signature verified against one of its signer's listed keys."""

    signer: str
    key: str  # fingerprint
    payload: dict[str, Any]
    token: str

    @property
    def digest(self) -> str:
        return token_digest(self.token)


def decode_token(token: str) -> tuple[bytes, bytes, dict[str, Any]]:
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise SignatureInvalid(f"malformed signature: expected '{PREFIX}.<payload>.<signature>'")
    try:
        body, signature = _b64d(parts[1]), _b64d(parts[2])
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise SignatureInvalid(f"malformed signature: {error}") from error
    if not isinstance(payload, dict) or not isinstance(payload.get("signer"), str):
        raise SignatureInvalid("malformed signature: the payload names no signer")
    if len(signature) != 64:
        raise SignatureInvalid("malformed signature: an ed25519 signature is 64 bytes")
    return body, signature, payload


def _check_time(payload: dict[str, Any], now: datetime, max_age_s: int, skew_s: int) -> None:
    try:
        signed_at = datetime.strptime(str(payload.get("time")), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError as error:
        raise SignatureInvalid("malformed signature: the payload has no valid time") from error
    age = (now - signed_at.replace(tzinfo=UTC)).total_seconds()
    if age > max_age_s:
        raise SignatureInvalid(
            f"expired signature: made {int(age)} s ago, the limit is {max_age_s} s; sign again"
        )
    if age < -skew_s:
        raise SignatureInvalid(
            f"signature dated {int(-age)} s in the future (clock skew limit {skew_s} s)"
        )


@lru_cache(maxsize=1024)
def _public(raw: bytes) -> Any:
    """The ``cryptography`` key object for 32 raw bytes (made once per key)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(raw)


def verify(
    token: str,
    signers: Signers,
    *,
    purpose: str | None,
    now: datetime | None = None,
    max_age_s: int | None = 3600,
    skew_s: int = 120,
) -> Verified:
    """Verify a token; raise :class:`SignatureInvalid` saying why it is refused.

    ``purpose`` None accepts any purpose and ``max_age_s`` None skips the time check (the
    audit re-verifies statements that were checked when they were recorded)."""
    from cryptography.exceptions import InvalidSignature

    if not token or not token.strip():
        raise SignatureInvalid("unsigned: a signature is required")
    body, signature, payload = decode_token(token)
    try:
        signer = normalise_name(payload["signer"])
    except InputError as error:
        raise SignatureInvalid(f"malformed signature: {error}") from error
    if purpose is not None and payload.get("purpose") != purpose:
        raise SignatureInvalid(
            f"signature is for {payload.get('purpose')!r}, not {purpose!r}: sign this action"
        )
    keys = signers.keys_of(signer)
    if not keys:
        raise SignatureInvalid(
            f"unknown approver key: {signer!r} has no key in {signers.source}; add their "
            "ssh-ed25519 public key there (a reviewed commit)"
        )
    for key in keys:
        try:
            _public(key.raw).verify(signature, DOMAIN + body)
        except InvalidSignature:
            continue
        if signers.is_revoked(key):
            raise SignatureInvalid(f"signed by a revoked key ({key.fingerprint}) of {signer!r}")
        if max_age_s is not None:
            _check_time(payload, now or datetime.now(UTC), max_age_s, skew_s)
        return Verified(signer=signer, key=key.fingerprint, payload=payload, token=token.strip())
    raise SignatureInvalid(
        f"wrong key: the signature does not verify with any key listed for {signer!r} "
        f"in {signers.source}"
    )


def expect_fields(verified: Verified, expected: dict[str, Any]) -> None:
    """Refuse a verified statement that was signed over other data (run, version, hashes)."""
    for name, value in expected.items():
        signed = verified.payload.get(name)
        if signed != value:
            raise SignatureInvalid(
                f"signature over another {name.replace('_', ' ')}: signed {signed!r}, "
                f"this is {value!r}; sign this one"
            )


def read_key_env(explicit: str | None) -> Path:
    """The signing key path: --key, else SAFESHIP_SIGNING_KEY, else ~/.ssh/id_ed25519."""
    import os

    chosen = explicit or os.environ.get("SAFESHIP_SIGNING_KEY") or "~/.ssh/id_ed25519"
    path = Path(chosen).expanduser()
    if not path.exists() and explicit is None and "SAFESHIP_SIGNING_KEY" not in os.environ:
        raise ConfigError(
            "no signing key: pass --key PATH or set SAFESHIP_SIGNING_KEY to your ed25519 "
            "private key (its public key must be in the project's allowed_signers file)"
        )
    return path
