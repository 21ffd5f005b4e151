"""Incidents as records: what fired, which versions it touched, what was learnt, the fix.

An automatic rollback or canary abort, a failed drill, or a monitor alert opens an
incident. They are found in the ledger (every one of them is a ledger event already), so
nothing that fires has to know about incidents: ``sync`` reads the events after the last
one it examined and opens one incident per trigger, idempotently (the trigger's sequence
number is unique), each with an ``incident.opened`` ledger event in the same transaction.
``safeship incident list`` and the dashboard's ledger watcher call it. Notes are appended
(``incident.noted``); ``resolve`` records the version that fixed it (``incident.resolved``).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, select

from safeship import ledger
from safeship.errors import ConflictError, InputError, NotFoundError
from safeship.events import EventKind
from safeship.ledger import format_time, utc_now
from safeship.registry import db
from safeship.registry.base import RegistryBase
from safeship.registry.tables import incident_notes, incident_sync, incidents, ledger_events

ACTOR = "safeship-incidents"
TRIGGER_KINDS = (
    "deployment.rolled_back",
    "deployment.canary_aborted",
    "drill.completed",
    "monitor.alert",
)


class Note(BaseModel):
    at: str
    author: str
    text: str


class Incident(BaseModel):
    id: int
    model: str | None
    trigger: str
    trigger_seq: int | None
    title: str
    versions: list[str]
    detail: dict[str, Any]
    requests_affected: int | None
    opened_at: str
    status: str
    resolved_at: str | None
    fixed_in: str | None
    notes: list[Note] = []


def classify(event: ledger.Event) -> dict[str, Any] | None:
    """The incident an event opens, or None (manual rollbacks and passed drills open none)."""
    p = event.payload
    if event.kind == "deployment.rolled_back" and event.actor.startswith("safeship"):
        return {"trigger": "rollback", "versions": [p.get("from_version"), event.version],
                "title": f"automatic rollback from {p.get('from_version')}: {p.get('reason')}"}  # fmt: skip
    if event.kind == "deployment.canary_aborted":
        return {"trigger": "canary-abort", "versions": [event.version],
                "title": f"canary {event.version} taken off traffic: {p.get('reason')}"}  # fmt: skip
    if event.kind == "drill.completed" and p.get("outcome") != "passed":
        return {"trigger": "drill", "versions": [event.version],
                "title": f"drill {p.get('scenario')} failed", "requests": p.get("requests_affected")}  # fmt: skip
    if event.kind == "monitor.alert":
        return {"trigger": "alert", "versions": [event.version],
                "title": f"monitor alert {p.get('check')}: {str(p.get('message'))[:300]}"}  # fmt: skip
    return None


def _last_seq(connection: Connection) -> int:
    value = connection.execute(
        select(incident_sync.c.last_seq).where(incident_sync.c.id == 1)
    ).scalar()
    return int(value or 0)


def sync(registry: RegistryBase) -> list[int]:
    """Open an incident for every trigger event not yet examined; return the new ids."""
    opened: list[int] = []
    with db.write_transaction(registry.engine) as connection:
        since = _last_seq(connection)
        head = ledger.head(connection)[0]
        rows = connection.execute(
            select(ledger_events)
            .where(ledger_events.c.seq > since, ledger_events.c.kind.in_(TRIGGER_KINDS))
            .order_by(ledger_events.c.seq)
        ).all()
        for r in rows:
            event = ledger.Event(int(r.seq), r.time, r.actor, r.kind, r.model, r.version,
                                 json.loads(r.payload), r.prev_hash, r.hash)  # fmt: skip
            found = classify(event)
            if found is None:
                continue
            versions = sorted({str(v) for v in found["versions"] if v})
            result = connection.execute(
                incidents.insert().values(
                    model_name=event.model,
                    trigger=found["trigger"],
                    trigger_seq=event.seq,
                    title=found["title"][:1000],
                    versions=json.dumps(versions),
                    detail=ledger.canonical_json(
                        {"event": event.kind, "actor": event.actor, "payload": event.payload}
                    ),
                    requests_affected=found.get("requests"),
                    opened_at=event.time,
                    status="open",
                )  # fmt: skip
            )
            key = result.inserted_primary_key
            assert key is not None
            incident_id = int(key[0])
            ledger.append(connection, actor=ACTOR, kind=EventKind.INCIDENT_OPENED, model=event.model,
                          version=versions[-1] if versions else None,
                          payload={"incident": incident_id, "trigger": found["trigger"],
                                   "trigger_seq": event.seq, "title": found["title"][:300],
                                   "versions": versions})  # fmt: skip
            opened.append(incident_id)
        if since == 0 and connection.execute(select(incident_sync.c.id)).first() is None:
            connection.execute(incident_sync.insert().values(id=1, last_seq=head))
        else:
            connection.execute(
                incident_sync.update().where(incident_sync.c.id == 1).values(last_seq=head)
            )
    return opened


def _incident(connection: Connection, row: Any) -> Incident:
    notes = connection.execute(
        select(incident_notes)
        .where(incident_notes.c.incident_id == row.id)
        .order_by(incident_notes.c.id)
    ).all()
    return Incident(
        id=row.id, model=row.model_name, trigger=row.trigger, trigger_seq=row.trigger_seq,
        title=row.title, versions=json.loads(row.versions), detail=json.loads(row.detail),
        requests_affected=row.requests_affected, opened_at=row.opened_at, status=row.status,
        resolved_at=row.resolved_at, fixed_in=row.fixed_in,
        notes=[Note(at=n.at, author=n.author, text=n.text) for n in notes],
    )  # fmt: skip


def list_incidents(
    registry: RegistryBase, *, model: str | None = None, status: str | None = None
) -> list[Incident]:
    if status not in (None, "open", "resolved"):
        raise InputError(f"unknown incident status {status!r}; use open or resolved")
    query = select(incidents).order_by(incidents.c.id.desc())
    if model is not None:
        query = query.where(incidents.c.model_name == model)
    if status is not None:
        query = query.where(incidents.c.status == status)
    with db.read_connection(registry.engine) as connection:
        return [_incident(connection, r) for r in connection.execute(query).all()]


def for_version(registry: RegistryBase, model: str, version: str) -> list[Incident]:
    """Incidents that touched ``version`` or were fixed in it."""
    return [
        i for i in list_incidents(registry, model=model)
        if version in i.versions or i.fixed_in == version
    ]  # fmt: skip


def _row(connection: Connection, incident_id: int) -> Any:
    row = connection.execute(select(incidents).where(incidents.c.id == incident_id)).first()
    if row is None:
        raise NotFoundError(f"no incident {incident_id}: `safeship incident list` shows them")
    return row


def note(registry: RegistryBase, incident_id: int, text: str, *, author: str) -> Incident:
    """Append a note (what was learnt) to an incident."""
    if not text.strip():
        raise InputError("an incident note needs text: say what was learnt")
    with db.write_transaction(registry.engine) as connection:
        row = _row(connection, incident_id)
        at = format_time(utc_now())
        connection.execute(incident_notes.insert().values(incident_id=incident_id, at=at,
                                                          author=author, text=text))  # fmt: skip
        ledger.append(connection, actor=author, kind=EventKind.INCIDENT_NOTED, model=row.model_name,
                      payload={"incident": incident_id, "text": text[:2000]})  # fmt: skip
        return _incident(connection, _row(connection, incident_id))


def resolve(
    registry: RegistryBase, incident_id: int, *, fixed_in: str, author: str, text: str | None = None
) -> Incident:
    """Close an incident with the version that fixed it (which must exist)."""
    with db.write_transaction(registry.engine) as connection:
        row = _row(connection, incident_id)
        if row.status == "resolved":
            raise ConflictError(
                f"incident {incident_id} was already resolved (fixed in {row.fixed_in})"
            )
        if row.model_name is not None:
            registry._version_row(
                connection, registry._model_row(connection, row.model_name), fixed_in
            )
        at = format_time(utc_now())
        if text:
            connection.execute(incident_notes.insert().values(incident_id=incident_id, at=at,
                                                              author=author, text=text))  # fmt: skip
        connection.execute(incidents.update().where(incidents.c.id == incident_id)
                           .values(status="resolved", resolved_at=at, fixed_in=fixed_in))  # fmt: skip
        ledger.append(connection, actor=author, kind=EventKind.INCIDENT_RESOLVED, model=row.model_name,
                      version=fixed_in, payload={"incident": incident_id, "fixed_in": fixed_in,
                                                 "note": text})  # fmt: skip
        return _incident(connection, _row(connection, incident_id))
