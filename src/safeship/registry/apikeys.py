"""Gateway API keys in the registry: created, listed, pinned and revoked here; the gateway
reads the active ones into memory (:mod:`safeship.gateway.auth`).

A key is ``ss-`` followed by 43 random URL-safe characters (256 bits). Only its SHA-256
is stored (a key this random needs no slow hash); the secret is shown once, at creation.
Scopes: ``infer`` (call models) and ``pin`` (also choose a version: ``MODEL@VERSION`` or
the ``X-Safeship-Version`` header). A key with ``pin`` scope may carry a stored pin — its
user's opt-out from new versions — honoured while that version is deployable. Every
change appends one ledger event in the same transaction.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Column, Integer, String, Table, select

from safeship import ledger
from safeship.errors import ConflictError, InputError, NotFoundError
from safeship.events import EventKind
from safeship.ledger import format_time, utc_now
from safeship.registry import db
from safeship.registry.tables import metadata

if TYPE_CHECKING:
    from safeship.ledger import Event
    from safeship.registry.base import RegistryBase

Scope = Literal["infer", "pin"]
SCOPES: tuple[Scope, ...] = ("infer", "pin")
KEY_PREFIX = "ss-"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_SECRET = re.compile(r"^ss-[A-Za-z0-9_-]{43}$")
#: statuses a key may be pinned to at pin time (retired/rejected versions are on the way out)
PINNABLE = frozenset({"approved", "canary", "production"})

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("scopes", String(40), nullable=False),
    Column("pin_model", String(200), nullable=True),
    Column("pin_version", String(100), nullable=True),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("revoked_at", String(40), nullable=True),
)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One key as stored (never the secret)."""

    name: str
    key_hash: str
    prefix: str
    scopes: tuple[str, ...]
    pin_model: str | None
    pin_version: str | None
    created_at: str
    created_by: str
    revoked_at: str | None

    @property
    def can_pin(self) -> bool:
        return "pin" in self.scopes

    @property
    def pin(self) -> str | None:
        return f"{self.pin_model}@{self.pin_version}" if self.pin_model else None

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name, "prefix": self.prefix, "scopes": list(self.scopes),
            "pin": self.pin, "created_at": self.created_at, "created_by": self.created_by,
            "revoked_at": self.revoked_at,
        }  # fmt: skip


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def well_formed(secret: str) -> bool:
    return _SECRET.match(secret) is not None


def parse_pin(text: str) -> tuple[str, str]:
    model, sep, version = text.partition("@")
    if not sep or not model or not version:
        raise InputError(f"pin {text!r} is malformed: use MODEL@VERSION (e.g. demo-chat@1.0.0)")
    return model, version


def _row(row: Any) -> ApiKey:
    r = row._mapping
    return ApiKey(
        name=r["name"], key_hash=r["key_hash"], prefix=r["prefix"],
        scopes=tuple(r["scopes"].split(",")), pin_model=r["pin_model"],
        pin_version=r["pin_version"], created_at=r["created_at"], created_by=r["created_by"],
        revoked_at=r["revoked_at"],
    )  # fmt: skip


class KeyStore:
    """API keys of one registry (``KeyStore(registry)``)."""

    def __init__(self, registry: RegistryBase) -> None:
        self.registry = registry

    def list(self, *, include_revoked: bool = True) -> list[ApiKey]:
        query = select(api_keys).order_by(api_keys.c.name)
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        with db.read_connection(self.registry.engine) as connection:
            return [_row(r) for r in connection.execute(query)]

    def get(self, name: str) -> ApiKey:
        with db.read_connection(self.registry.engine) as connection:
            row = connection.execute(select(api_keys).where(api_keys.c.name == name)).first()
        if row is None:
            raise NotFoundError(f"no API key named {name!r}; see `safeship keys list`")
        return _row(row)

    def _check_pin(self, pin: str) -> tuple[str, str]:
        model, version = parse_pin(pin)
        record = self.registry.version(model, version)  # NotFoundError names what is missing
        if record.status not in PINNABLE:
            raise InputError(
                f"cannot pin to {model}@{version}: it is {record.status}; pin a version that "
                f"is {', '.join(sorted(PINNABLE))}"
            )
        return model, version

    def create(
        self, name: str, *, scope: Scope = "infer", pin: str | None = None, actor: str
    ) -> tuple[ApiKey, str, Event]:
        """A new key; returns it, its secret (shown once) and the ledger event."""
        if not _NAME.match(name):
            raise InputError(
                f"key name {name!r} is invalid: 1-64 of a-z, 0-9, '.', '_', '-', "
                "starting with a letter or digit"
            )
        if scope not in SCOPES:
            raise InputError(f"unknown scope {scope!r}; allowed: {', '.join(SCOPES)}")
        if pin is not None and scope != "pin":
            raise InputError("--pin needs --scope pin (a key without pin scope cannot pin)")
        pinned = self._check_pin(pin) if pin is not None else (None, None)
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        scopes = "infer,pin" if scope == "pin" else "infer"
        now = format_time(utc_now())
        with db.write_transaction(self.registry.engine) as connection:
            if connection.execute(select(api_keys.c.id).where(api_keys.c.name == name)).first():
                raise ConflictError(f"an API key named {name!r} exists; revoke it or pick a name")
            connection.execute(
                api_keys.insert().values(
                    name=name, key_hash=hash_secret(secret), prefix=secret[:7], scopes=scopes,
                    pin_model=pinned[0], pin_version=pinned[1], created_at=now, created_by=actor,
                )
            )  # fmt: skip
            event = ledger.append(
                connection, actor=actor, kind=EventKind.KEY_CREATED, model=pinned[0],
                version=pinned[1], payload={"name": name, "scopes": scopes, "prefix": secret[:7]},
            )  # fmt: skip
        return self.get(name), secret, event

    def revoke(self, name: str, *, actor: str) -> Event:
        key = self.get(name)
        if key.revoked_at is not None:
            raise ConflictError(f"API key {name!r} was already revoked at {key.revoked_at}")
        with db.write_transaction(self.registry.engine) as connection:
            connection.execute(
                api_keys.update()
                .where(api_keys.c.name == name)
                .values(revoked_at=format_time(utc_now()))
            )
            return ledger.append(
                connection, actor=actor, kind=EventKind.KEY_REVOKED, payload={"name": name}
            )

    def pin(self, name: str, pin: str, *, actor: str) -> Event:
        key = self.get(name)
        if key.revoked_at is not None:
            raise ConflictError(f"API key {name!r} is revoked; create a new key")
        if not key.can_pin:
            raise InputError(
                f"API key {name!r} has scope 'infer' only: a key without pin scope cannot pin; "
                "create one with --scope pin"
            )
        model, version = self._check_pin(pin)
        with db.write_transaction(self.registry.engine) as connection:
            connection.execute(
                api_keys.update()
                .where(api_keys.c.name == name)
                .values(pin_model=model, pin_version=version)
            )
            return ledger.append(
                connection, actor=actor, kind=EventKind.KEY_PINNED, model=model, version=version,
                payload={"name": name},
            )  # fmt: skip
