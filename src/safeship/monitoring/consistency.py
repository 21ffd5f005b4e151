"""Cross-check the registry's state against the audit ledger.

The hash chain proves the ledger was not edited; it says nothing about the tables beside
it. A database superuser can ``UPDATE deployments SET production_version=...`` or swap a
version's manifest without touching the ledger. This module replays the ledger — every
registration, status move and deployment move — and compares the result with what the
tables hold now:

* each model's production, canary (and weight) and shadow pointers;
* each version's status;
* each version's manifest: its directory hash must be the one its ``version.registered``
  event recorded, its file count too, and the manifest's files must hash to it.

Any difference is reported (and :func:`require_consistent` raises
:class:`~safeship.errors.IntegrityFailure`), so ``audit verify`` and ``safeship verify``
catch state the ledger does not explain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from safeship import ledger
from safeship.errors import IntegrityFailure
from safeship.registry import db
from safeship.registry.hashing import Manifest, dir_hash
from safeship.registry.store import Registry
from safeship.registry.tables import deployments, model_versions, models

MAX_LISTED = 5


@dataclass
class Replayed:
    production: str | None = None
    canary: str | None = None
    canary_weight: int = 0
    shadow: str | None = None
    statuses: dict[str, str] = field(default_factory=dict)
    registered: dict[str, dict[str, Any]] = field(default_factory=dict)


def apply_event(state: Replayed, event: ledger.Event) -> None:  # noqa: C901 - one per kind
    """Apply one ledger event to a model's replayed state."""
    kind, version, payload = event.kind, event.version, event.payload
    if kind == "version.registered" and version is not None:
        state.registered[version] = payload
        state.statuses[version] = "registered"
    elif kind.startswith("version.") and version is not None and "to" in payload:
        state.statuses[version] = str(payload["to"])
    elif kind == "deployment.promoted" and version is not None:
        if state.production is not None:
            state.statuses[state.production] = "retired"
        state.statuses[version] = "production"
        state.production = version
        if state.canary == version:
            state.canary, state.canary_weight = None, 0
        if state.shadow == version:
            state.shadow = None
    elif kind == "deployment.rolled_back" and version is not None:
        state.statuses[str(payload.get("from_version"))] = "rejected"
        state.statuses[version] = "production"
        state.production = version
        if state.canary == version:
            state.canary, state.canary_weight = None, 0
    elif kind == "deployment.canary":
        if version is not None and state.statuses.get(version) == "approved":
            state.statuses[version] = "canary"
        state.canary = version
        state.canary_weight = int(payload.get("weight") or 0) if version else 0
    elif kind == "deployment.canary_aborted" and version is not None:
        state.statuses[version] = str(payload.get("to"))
        if state.canary == version:
            state.canary, state.canary_weight = None, 0
        if state.shadow == version and payload.get("to") == "rejected":
            state.shadow = None
    elif kind == "deployment.shadow":
        state.shadow = version


def replay(registry: Registry) -> dict[str, Replayed]:
    """Each model's state as the ledger alone explains it."""
    with db.read_connection(registry.engine) as connection:
        events = ledger.events(connection)
    states: dict[str, Replayed] = {}
    for event in events:
        if event.model is not None:
            apply_event(states.setdefault(event.model, Replayed()), event)
    return states


def _manifest_problems(model: str, row: Any, registered: dict[str, Any] | None) -> list[str]:
    what = f"{model} {row.version}"
    if registered is None:
        return [f"{what}: a version row exists, but the ledger never registered it"]
    problems: list[str] = []
    if registered.get("dir_hash") != row.dir_hash:
        problems.append(
            f"{what}: directory hash {row.dir_hash} differs from the ledger's "
            f"{registered.get('dir_hash')}"
        )
    try:
        manifest = Manifest.from_dict(json.loads(row.manifest))
        recomputed = dir_hash(manifest.files)
    except (ValueError, KeyError, TypeError, AssertionError):
        return [*problems, f"{what}: the stored manifest is unreadable"]
    if recomputed != row.dir_hash or manifest.dir_hash != row.dir_hash:
        problems.append(f"{what}: the stored manifest's files do not hash to {row.dir_hash}")
    if "files" in registered and registered["files"] != len(manifest.files):
        problems.append(
            f"{what}: the manifest lists {len(manifest.files)} files, the ledger "
            f"registered {registered['files']}"
        )
    return problems


def _pointer_problems(model: str, row: Any, expected: Replayed) -> list[str]:
    actual = {
        "production": row.production_version if row else None,
        "canary": row.canary_version if row else None,
        "canary weight": int(row.canary_weight or 0) if row else 0,
        "shadow": row.shadow_version if row else None,
    }
    wanted = {
        "production": expected.production,
        "canary": expected.canary,
        "canary weight": expected.canary_weight,
        "shadow": expected.shadow,
    }
    return [
        f"{model}: {key} is {actual[key]!r} in the deployment state, but the ledger says "
        f"{wanted[key]!r}"
        for key in wanted
        if actual[key] != wanted[key]
    ]


def cross_check(registry: Registry) -> list[str]:
    """Every difference between the tables and the ledger's replay (empty when consistent)."""
    states = replay(registry)
    problems: list[str] = []
    with db.read_connection(registry.engine) as connection:
        model_rows = connection.execute(select(models)).all()
        for model_row in model_rows:
            expected = states.get(model_row.name, Replayed())
            deployment = connection.execute(
                select(deployments).where(deployments.c.model_id == model_row.id)
            ).first()
            problems += _pointer_problems(model_row.name, deployment, expected)
            versions = connection.execute(
                select(model_versions).where(model_versions.c.model_id == model_row.id)
            ).all()
            for row in versions:
                problems += _manifest_problems(
                    model_row.name, row, expected.registered.get(row.version)
                )
                wanted = expected.statuses.get(row.version)
                if wanted is not None and wanted != row.status:
                    problems.append(
                        f"{model_row.name} {row.version}: status is {row.status!r}, but the "
                        f"ledger says {wanted!r}"
                    )
            known = {row.version for row in versions}
            problems += [
                f"{model_row.name} {version}: the ledger registered it, but its row is gone"
                for version in sorted(set(expected.registered) - known)
            ]
        names = {row.name for row in model_rows}
        problems += [
            f"{name}: the ledger has its registrations, but the model row is gone"
            for name in sorted(n for n, s in states.items() if s.registered and n not in names)
        ]
    return problems


def require_consistent(registry: Registry) -> None:
    """Raise :class:`IntegrityFailure` if the tables hold state the ledger does not explain."""
    problems = cross_check(registry)
    if problems:
        listed = "; ".join(problems[:MAX_LISTED])
        more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
        raise IntegrityFailure(
            f"registry state does not match the audit ledger: {listed}{more}. Someone changed "
            "the tables outside safeship: restore them from a backup or the ledger"
        )
