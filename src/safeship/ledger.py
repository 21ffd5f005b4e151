"""The audit ledger: append-only events in a SHA-256 hash chain.

Each event's hash is ``sha256(prev_hash + "\\n" + canonical_json(event))`` where the
canonical JSON has sorted keys, no spaces, and the payload embedded as its own canonical
JSON text. ``verify`` recomputes the chain and names the first bad sequence number when an
event was edited, removed, inserted or reordered. Events are appended inside the same
database transaction as the state change they record (see ``registry.store``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, or_, select

from safeship.access.identities import Signers, normalise_name
from safeship.access.signatures import Verified
from safeship.errors import LedgerTampered
from safeship.events import EventKind
from safeship.registry.tables import ledger_events

GENESIS_HASH = "0" * 64
_dumps_str = json.JSONEncoder(ensure_ascii=True).encode


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """ISO-8601 in UTC with microseconds: lexicographic order is time order."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def _opt(value: str | None) -> str:
    return "null" if value is None else _dumps_str(value)


def event_document(
    seq: int,
    time: str,
    actor: str,
    kind: str,
    model: str | None,
    version: str | None,
    payload_json: str,
    actor_key: str | None = None,
    signature: str | None = None,
) -> str:
    """The canonical JSON of an event, as hashed (keys in sorted order). ``actor_key`` and
    ``signature`` appear only on signed events, so legacy events hash as they always did."""
    key_field = sig_field = ""
    if signature is not None:
        key_field = f'"actor_key":{_opt(actor_key)},'
        sig_field = f'"signature":{_dumps_str(signature)},'
    return (
        f'{{"actor":{_dumps_str(actor)},{key_field}"kind":{_dumps_str(kind)},'
        f'"model":{_opt(model)},"payload":{payload_json},"seq":{seq},{sig_field}'
        f'"time":{_dumps_str(time)},"version":{_opt(version)}}}'
    )


def chain_hash(prev_hash: str, document: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{document}".encode()).hexdigest()


@dataclass(frozen=True)
class Event:
    seq: int
    time: str
    actor: str
    kind: str
    model: str | None
    version: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str
    actor_key: str | None = None
    signature: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "actor": self.actor,
            "kind": self.kind,
            "model": self.model,
            "version": self.version,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "actor_key": self.actor_key,
            "signature": self.signature,
        }


def append(
    connection: Connection,
    *,
    actor: str,
    kind: EventKind,
    model: str | None = None,
    version: str | None = None,
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
    signed: Verified | None = None,
) -> Event:
    """Append one event. Call inside a write transaction (``registry.db.write_transaction``).

    ``signed``: the actor's verified statement; the event's actor is then its signer."""
    if signed is not None:
        if normalise_name(actor) != signed.signer:
            raise ValueError(f"actor {actor!r} differs from the signer {signed.signer!r}")
        actor = signed.signer  # the one normalised form of the verified name
    actor_key = signed.key if signed else None
    signature = signed.token if signed else None
    last = connection.execute(
        select(ledger_events.c.seq, ledger_events.c.hash)
        .order_by(ledger_events.c.seq.desc())
        .limit(1)
    ).first()
    seq = 1 if last is None else int(last.seq) + 1
    prev_hash = GENESIS_HASH if last is None else str(last.hash)
    time = format_time(at or utc_now())
    payload_json = canonical_json(payload or {})
    document = event_document(
        seq, time, actor, kind, model, version, payload_json, actor_key, signature
    )
    digest = chain_hash(prev_hash, document)
    connection.execute(
        ledger_events.insert().values(
            seq=seq,
            time=time,
            actor=actor,
            kind=kind,
            model=model,
            version=version,
            payload=payload_json,
            prev_hash=prev_hash,
            hash=digest,
            actor_key=actor_key,
            signature=signature,
        )
    )
    payload_value = json.loads(payload_json)
    return Event(
        seq,
        time,
        actor,
        kind,
        model,
        version,
        payload_value,
        prev_hash,
        digest,
        actor_key,
        signature,
    )


def head(connection: Connection) -> tuple[int, str]:
    """The last sequence number and hash (0 and the genesis hash when empty)."""
    row = connection.execute(
        select(ledger_events.c.seq, ledger_events.c.hash)
        .order_by(ledger_events.c.seq.desc())
        .limit(1)
    ).first()
    return (0, GENESIS_HASH) if row is None else (int(row.seq), str(row.hash))


