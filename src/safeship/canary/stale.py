"""Crash safety: a canary whose rollout stopped making progress is taken off.

The rollout writes a ``canary.analysis`` event at every check (and the registry writes
``deployment.canary`` at every weight change). If the flow is killed mid-canary, those
stop. :func:`repair_stale_canary` — called by the monitor flow every
``release.monitor_interval_s`` and by the next release run before it starts a canary —
sees a canary with weight > 0 whose newest progress event is older than ``max_age_s``
and aborts it: weight 0 and the candidate rejected, in one transaction and one ledger
event (``deployment.canary_aborted``). So no canary weight outlives a dead rollout by
more than ``max_age_s`` plus one monitor interval.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from safeship.registry.store import Registry

PROGRESS_KINDS: frozenset[str] = frozenset(
    {"deployment.canary", "canary.analysis", "canary.started", "deployment.promoted"}
)
ACTOR = "safeship-canary-watchdog"


def _parse(moment: str) -> datetime:
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def last_progress(registry: Registry, model: str, version: str) -> datetime | None:
    """When the canary of ``version`` last made progress (None: never)."""
    for event in reversed(registry.events(model=model)):
        if event.kind in PROGRESS_KINDS and event.version in (version, None):
            return _parse(event.time)
    return None


def repair_stale_canary(
    registry: Registry, model: str, *, max_age_s: float, now: datetime | None = None
) -> bool:
    """Abort ``model``'s canary (weight 0, candidate rejected) when it has had no progress
    event for longer than ``max_age_s``. True when it did; False when nothing was stale."""
    if not registry.has_model(model):
        return False
    state = registry.deployment(model)
    if state.canary is None:
        return False
    moment = now or datetime.now(UTC)
    seen = last_progress(registry, model, state.canary)
    age = None if seen is None else (moment - seen).total_seconds()
    if age is not None and age <= max_age_s:
        return False
    described = "never" if age is None else f"{age:.0f} s ago"
    registry.abort_canary(
        model,
        state.canary,
        actor=ACTOR,
        reason=f"stale canary: no progress event for more than {max_age_s:g} s "
        f"(last {described}); the rollout is presumed dead",
        payload={"weight": state.canary_weight, "age_s": age, "max_age_s": max_age_s},
    )
    return True
