"""The registry's reads and shared helpers (``Registry`` in ``store.py`` adds the writes)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Self

from sqlalchemy import Connection, Engine, func, select

from safeship import ledger
from safeship.access.checkpoints import CheckpointReport
from safeship.access.identities import Signers
from safeship.access.signatures import Verified
from safeship.config import Settings
from safeship.errors import (
    NotFoundError,
)
from safeship.events import EventKind
from safeship.ledger import Event, format_time
from safeship.params.release import AccessParams
from safeship.registry import db
from safeship.registry.profiles import ProfileStore
from safeship.registry.records import DeploymentState, HistoryPoint, ModelRecord, VersionRecord
from safeship.registry.semver import SemVer
from safeship.registry.status import check_move
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


class RegistryBase:
    """Reads, and the helpers every write shares; ``Registry`` adds the writes."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    @classmethod
    def open(cls, settings: Settings | None = None, *, create: bool = True) -> Self:
        """Open the registry; with ``create=False`` refuse (naming ``safeship init``) where
        none exists yet instead of silently creating a new, empty one."""
        settings = settings or Settings.from_env()
        if not create:
            from safeship.project import require_registry

            require_registry(settings)
        engine = db.make_engine(settings.db_url)
        db.ensure_schema(engine, create=create)
        return cls(engine, settings)

    @property
    def profiles(self) -> ProfileStore:
        """Safety profiles: a locked baseline per version, then appended amendments."""
        return ProfileStore(self)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
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

    def version_statuses(self, model: str) -> dict[str, str]:
        """Every version's status in semver order, without manifests (cheap at scale)."""
        with db.read_connection(self.engine) as connection:
            model_row = self._model_row(connection, model)
            rows = connection.execute(
                select(model_versions.c.version, model_versions.c.status).where(
                    model_versions.c.model_id == model_row.id
                )
            ).all()
        ordered = sorted(rows, key=lambda r: SemVer.parse(r.version).sort_key())
        return {str(r.version): str(r.status) for r in ordered}

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

    def verify_ledger(self, signatures: bool = True) -> ledger.VerifyResult:
        """Recompute the chain and (by default) re-verify every event's signature."""
        return ledger.verify(self.engine, self.audit_signers() if signatures else None)

    def checkpoint(self, reason: str) -> str:
        """Write a service-signed checkpoint of the ledger head to the DVC remote."""
        from safeship.access.checkpoints import write_checkpoint

        with db.read_connection(self.engine) as connection:
            seq, head_hash = ledger.head(connection)
        root, state = self.settings.project_root, self.settings.state_dir
        return write_checkpoint(root, state, seq, head_hash, reason)

    def verify_checkpoints(self) -> CheckpointReport:
        """Refuse a ledger cut short of, or rewritten under, a signed checkpoint."""
        from safeship.access.checkpoints import verify_checkpoints

        with db.read_connection(self.engine) as connection:
            head_seq = ledger.head(connection)[0]

            def hash_at(seq: int) -> str | None:
                return ledger.hash_at(connection, seq)

            return verify_checkpoints(
                self.settings.project_root, self.settings.state_dir, hash_at, head_seq
            )

    def access(self) -> AccessParams:
        """The project's ``access:`` policy (params.yaml)."""
        from safeship.params import load_params

        return load_params(self.settings.project_root).access

    def authorize(
        self, action: str, actor: str, signature: str | None, fields: dict[str, Any]
    ) -> Verified | None:
        """Check the actor's role and signed statement for a deployment move (nothing is
        changed when refused); moves by ``safeship-*`` automation get the service key's."""
        from safeship.access.audit import ensure_service_key
        from safeship.access.roles import authorize

        def used(token: str) -> bool:
            from safeship.registry.tables import ledger_events

            with db.read_connection(self.engine) as connection:
                query = select(ledger_events.c.seq).where(ledger_events.c.signature == token)
                return connection.execute(query.limit(1)).first() is not None

        return authorize(
            action,
            actor,
            signature,
            fields=fields,
            access=self.access(),
            signers=self.audit_signers,
            service_key=lambda: ensure_service_key(self.settings.state_dir),
            already_used=used,
        )

    def audit_signers(self) -> Signers:
        """People's keys (allowed_signers, minus revoked) and this deployment's service key."""
        from safeship.access.audit import audit_signers

        access = self.access()
        return audit_signers(
            self.settings.project_root,
            self.settings.state_dir,
            access.allowed_signers,
            access.revoked_keys,
        )

    # ---------------------------------------------------------------- writes
    def record(
        self,
        kind: EventKind,
        *,
        actor: str,
        model: str | None = None,
        version: str | None = None,
        payload: dict[str, Any] | None = None,
        signed: Verified | None = None,
    ) -> Event:
        """Write an event that records a decision or a refusal rather than a state move."""
        with db.write_transaction(self.engine) as connection:
            return ledger.append(
                connection,
                actor=actor,
                kind=kind,
                model=model,
                version=version,
                payload=payload,
                signed=signed,
            )

    def _set_status(self, connection: Connection, model_row: Any, version: str, new: str) -> str:
        row = self._version_row(connection, model_row, version)
        check_move(row.status, new, what=f"{model_row.name} {version}")
        connection.execute(
            model_versions.update().where(model_versions.c.id == row.id).values(status=new)
        )
        return str(row.status)

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
