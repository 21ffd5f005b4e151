"""Who is who: approver names, and their public keys from an ``allowed_signers`` file.

The file is the one ``git`` and ``ssh-keygen -Y verify`` use (``gpg.ssh.allowedSignersFile``):
one line per key, ``PRINCIPALS [OPTIONS] ssh-ed25519 BASE64 [COMMENT]``, where PRINCIPALS is
a comma-separated list of names. It lives under version control, so adding an approver is
a reviewed commit. Only ed25519 keys are accepted. A second file lists revoked keys (one
``ssh-ed25519 BASE64`` per line): a revoked key verifies nothing, even if still listed.

Names are normalised once, here, at the edge (``normalise_name``): Unicode NFKC, surrounding
white space removed, lower case. Every comparison of people uses the normalised form, so
"bob " and "Bob" are the same approver.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from safeship.errors import ConfigError, InputError

KEY_TYPE = "ssh-ed25519"
SERVICE_PREFIX = "safeship-"  # names reserved for safeship's own automation


def normalise_name(name: str) -> str:
    """The one canonical form of a person's name (NFKC, stripped, lower case)."""
    cleaned = unicodedata.normalize("NFKC", name).strip().lower()
    if not cleaned or any(ch.isspace() or ch == "," for ch in cleaned):
        raise InputError(
            f"invalid name {name!r}: use a non-empty name without spaces or commas, as listed "
            "in the allowed_signers file"
        )
    return cleaned


def fingerprint(blob: bytes) -> str:
    """The key's fingerprint as ``ssh-keygen -l`` prints it (``SHA256:...``)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


@dataclass(frozen=True)
class PublicKey:
    """An ed25519 public key: its SSH wire blob and the raw 32 key bytes."""

    blob: bytes
    raw: bytes
    fingerprint: str

    @classmethod
    def from_openssh(cls, key_type: str, b64: str, where: str) -> PublicKey:
        if key_type != KEY_TYPE:
            raise ConfigError(f"{where}: key type {key_type!r} is not supported; use {KEY_TYPE}")
        try:
            blob = base64.b64decode(b64, validate=True)
        except ValueError as error:
            raise ConfigError(f"{where}: the key is not valid base64") from error
        raw = _ed25519_raw(blob)
        if raw is None:
            raise ConfigError(f"{where}: not a valid {KEY_TYPE} public key")
        return cls(blob=blob, raw=raw, fingerprint=fingerprint(blob))

    @classmethod
    def from_raw(cls, raw: bytes) -> PublicKey:
        blob = _pack(KEY_TYPE.encode()) + _pack(raw)
        return cls(blob=blob, raw=raw, fingerprint=fingerprint(blob))

    def openssh(self) -> str:
        return f"{KEY_TYPE} {base64.b64encode(self.blob).decode()}"


def _pack(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def _ed25519_raw(blob: bytes) -> bytes | None:
    """The 32 key bytes of an SSH ``ssh-ed25519`` wire blob, or None when malformed."""
    fields: list[bytes] = []
    offset = 0
    while offset < len(blob) and len(fields) < 3:
        size = int.from_bytes(blob[offset : offset + 4], "big")
        fields.append(blob[offset + 4 : offset + 4 + size])
        offset += 4 + size
    if offset != len(blob) or len(fields) != 2 or fields[0] != KEY_TYPE.encode():
        return None
    return fields[1] if len(fields[1]) == 32 else None


@dataclass
class Signers:
    """Principals and their keys, and the revoked keys."""

    keys: dict[str, list[PublicKey]] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)  # fingerprints
    source: str = "allowed_signers"
    service: PublicKey | None = None  # this deployment's key: signs for ``safeship-*`` actors

    def keys_of(self, name: str) -> list[PublicKey]:
        principal = normalise_name(name)
        if principal.startswith(SERVICE_PREFIX):
            return [self.service] if self.service is not None else []
        return self.keys.get(principal, [])

    def owners_of(self, key: PublicKey) -> set[str]:
        return {name for name, keys in self.keys.items() if key in keys}

    def is_revoked(self, key: PublicKey) -> bool:
        return key.fingerprint in self.revoked


def _key_fields(line: str, where: str) -> tuple[str, str, str]:
    """(principals, key type, base64) of one allowed_signers line (options are skipped)."""
    parts = line.split()
    if len(parts) < 3:
        raise ConfigError(f"{where}: expected 'PRINCIPALS [OPTIONS] ssh-ed25519 KEY [COMMENT]'")
    principals = parts[0]
    index = next((i for i, part in enumerate(parts) if part.startswith("ssh-")), None)
    if index is None or index + 1 >= len(parts):
        raise ConfigError(f"{where}: no 'ssh-ed25519 KEY' on the line")
    return principals, parts[index], parts[index + 1]


def parse_signers(text: str, revoked_text: str = "", source: str = "allowed_signers") -> Signers:
    signers = Signers(source=source)
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source}:{number}"
        principals, key_type, b64 = _key_fields(line, where)
        key = PublicKey.from_openssh(key_type, b64, where)
        for principal in principals.split(","):
            try:
                name = normalise_name(principal.strip('"'))
            except InputError as error:
                raise ConfigError(f"{where}: {error}") from error
            if name.startswith(SERVICE_PREFIX):
                raise ConfigError(f"{where}: names starting {SERVICE_PREFIX!r} are reserved")
            signers.keys.setdefault(name, []).append(key)
    for number, raw_line in enumerate(revoked_text.splitlines(), start=1):
        line = raw_line.strip()
        if line and not line.startswith("#"):
            parts = line.split()
            index = next((i for i, p in enumerate(parts) if p.startswith("ssh-")), 0)
            if index + 1 >= len(parts):
                raise ConfigError(f"revoked keys:{number}: expected 'ssh-ed25519 KEY'")
            key = PublicKey.from_openssh(parts[index], parts[index + 1], f"revoked:{number}")
            signers.revoked.add(key.fingerprint)
    return signers


def load_signers(root: Path, allowed: str, revoked: str) -> Signers:
    """Read the project's allowed_signers (and revoked keys) files; absent files are empty."""
    allowed_path = root / allowed
    revoked_path = root / revoked
    text = allowed_path.read_text(encoding="utf-8") if allowed_path.exists() else ""
    revoked_text = revoked_path.read_text(encoding="utf-8") if revoked_path.exists() else ""
    return parse_signers(text, revoked_text, source=str(allowed_path))