def hash_at(connection: Connection, seq: int) -> str | None:
    row = connection.execute(select(ledger_events.c.hash).where(ledger_events.c.seq == seq)).first()
    return None if row is None else str(row.hash)


def events(
    connection: Connection,
    *,
    model: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
    after: int | None = None,
    kind_prefixes: tuple[str, ...] = (),
) -> list[Event]:
    query = select(ledger_events).order_by(ledger_events.c.seq)
    if after is not None:
        query = query.where(ledger_events.c.seq > after)
    if kind_prefixes:
        query = query.where(
            or_(*(ledger_events.c.kind.startswith(p, autoescape=True) for p in kind_prefixes))
        )
    if model is not None:
        query = query.where(ledger_events.c.model == model)
    if kind is not None:
        query = query.where(ledger_events.c.kind == kind)
    if limit is not None:
        query = query.order_by(None).order_by(ledger_events.c.seq.desc()).limit(limit)
    rows = connection.execute(query).all()
    result = [
        Event(
            int(r.seq),
            r.time,
            r.actor,
            r.kind,
            r.model,
            r.version,
            json.loads(r.payload),
            r.prev_hash,
            r.hash,
            r.actor_key,
            r.signature,
        )
        for r in rows
    ]
    return sorted(result, key=lambda event: event.seq)


@dataclass(frozen=True)
class VerifyResult:
    count: int
    head_hash: str
    signed: int = 0  # events whose actor signature re-verified
    unsigned: int = 0  # events without a signature (legacy, or service steps)
    signatures_checked: bool = False


def _raw_rows(engine: Engine, batch: int = 20_000) -> Iterator[tuple[Any, ...]]:
    raw = engine.raw_connection()
    try:
        # PostgreSQL: a server-side cursor streams the ledger instead of loading it whole.
        named = engine.dialect.name == "postgresql"
        cursor = raw.cursor(name="safeship_ledger_verify") if named else raw.cursor()
        cursor.execute(
            "SELECT seq, time, actor, kind, model, version, payload, prev_hash, hash, "
            "actor_key, signature FROM ledger_events ORDER BY seq"
        )
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                break
            yield from rows
        cursor.close()
        if named:
            raw.rollback()
    finally:
        raw.close()


def verify(engine: Engine, signers: Signers | None = None) -> VerifyResult:
    """Recompute the whole chain; raise :class:`LedgerTampered` at the first bad event.

    With ``signers`` (the allowed_signers keys and the service key), every signed event's
    signature is re-verified too, and must be by its actor over its model and version."""
    from safeship.access.audit import signature_problem

    expected_seq = 1
    running = GENESIS_HASH
    signed = 0
    seen_signatures: dict[str, int] = {}
    sha256 = hashlib.sha256
    for row in _raw_rows(engine):
        seq, time, actor, kind, model, version, payload, prev_hash, digest, key, sig = row
        if seq != expected_seq:
            bad = min(seq, expected_seq)
            raise LedgerTampered(
                f"audit ledger broken at seq {bad}: expected event {expected_seq}, found {seq} "
                "(an event was removed or inserted)"
            )
        if prev_hash != running:
            raise LedgerTampered(
                f"audit ledger broken at seq {seq}: its previous-hash does not match event "
                f"{seq - 1} (events were removed, inserted or reordered)"
            )
        document = event_document(seq, time, actor, kind, model, version, payload, key, sig)
        computed = sha256(f"{running}\n{document}".encode()).hexdigest()
        if computed != digest:
            raise LedgerTampered(
                f"audit ledger broken at seq {seq}: its content does not match its hash "
                "(the event was edited)"
            )
        if sig is not None:
            signed += 1
            if sig in seen_signatures:
                raise LedgerTampered(
                    f"signature of event seq {seq} ({kind}) fails: it repeats the signature of "
                    f"event seq {seen_signatures[sig]} (a statement authorises one event)"
                )
            seen_signatures[sig] = seq
            if signers is not None:
                problem = signature_problem(sig, key, actor, model, version, signers)
                if problem is not None:
                    raise LedgerTampered(f"signature of event seq {seq} ({kind}) fails: {problem}")
        running = digest
        expected_seq += 1
    count = expected_seq - 1
    return VerifyResult(count, running, signed, count - signed, signers is not None)
