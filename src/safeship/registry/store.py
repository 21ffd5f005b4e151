"""The registry store: every state change and its ledger event in one transaction.

Versions are immutable (database triggers refuse changes to their content); only their
status and the per-model deployment pointers move, and only through the methods here,
each of which appends exactly one ledger event in the same transaction.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from safeship import ledger
from safeship.config import RISK_TIERS, Settings
from safeship.errors import (
    ConflictError,
    DuplicateVersionError,
    InputError,
    NotFoundError,
)
from safeship.ledger import Event, format_time, utc_now
from safeship.registry import db
from safeship.registry.profiles import ProfileStore
from safeship.registry.records import DeploymentState, HistoryPoint, ModelRecord, VersionRecord
from safeship.registry.semver import SemVer
from safeship.registry.status import DEPLOYABLE, check_move
from safeship.registry.tables import deployment_history, deployments, model_versions, models


def _version_record(model: str, row: Any) -> VersionRecord:
    return VersionRecord(
        model=model,
        version=row.version,
        status=row.status,
        dir_hash=row.dir_hash,
        manifest=json.loads(row.manifest),
        lineage=json.loads(row.lineage),
        parent_version=row.parent_version,
        adapter=row.adapter,
        author=row.author,
        notes=row.notes,
        created_at=row.created_at,
    )


class Registry:
    """Models, versions, deployment state and the ledger, on one database."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    @classmethod
    def open(cls, settings: Settings | None = None) -> Registry:
        settings = settings or Settings.from_env()
        engine = db.make_engine(settings.db_url)
        db.ensure_schema(engine)
        return cls(engine, settings)

    @property
    def profiles(self) -> ProfileStore:
        """Safety profiles: a locked baseline per version, then appended amendments."""
        return ProfileStore(self)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ----------------------------------------------------------------- reads
    def _model_row(self, connection: Connection, name: str) -> Any:
        row = connection.execute(select(models).where(models.c.name == name)).first()
        if row is None:
            known = (
                connection.execute(select(models.c.name).order_by(models.c.name)).scalars().all()
            )
            listing = ", ".join(known) if known else "none yet (register one first)"
            raise NotFoundError(f"unknown model {name!r}; known models: {listing}")
        return row

    def _version_row(self, connection: Connection, model_row: Any, version: str) -> Any:
        row = connection.execute(
            select(model_versions).where(
                model_versions.c.model_id == model_row.id, model_versions.c.version == version
            )
        ).first()
        if row is None:
            known = (
                connection.execute(
                    select(model_versions.c.version).where(
                        model_versions.c.model_id == model_row.id
                    )
                )
                .scalars()
                .all()
            )
            ordered = sorted(known, key=lambda v: SemVer.parse(v).sort_key())
            listing = ", ".join(ordered) if ordered else "none"
            raise NotFoundError(
                f"model {model_row.name!r} has no version {version!r}; its versions: {listing}"
            )
        return row

    def models(self) -> list[ModelRecord]:
        with db.read_connection(self.engine) as connection:
            rows = connection.execute(select(models).order_by(models.c.name)).all()
        return [
            ModelRecord(name=r.name, risk_tier=r.risk_tier, owner=r.owner, created_at=r.created_at)
            for r in rows
        ]

    def model(self, name: str) -> ModelRecord:
        with db.read_connection(self.engine) as connection:
            r = self._model_row(connection, name)
        return ModelRecord(
            name=r.name, risk_tier=r.risk_tier, owner=r.owner, created_at=r.created_at
        )

    def versions(self, model: str) -> list[VersionRecord]:
        with db.read_connection(self.engine) as connection:
            model_row = self._model_row(connection, model)
            rows = connection.execute(
                select(model_versions).where(model_versions.c.model_id == model_row.id)
            ).all()
        records = [_version_record(model, r) for r in rows]
        return sorted(records, key=lambda v: SemVer.parse(v.version).sort_key())

    def version(self, model: str, version: str) -> VersionRecord:
        with db.read_connection(self.engine) as connection:
            model_row = self._model_row(connection, model)
            return _version_record(model, self._version_row(connection, model_row, version))

    def has_model(self, model: str) -> bool:
        with db.read_connection(self.engine) as connection:
            return (
                connection.execute(select(models.c.id).where(models.c.name == model)).first()
                is not None
            )

    def deployment(self, model: str) -> DeploymentState:
        with db.read_connection(self.engine) as connection:
            return self._deployment(connection, self._model_row(connection, model))

    def _deployment(self, connection: Connection, model_row: Any) -> DeploymentState:
        row = connection.execute(
            select(deployments).where(deployments.c.model_id == model_row.id)
        ).first()
        if row is None:
            return DeploymentState(model=model_row.name)
        return DeploymentState(
            model=model_row.name,
            production=row.production_version,
            canary=row.canary_version,
            canary_weight=row.canary_weight,
            shadow=row.shadow_version,
            updated_at=row.updated_at,
        )

    def change_counter(self) -> int:
        """The ledger's last sequence number: it moves on every state change."""
        with db.read_connection(self.engine) as connection:
            return ledger.head(connection)[0]

    def history_at(self, model: str, at: datetime) -> HistoryPoint:
        """Which versions were production, canary and shadow at ``at`` (an index lookup)."""
        moment = format_time(at)
        with db.read_connection(self.engine) as connection:
            self._model_row(connection, model)
            row = connection.execute(
                select(deployment_history)
                .where(deployment_history.c.model_name == model, deployment_history.c.at <= moment)
                .order_by(deployment_history.c.at.desc(), deployment_history.c.seq.desc())
                .limit(1)
            ).first()
        if row is None:
            return HistoryPoint(
                model=model,
                at=moment,
                as_of_seq=None,
                production=None,
                canary=None,
                canary_weight=0,
                shadow=None,
            )
        return HistoryPoint(
            model=model,
            at=moment,
            as_of_seq=row.seq,
            production=row.production_version,
            canary=row.canary_version,
            canary_weight=row.canary_weight,
            shadow=row.shadow_version,
        )

    def events(self, model: str | None = None, limit: int | None = None) -> list[Event]:
        with db.read_connection(self.engine) as connection:
            return ledger.events(connection, model=model, limit=limit)

    def verify_ledger(self) -> ledger.VerifyResult:
        return ledger.verify(self.engine)

    # ---------------------------------------------------------------- writes
    def record(
        self,
        kind: str,
        *,
        actor: str,
        model: str | None = None,
        version: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> Event:
        """Write an event that records a decision or a refusal rather than a state move."""
        with db.write_transaction(self.engine) as connection:
            return ledger.append(
                connection, actor=actor, kind=kind, model=model, version=version, payload=payload
            )

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
        SemVer.parse(version)
        if risk_tier is not None and risk_tier not in RISK_TIERS:
            raise InputError(f"unknown risk tier {risk_tier!r}; allowed: {', '.join(RISK_TIERS)}")
        now = format_time(utc_now())
        try:
            with db.write_transaction(self.engine) as connection:
                model_row = connection.execute(select(models).where(models.c.name == model)).first()
                created = model_row is None
                if model_row is None:
                    result = connection.execute(
                        models.insert().values(
                            name=model,
                            risk_tier=risk_tier or "medium",
                            owner=author,
                            created_at=now,
                        )
                    )
                    primary_key = result.inserted_primary_key
                    assert primary_key is not None
                    model_id = int(primary_key[0])
                    tier = risk_tier or "medium"
                else:
                    model_id, tier = int(model_row.id), str(model_row.risk_tier)
                    if risk_tier is not None and risk_tier != tier:
                        raise ConflictError(
                            f"model {model!r} has risk tier {tier}; the tier is set when a model "
                            "is first registered (omit --risk-tier)"
                        )
                    self._refuse_duplicate(connection, model_row, version)
                    if parent_version is not None:
                        self._version_row(connection, model_row, parent_version)
                if created and parent_version is not None:
                    raise NotFoundError(
                        f"parent version {parent_version!r} does not exist: "
                        f"model {model!r} has no versions"
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
                    kind="version.registered",
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

    def _set_status(self, connection: Connection, model_row: Any, version: str, new: str) -> str:
        row = self._version_row(connection, model_row, version)
        check_move(row.status, new, what=f"{model_row.name} {version}")
        connection.execute(
            model_versions.update().where(model_versions.c.id == row.id).values(status=new)
        )
        return str(row.status)

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
                kind=f"version.{new}",
                model=model,
                version=version,
                payload={"from": old, "to": new, "reason": reason, **(payload or {})},
            )

    def _write_deployment(
        self, connection: Connection, model_row: Any, state: DeploymentState, event: Event
    ) -> None:
        values = {
            "production_version": state.production,
            "canary_version": state.canary,
            "canary_weight": state.canary_weight,
            "shadow_version": state.shadow,
        }
        exists = connection.execute(
            select(deployments.c.model_id).where(deployments.c.model_id == model_row.id)
        ).first()
        if exists is None:
            connection.execute(
                deployments.insert().values(model_id=model_row.id, updated_at=event.time, **values)
            )
        else:
            connection.execute(
                deployments.update()
                .where(deployments.c.model_id == model_row.id)
                .values(updated_at=event.time, **values)
            )
        connection.execute(
            deployment_history.insert().values(
                model_name=model_row.name, at=event.time, seq=event.seq, **values
            )
        )

    def promote(
        self,
        model: str,
        version: str,
        *,
        actor: str,
        force: bool = False,
        reason: str | None = None,
        run_id: str | None = None,
    ) -> Event:
        """Make ``version`` production. Only approved (or canary) versions, unless forced."""
        if force and not reason:
            raise InputError("--force needs --reason: a forced promotion must say why")
        with db.write_transaction(self.engine) as connection:
            model_row = self._model_row(connection, model)
            row = self._version_row(connection, model_row, version)
            state = self._deployment(connection, model_row)
            if state.production == version:
                raise ConflictError(f"{model} {version} is already production")
            if row.status not in ("approved", "canary") and not force:
                raise ConflictError(
                    f"{model} {version} is {row.status}: only an approved version can be promoted "
                    "(or use --force --reason TEXT, which is recorded as a forced promotion)"
                )
            previous = state.production
            if previous is not None:
                self._set_status(connection, model_row, previous, "retired")
            connection.execute(
                model_versions.update()
                .where(model_versions.c.id == row.id)
                .values(status="production")
            )
            new_state = state.model_copy(update={"production": version})
            if state.canary == version:
                new_state = new_state.model_copy(update={"canary": None, "canary_weight": 0})
            if state.shadow == version:
                new_state = new_state.model_copy(update={"shadow": None})
            event = ledger.append(
                connection,
                actor=actor,
                kind="deployment.promoted",
                model=model,
                version=version,
                payload={
                    "from_version": previous,
                    "from_status": row.status,
                    "forced": force,
                    "reason": reason,
                    "run_id": run_id,
                },
            )
            self._write_deployment(connection, model_row, new_state, event)
            return event

    def previous_production(self, connection: Connection, model: str, current: str) -> str | None:
        rows = connection.execute(
            select(deployment_history.c.production_version)
            .where(deployment_history.c.model_name == model)
            .order_by(deployment_history.c.seq.desc())
        ).scalars()
        for production in rows:
            if production is not None and production != current:
                return str(production)
        return None

    def rollback(
        self,
        model: str,
        *,
        actor: str,
        reason: str,
        to: str | None = None,
        run_id: str | None = None,
    ) -> Event:
        """Return production to an earlier version; the version rolled back from is rejected."""
        if not reason:
            raise InputError("rollback needs --reason: say why the version is rolled back")
        with db.write_transaction(self.engine) as connection:
            model_row = self._model_row(connection, model)
            state = self._deployment(connection, model_row)
            current = state.production
            if current is None:
                raise ConflictError(f"{model} has no production version to roll back from")
            target = to or self.previous_production(connection, model, current)
            if target is None:
                raise ConflictError(
                    f"{model} has no earlier production version to roll back to; name one with --to"
                )
            if target == current:
                raise ConflictError(f"{model} {target} is already production")
            target_row = self._version_row(connection, model_row, target)
            if target_row.status not in DEPLOYABLE:
                raise ConflictError(
                    f"cannot roll back {model} to {target}: it is {target_row.status}; a rollback "
                    f"target must be one of {', '.join(sorted(DEPLOYABLE))}"
                )
            self._set_status(connection, model_row, current, "rejected")
            self._set_status(connection, model_row, target, "production")
            new_state = state.model_copy(update={"production": target})
            if state.canary == target:
                new_state = new_state.model_copy(update={"canary": None, "canary_weight": 0})
            event = ledger.append(
                connection,
                actor=actor,
                kind="deployment.rolled_back",
                model=model,
                version=target,
                payload={"from_version": current, "reason": reason, "run_id": run_id},
            )
            self._write_deployment(connection, model_row, new_state, event)
            return event

    def set_canary(
        self, model: str, version: str | None, weight: int, *, actor: str, reason: str | None = None
    ) -> Event:
        """Point the canary at ``version`` with ``weight`` percent of traffic (None clears)."""
        if not 0 <= weight <= 100:
            raise InputError(f"canary weight {weight} is out of range: use 0 to 100")
        with db.write_transaction(self.engine) as connection:
            model_row = self._model_row(connection, model)
            state = self._deployment(connection, model_row)
            if version is not None:
                row = self._version_row(connection, model_row, version)
                if row.status == "approved":
                    self._set_status(connection, model_row, version, "canary")
                elif row.status != "canary":
                    raise ConflictError(
                        f"{model} {version} is {row.status}: "
                        "only an approved version can go on canary"
                    )
            new_state = state.model_copy(
                update={"canary": version, "canary_weight": weight if version else 0}
            )
            event = ledger.append(
                connection,
                actor=actor,
                kind="deployment.canary",
                model=model,
                version=version,
                payload={
                    "weight": new_state.canary_weight,
                    "previous": state.canary,
                    "previous_weight": state.canary_weight,
                    "reason": reason,
                },
            )
            self._write_deployment(connection, model_row, new_state, event)
            return event

    def abort_canary(
        self,
        model: str,
        version: str,
        *,
        actor: str,
        reason: str,
        reject: bool = True,
        payload: dict[str, Any] | None = None,
    ) -> Event:
        """Take ``version`` off canary at once (weight 0) and reject it (or, with
        ``reject=False``, return it to approved): one transaction, one ledger event."""
        if not reason:
            raise InputError("aborting a canary needs a reason")
        with db.write_transaction(self.engine) as connection:
            model_row = self._model_row(connection, model)
            state = self._deployment(connection, model_row)
            row = self._version_row(connection, model_row, version)
            if row.status != "canary" and state.canary != version:
                raise ConflictError(f"{model} {version} is {row.status}, not on canary")
            old = str(row.status)
            new = "rejected" if reject else "approved"
            if old != new:
                self._set_status(connection, model_row, version, new)
            new_state = state
            if state.canary == version:
                new_state = state.model_copy(update={"canary": None, "canary_weight": 0})
            if state.shadow == version and reject:
                new_state = new_state.model_copy(update={"shadow": None})
            event = ledger.append(
                connection,
                actor=actor,
                kind="deployment.canary_aborted",
                model=model,
                version=version,
                payload={
                    "from": old,
                    "to": new,
                    "previous_weight": state.canary_weight if state.canary == version else 0,
                    "reason": reason,
                    **(payload or {}),
                },
            )
            self._write_deployment(connection, model_row, new_state, event)
            return event

    def set_shadow(
        self, model: str, version: str | None, *, actor: str, reason: str | None = None
    ) -> Event:
        with db.write_transaction(self.engine) as connection:
            model_row = self._model_row(connection, model)
            state = self._deployment(connection, model_row)
            if version is not None:
                row = self._version_row(connection, model_row, version)
                if row.status == "rejected":
                    raise ConflictError(f"{model} {version} is rejected: it cannot be shadowed")
            event = ledger.append(
                connection,
                actor=actor,
                kind="deployment.shadow",
                model=model,
                version=version,
                payload={"previous": state.shadow, "reason": reason},
            )
            self._write_deployment(
                connection, model_row, state.model_copy(update={"shadow": version}), event
            )
            return event

    def count_rows(self) -> dict[str, int]:
        """Row counts per table (tests use them to prove refused operations change nothing)."""
        from safeship.registry.tables import ledger_events

        with db.read_connection(self.engine) as connection:
            return {
                table.name: int(
                    connection.execute(select(func.count()).select_from(table)).scalar_one()
                )
                for table in (
                    models,
                    model_versions,
                    deployments,
                    deployment_history,
                    ledger_events,
                )
            }
