"""Set-based reads for the dashboard: one query per question, whatever the number of models.

The registry's own reads (``RegistryBase``) load one model or version at a time with its
manifest and lineage; the overview needs a few columns of every model, so it asks the
tables directly (read-only).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select

from safeship.registry import db
from safeship.registry.base import RegistryBase
from safeship.registry.tables import (
    deployment_history,
    deployments,
    ledger_events,
    model_versions,
    models,
)

ROLLBACK_KINDS = ("deployment.rolled_back", "deployment.canary_aborted")


class ModelRow(BaseModel):
    """One model's line on the overview."""

    name: str
    risk_tier: str
    owner: str | None
    production: str | None = None
    canary: str | None = None
    canary_weight: int = 0
    shadow: str | None = None
    updated_at: str | None = None
    statuses: dict[str, str] = {}  # version -> status, for the deployed versions
    counts: dict[str, int] = {}  # status -> number of versions
    awaiting: list[str] = []  # versions past the gate, waiting for approval


class Rollback(BaseModel):
    """The last rollback (or canary abort) of a model, from the ledger."""

    model: str
    seq: int
    time: str
    kind: str
    from_version: str | None
    to_version: str | None
    reason: str | None
    actor: str


def model_rows(registry: RegistryBase) -> list[ModelRow]:
    """Every model with its deployment pointers, version counts and awaiting versions."""
    with db.read_connection(registry.engine) as connection:
        joined = connection.execute(
            select(
                models.c.id,
                models.c.name,
                models.c.risk_tier,
                models.c.owner,
                deployments.c.production_version,
                deployments.c.canary_version,
                deployments.c.canary_weight,
                deployments.c.shadow_version,
                deployments.c.updated_at,
            )
            .select_from(models.outerjoin(deployments, deployments.c.model_id == models.c.id))
            .order_by(models.c.name)
        ).all()
        counts = connection.execute(
            select(model_versions.c.model_id, model_versions.c.status, func.count()).group_by(
                model_versions.c.model_id, model_versions.c.status
            )
        ).all()
        awaiting = connection.execute(
            select(model_versions.c.model_id, model_versions.c.version).where(
                model_versions.c.status == "gated"
            )
        ).all()
        deployed = connection.execute(
            select(model_versions.c.model_id, model_versions.c.version, model_versions.c.status)
            .select_from(
                model_versions.join(
                    deployments, deployments.c.model_id == model_versions.c.model_id
                )
            )
            .where(
                (model_versions.c.version == deployments.c.production_version)
                | (model_versions.c.version == deployments.c.canary_version)
                | (model_versions.c.version == deployments.c.shadow_version)
            )
        ).all()
    rows: dict[int, ModelRow] = {}
    for r in joined:
        rows[int(r.id)] = ModelRow(
            name=r.name,
            risk_tier=r.risk_tier,
            owner=r.owner,
            production=r.production_version,
            canary=r.canary_version,
            canary_weight=int(r.canary_weight or 0),
            shadow=r.shadow_version,
            updated_at=r.updated_at,
            statuses={},
            counts={},
            awaiting=[],
        )
    for model_id, status, count in counts:
        rows[int(model_id)].counts[str(status)] = int(count)
    for model_id, version in awaiting:
        rows[int(model_id)].awaiting.append(str(version))
    for model_id, version, status in deployed:
        rows[int(model_id)].statuses[str(version)] = str(status)
    return list(rows.values())


def last_rollbacks(registry: RegistryBase) -> dict[str, Rollback]:
    """Each model's newest rollback or canary abort.

    Every rollback moved a deployment pointer, so it has a ``deployment_history`` row: the
    search walks that (small) table and looks the events up by their primary key, instead
    of scanning the (large) ledger.
    """
    with db.read_connection(registry.engine) as connection:
        newest = (
            select(deployment_history.c.model_name, func.max(ledger_events.c.seq).label("seq"))
            .select_from(
                deployment_history.join(
                    ledger_events, ledger_events.c.seq == deployment_history.c.seq
                )
            )
            .where(ledger_events.c.kind.in_(ROLLBACK_KINDS))
            .group_by(deployment_history.c.model_name)
            .subquery()
        )
        rows = connection.execute(
            select(ledger_events).join(newest, newest.c.seq == ledger_events.c.seq)
        ).all()
    result: dict[str, Rollback] = {}
    for r in rows:
        payload = json.loads(r.payload)
        rolled_back = r.kind == "deployment.rolled_back"
        result[str(r.model)] = Rollback(
            model=str(r.model),
            seq=int(r.seq),
            time=r.time,
            kind="rollback" if rolled_back else "canary aborted",
            from_version=payload.get("from_version") if rolled_back else r.version,
            to_version=r.version if rolled_back else None,
            reason=payload.get("reason"),
            actor=r.actor,
        )
    return result


def events_of(
    registry: RegistryBase,
    *,
    model: str | None = None,
    version: str | None = None,
    kinds: tuple[str, ...] | None = None,
    prefixes: tuple[str, ...] = (),
    limit: int = 500,
) -> list[dict[str, Any]]:
    """The newest ``limit`` events matching the filters, oldest first, as dicts."""
    query = select(ledger_events).order_by(ledger_events.c.seq.desc()).limit(limit)
    if model is not None:
        query = query.where(ledger_events.c.model == model)
    if version is not None:
        query = query.where(ledger_events.c.version == version)
    conditions = []
    if kinds:
        conditions.append(ledger_events.c.kind.in_(kinds))
    conditions += [ledger_events.c.kind.like(f"{prefix}%") for prefix in prefixes]
    if conditions:
        from sqlalchemy import or_

        query = query.where(or_(*conditions))
    with db.read_connection(registry.engine) as connection:
        rows = connection.execute(query).all()
    return [
        {
            "seq": int(r.seq),
            "time": r.time,
            "actor": r.actor,
            "kind": r.kind,
            "model": r.model,
            "version": r.version,
            "payload": json.loads(r.payload),
            "hash": r.hash,
        }
        for r in reversed(rows)
    ]


def version_graph_rows(registry: RegistryBase, model: str) -> list[dict[str, Any]]:
    """Version, parent, status and lineage of every version of ``model`` (for the graph)."""
    with db.read_connection(registry.engine) as connection:
        model_row = registry._model_row(connection, model)
        rows = connection.execute(
            select(
                model_versions.c.version,
                model_versions.c.parent_version,
                model_versions.c.status,
                model_versions.c.lineage,
                model_versions.c.dir_hash,
            ).where(model_versions.c.model_id == model_row.id)
        ).all()
    return [
        {
            "version": r.version,
            "parent": r.parent_version,
            "status": r.status,
            "lineage": json.loads(r.lineage),
            "dir_hash": r.dir_hash,
        }
        for r in rows
    ]
