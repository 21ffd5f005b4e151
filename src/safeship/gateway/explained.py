"""Deployment state the ledger does not explain is not served.

Every deployment move writes its ledger event and the new pointers in one transaction, so
the ``deployments`` table can only differ from a replay of the ledger's ``deployment.*``
events if someone edited the table directly. The follower keeps that replay (read
incrementally: only the events after the last one it saw) and, before it routes by a
model's state, compares the two. On a difference it keeps serving what it served before
and says why: which field disagrees, and with which ledger event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from safeship import ledger
from safeship.events import EventKind
from safeship.monitoring.consistency import Replayed, apply_event
from safeship.registry import db

if TYPE_CHECKING:
    from safeship.registry.records import DeploymentState
    from safeship.registry.store import Registry


SEEDED = str(EventKind.DRILL_SEEDED)


@dataclass(frozen=True)
class LastMove:
    seq: int
    kind: str
    version: str | None


class DeploymentReplay:
    """Each model's deployment pointers as the ledger's events explain them."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.seq = 0
        self.states: dict[str, Replayed] = {}
        self.last: dict[str, LastMove] = {}

    def advance(self, head: int) -> None:
        """Apply the deployment events up to ``head`` (from scratch if the ledger shrank)."""
        if head < self.seq:
            self.seq, self.states, self.last = 0, {}, {}
        if head == self.seq:
            return
        with db.read_connection(self.registry.engine) as connection:
            events = ledger.events(
                connection, after=self.seq, kind_prefixes=("deployment.", SEEDED)
            )
        for event in events:
            if event.seq > head:
                continue
            if event.kind == SEEDED:
                self._seed(event)
                continue
            if event.model is None:
                continue
            apply_event(self.states.setdefault(event.model, Replayed()), event)
            self.last[event.model] = LastMove(event.seq, event.kind, event.version)
        self.seq = head

    def _seed(self, event: ledger.Event) -> None:
        """A drill's staging registry starts from a copy of production's deployment state,
        recorded in its ``drill.seeded`` event."""
        for model, pointers in (event.payload.get("deployments") or {}).items():
            self.states[model] = Replayed(
                production=pointers.get("production"),
                canary=pointers.get("canary"),
                canary_weight=int(pointers.get("canary_weight") or 0),
                shadow=pointers.get("shadow"),
            )
            self.last[model] = LastMove(event.seq, event.kind, None)

    def disagreement(self, model: str, state: DeploymentState) -> str | None:
        """Why ``state`` is not what the ledger explains (None when it is)."""
        expected = self.states.get(model, Replayed())
        fields = (
            ("production", state.production, expected.production),
            ("canary", state.canary, expected.canary),
            ("canary weight", state.canary_weight if state.canary else 0, expected.canary_weight),
            ("shadow", state.shadow, expected.shadow),
        )
        for name, actual, wanted in fields:
            if actual != wanted:
                last = self.last.get(model)
                event = (
                    f"its last deployment event (ledger seq {last.seq}, {last.kind} "
                    f"{last.version or '-'})"
                    if last is not None
                    else "its ledger, which has no deployment event"
                )
                return (
                    f"{model}: the deployment state says {name} {actual!r}, but {event} "
                    f"leaves {name} {wanted!r}"
                )
        return None
