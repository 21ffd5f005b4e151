"""Deployment moves: promote, rollback, canary and shadow — each one transaction, one event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, text

from safeship import ledger
from safeship.access.roles import move_fields
from safeship.errors import (
    ConflictError,
    InputError,
    InvalidTransitionError,
)
from safeship.events import EventKind
from safeship.ledger import Event
from safeship.registry import db
from safeship.registry.base import RegistryBase
from safeship.registry.records import DeploymentState
from safeship.registry.status import DEPLOYABLE
from safeship.registry.tables import deployment_history, deployments, model_versions

# Every deployment move notifies this PostgreSQL channel in its own transaction (delivered
# at commit): gateways LISTEN on it instead of polling (safeship.gateway.notify).
NOTIFY_CHANNEL = "safeship_deployments"


class DeploymentOps(RegistryBase):
    """Production, canary (with its weight) and shadow pointers, and their history."""

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
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": NOTIFY_CHANNEL, "payload": f"{model_row.name} {event.seq}"},
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
        signature: str | None = None,
    ) -> Event:
        """Make ``version`` production. Only approved (or canary) versions, unless forced
        (break-glass: the ``force`` role and a signed reason). Needs the ``promote`` role."""
        if force and not reason:
            raise InputError("--force needs --reason: a forced promotion must say why")
        signed = self.authorize(
            "promote", actor, signature, move_fields(model, version, reason, force)
        )
        with db.write_transaction(self.engine) as connection:
            model_row = self._model_row(connection, model)
            row = self._version_row(connection, model_row, version)
            state = self._deployment(connection, model_row)
            if state.production == version:
                raise ConflictError(f"{model} {version} is already production")
            if row.status == "rejected":
                raise InvalidTransitionError(
                    f"{model} {version} is rejected: a rejected version is never promoted, "
                    "not even with --force; register a new version with the fix"
                )
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
                kind=EventKind.DEPLOYMENT_PROMOTED,
                model=model,
                version=version,
                payload={
                    "from_version": previous,
                    "from_status": row.status,
                    "forced": force,
                    "break_glass": force,
                    "reason": reason,
                    "run_id": run_id,
                },
                signed=signed,
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
        signature: str | None = None,
    ) -> Event:
        """Return production to an earlier version; the version rolled back from is rejected.
        Needs the ``rollback`` role (automatic rollbacks are signed by the service key)."""
        if not reason:
            raise InputError("rollback needs --reason: say why the version is rolled back")
        signed = self.authorize("rollback", actor, signature, move_fields(model, to, reason))
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
                kind=EventKind.DEPLOYMENT_ROLLED_BACK,
                model=model,
                version=target,
                payload={"from_version": current, "reason": reason, "run_id": run_id},
                signed=signed,
            )
            self._write_deployment(connection, model_row, new_state, event)
            return event

    def set_canary(
        self,
        model: str,
        version: str | None,
        weight: int,
        *,
        actor: str,
        reason: str | None = None,
        signature: str | None = None,
    ) -> Event:
        """Point the canary at ``version`` with ``weight`` percent of traffic (None clears).
        Sending traffic to a version needs the ``promote`` role."""
        if not 0 <= weight <= 100:
            raise InputError(f"canary weight {weight} is out of range: use 0 to 100")
        fields = {**move_fields(model, version, reason), "weight": weight}
        signed = self.authorize("promote", actor, signature, fields)
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
                kind=EventKind.DEPLOYMENT_CANARY,
                model=model,
                version=version,
                payload={
                    "weight": new_state.canary_weight,
                    "previous": state.canary,
                    "previous_weight": state.canary_weight,
                    "reason": reason,
                },
                signed=signed,
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
        signature: str | None = None,
    ) -> Event:
        """Take ``version`` off canary at once (weight 0) and reject it (or, with
        ``reject=False``, return it to approved): one transaction, one ledger event."""
        if not reason:
            raise InputError("aborting a canary needs a reason")
        signed = self.authorize(
            "abort_canary", actor, signature, move_fields(model, version, reason)
        )
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
                kind=EventKind.DEPLOYMENT_CANARY_ABORTED,
                model=model,
                version=version,
                payload={
                    "from": old,
                    "to": new,
                    "previous_weight": state.canary_weight if state.canary == version else 0,
                    "reason": reason,
                    **(payload or {}),
                },
                signed=signed,
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
                kind=EventKind.DEPLOYMENT_SHADOW,
                model=model,
                version=version,
                payload={"previous": state.shadow, "reason": reason},
            )
            self._write_deployment(
                connection, model_row, state.model_copy(update={"shadow": version}), event
            )
            return event
