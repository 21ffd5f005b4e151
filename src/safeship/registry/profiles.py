"""Safety profiles stored with versions: a locked baseline, then appended amendments."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from safeship import ledger
from safeship.errors import InputError, NotFoundError
from safeship.events import EventKind
from safeship.ledger import canonical_json, format_time, utc_now
from safeship.registry import db
from safeship.registry.tables import safety_profiles


class StoredProfile(BaseModel):
    model: str
    version: str
    seq: int
    kind: str
    reason: str | None
    probe_set_version: str | None
    probe_set_hash: str | None
    profile: dict[str, Any]
    profile_hash: str
    created_at: str


def profile_hash(profile: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(profile).encode()).hexdigest()


def _stored(row: Any) -> StoredProfile:
    return StoredProfile(
        model=row.model_name,
        version=row.version,
        seq=row.seq,
        kind=row.kind,
        reason=row.reason,
        probe_set_version=row.probe_set_version,
        probe_set_hash=row.probe_set_hash,
        profile=json.loads(row.profile),
        profile_hash=row.profile_hash,
        created_at=row.created_at,
    )


class ProfileStore:
    """Append-only safety profiles; used through ``Registry.profiles``."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def history(self, model: str, version: str) -> list[StoredProfile]:
        self.registry.version(model, version)
        with db.read_connection(self.registry.engine) as connection:
            rows = connection.execute(
                select(safety_profiles)
                .where(safety_profiles.c.model_name == model, safety_profiles.c.version == version)
                .order_by(safety_profiles.c.seq)
            ).all()
        return [_stored(r) for r in rows]

    def latest(self, model: str, version: str) -> StoredProfile | None:
        history = self.history(model, version)
        return history[-1] if history else None

    def baseline(self, model: str, version: str) -> StoredProfile | None:
        history = self.history(model, version)
        return history[0] if history else None

    def require_latest(self, model: str, version: str) -> StoredProfile:
        latest = self.latest(model, version)
        if latest is None:
            raise NotFoundError(
                f"{model} {version} has no safety profile yet: run `safeship scan {model} {version}`"
            )
        return latest

    def append(
        self,
        model: str,
        version: str,
        profile: dict[str, Any],
        *,
        actor: str,
        reason: str | None = None,
        probe_set_version: str | None = None,
        probe_set_hash: str | None = None,
    ) -> StoredProfile:
        """Store the baseline (first call) or an amendment (later calls, reason required)."""
        self.registry.version(model, version)
        digest = profile_hash(profile)
        with db.write_transaction(self.registry.engine) as connection:
            last = connection.execute(
                select(safety_profiles.c.seq)
                .where(safety_profiles.c.model_name == model, safety_profiles.c.version == version)
                .order_by(safety_profiles.c.seq.desc())
                .limit(1)
            ).scalar()
            seq = 0 if last is None else int(last) + 1
            kind = "baseline" if seq == 0 else "amendment"
            if kind == "amendment" and not reason:
                raise InputError("an amendment to a safety profile needs a reason")
            now = format_time(utc_now())
            connection.execute(
                safety_profiles.insert().values(
                    model_name=model,
                    version=version,
                    seq=seq,
                    kind=kind,
                    reason=reason,
                    probe_set_version=probe_set_version,
                    probe_set_hash=probe_set_hash,
                    profile=canonical_json(profile),
                    profile_hash=digest,
                    created_at=now,
                )
            )
            ledger.append(
                connection,
                actor=actor,
                kind=EventKind(f"safety.{kind}"),
                model=model,
                version=version,
                payload={
                    "seq": seq,
                    "profile_hash": digest,
                    "reason": reason,
                    "probe_set_version": probe_set_version,
                    "probe_set_hash": probe_set_hash,
                    "passed": profile.get("passed"),
                },
            )
        return self.history(model, version)[-1]
