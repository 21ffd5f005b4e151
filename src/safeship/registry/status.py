"""The version lifecycle: statuses and the moves between them.

``registered → validated → gated → approved → canary → production → retired``, or
``rejected`` from any state before production. A production version that is rolled back
from becomes ``rejected``; the previous production version it returns to moves
``retired → production``. Only the lifecycle decides; the store enforces it.
"""

from __future__ import annotations

from enum import StrEnum

from safeship.errors import InvalidTransitionError


class Status(StrEnum):
    """Where a version is in its lifecycle (the values are stored and printed as is)."""

    REGISTERED = "registered"
    VALIDATED = "validated"
    GATED = "gated"
    APPROVED = "approved"
    CANARY = "canary"
    PRODUCTION = "production"
    RETIRED = "retired"
    REJECTED = "rejected"


STATUSES: tuple[Status, ...] = tuple(Status)

ALLOWED_MOVES: dict[str, tuple[str, ...]] = {
    "registered": ("validated", "rejected"),
    "validated": ("gated", "rejected"),
    "gated": ("approved", "rejected"),
    "approved": ("canary", "production", "rejected"),
    "canary": ("production", "approved", "rejected"),
    "production": ("retired", "rejected"),
    "retired": ("production",),
    "rejected": (),
}

# Statuses a caller may still be served (pinning) and a rollback may return to.
DEPLOYABLE: frozenset[str] = frozenset({"approved", "canary", "production", "retired"})


def check_move(current: str, new: str, *, what: str) -> None:
    """Raise :class:`InvalidTransitionError` unless ``current → new`` is allowed."""
    if new not in STATUSES:
        raise InvalidTransitionError(
            f"{what}: unknown status {new!r}; statuses are {', '.join(STATUSES)}"
        )
    allowed = ALLOWED_MOVES[current]
    if new not in allowed:
        options = ", ".join(allowed) if allowed else "none (it is final)"
        raise InvalidTransitionError(
            f"{what}: cannot move from {current} to {new}; allowed from {current}: {options}"
        )
