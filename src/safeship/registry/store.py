"""The registry store: every state change and its ledger event in one transaction.

Versions are immutable (database triggers refuse changes to their content); only their
status and the per-model deployment pointers move, and only through the methods here
and in ``deployments.py`` (reads live in ``base.py``),
each of which appends exactly one ledger event in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from safeship import ledger
from safeship.errors import (
    ConflictError,
    DuplicateVersionError,
    InputError,
    NotFoundError,
)
from safeship.events import EventKind
from safeship.ledger import Event, format_time, utc_now
from safeship.params.base import RISK_TIERS
from safeship.registry import db
from safeship.registry.deployments import DeploymentOps
from safeship.registry.names import validate_model_name, validate_version
from safeship.registry.records import VersionRecord
from safeship.registry.semver import SemVer
from safeship.registry.tables import model_versions, models


class Registry(DeploymentOps):
    """Models, versions, deployment state and the ledger, on one database."""

    def add_version(
        self,
        *,
        model: str,
        version: str,
        manifest: dict[str, Any],
        lineage: dict[str, Any],
        parent_version: str | None,
        adapter: str | None,
        author: str | None,
        notes: str | None,
        risk_tier: str | None,
        actor: str,
    ) -> tuple[VersionRecord, Event]:
        validate_model_name(model)
        SemVer.parse(validate_version(version))
        if risk_tier is not None and risk_tier not in RISK_TIERS:
            raise InputError(f"unknown risk tier {risk_tier!r}; allowed: {', '.join(RISK_TIERS)}")
        now = format_time(utc_now())
        try:
            with db.write_transaction(self.engine) as connection:
                model_id, tier, created = self._model_for_new_version(
                    connection, model, version, risk_tier, author, parent_version, now
                )
                connection.execute(
                    model_versions.insert().values(
                        model_id=model_id,
                        version=version,
                        dir_hash=manifest["dir_hash"],
                        manifest=ledger.canonical_json(manifest),
                        lineage=ledger.canonical_json(lineage),
                        parent_version=parent_version,
                        adapter=adapter,
                        author=author,
                        notes=notes,
                        created_at=now,
                        status="registered",
                    )
                )
                event = ledger.append(
                    connection,
                    actor=actor,
                    kind=EventKind.VERSION_REGISTERED,
                    model=model,
                    version=version,
                    payload={
                        "dir_hash": manifest["dir_hash"],
                        "files": len(manifest["files"]),
                        "parent_version": parent_version,
                        "risk_tier": tier,
                        "model_created": created,
                        "author": author,
                    },
                )
        except IntegrityError as error:
            raise DuplicateVersionError(
                f"model {model!r} already has version {version!r}; versions are immutable: "
                "register a new version number"
            ) from error
        return self.version(model, version), event

    def _model_for_new_version(
        self,
        connection: Connection,
        model: str,
        version: str,
        risk_tier: str | None,
        author: str | None,
        parent_version: str | None,
        now: str,
    ) -> tuple[int, str, bool]:
        """The model's id and tier (created on first registration), after the checks a new
        version must pass: same tier, version not taken, parent exists."""
        model_row = connection.execute(select(models).where(models.c.name == model)).first()
        if model_row is None:
            if parent_version is not None:
                raise NotFoundError(
                    f"parent version {parent_version!r} does not exist: "
                    f"model {model!r} has no versions"
                )
            tier = risk_tier or "medium"
            result = connection.execute(
                models.insert().values(name=model, risk_tier=tier, owner=author, created_at=now)
            )
            primary_key = result.inserted_primary_key
            assert primary_key is not None
            return int(primary_key[0]), tier, True
        tier = str(model_row.risk_tier)
        if risk_tier is not None and risk_tier != tier:
            raise ConflictError(
                f"model {model!r} has risk tier {tier}; the tier is set when a model "
                "is first registered (omit --risk-tier)"
            )
        self._refuse_duplicate(connection, model_row, version)
        if parent_version is not None:
            self._version_row(connection, model_row, parent_version)
        return int(model_row.id), tier, False

    def _refuse_duplicate(self, connection: Connection, model_row: Any, version: str) -> None:
        exists = connection.execute(
            select(model_versions.c.id).where(
                model_versions.c.model_id == model_row.id, model_versions.c.version == version
            )
        ).first()
        if exists is not None:
            raise DuplicateVersionError(
                f"model {model_row.name!r} already has version {version!r}; versions are "
                "immutable: register a new version number"
            )

    def move_status(
        self,
        model: str,
        version: str,
        new: str,
        *,
        actor: str,
        reason: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> Event:
        with db.write_transaction(self.engine) as connection:
            model_row = self._model_row(connection, model)
            old = self._set_status(connection, model_row, version, new)
            return ledger.append(
                connection,
                actor=actor,
                kind=EventKind(f"version.{new}"),
                model=model,
                version=version,
                payload={"from": old, "to": new, "reason": reason, **(payload or {})},
            )
