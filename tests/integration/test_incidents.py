"""Incidents: opened from the ledger's automatic rollbacks, failed drills and alerts."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeship.config import Settings
from safeship.errors import ConflictError, InputError, NotFoundError
from safeship.incidents import for_version, list_incidents, note, resolve, sync
from safeship.registry.store import Registry
from safeship.testing.dashboard import seed_state


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    settings = Settings(
        project_root=tmp_path, state_dir=tmp_path / "s", db_url=f"sqlite:///{tmp_path / 'r.db'}"
    )
    registry = Registry.open(settings)
    seed_state(registry, tmp_path / "reports")
    return registry


def test_sync_opens_one_incident_per_trigger_once(registry: Registry) -> None:
    opened = sync(registry)
    found = {i.trigger: i for i in list_incidents(registry)}
    assert len(opened) == 2 and set(found) == {"rollback", "alert"}  # the passed drill opens none
    assert found["rollback"].versions == ["1.0.0", "1.1.0"]
    assert "toxicity rose on live traffic" in found["rollback"].title
    assert sync(registry) == []  # idempotent
    kinds = [e.kind for e in registry.events() if e.kind.startswith("incident.")]
    assert kinds == ["incident.opened", "incident.opened"]
    registry.record(
        "drill.completed",
        actor="safeship-drill",
        model="alpha",
        version="1.0.0",
        payload={"scenario": "error-burst", "outcome": "failed", "requests_affected": 7},
    )
    (new,) = sync(registry)
    drill = next(i for i in list_incidents(registry) if i.id == new)
    assert drill.trigger == "drill" and drill.requests_affected == 7
    assert registry.verify_ledger().count == registry.change_counter()


def test_note_and_resolve_are_recorded_and_linked_to_versions(registry: Registry) -> None:
    sync(registry)
    rollback = next(i for i in list_incidents(registry) if i.trigger == "rollback")
    note(registry, rollback.id, "the retrain added an unfiltered source", author="ann")
    done = resolve(registry, rollback.id, fixed_in="1.3.0", author="ann", text="filtered again")
    assert done.status == "resolved" and done.fixed_in == "1.3.0" and len(done.notes) == 2
    assert [i.id for i in for_version(registry, "alpha", "1.3.0")] == [rollback.id]
    assert [i.id for i in for_version(registry, "alpha", "1.1.0")] == [rollback.id]
    last = registry.events()[-1]
    assert (last.kind, last.version, last.payload["incident"]) == (
        "incident.resolved",
        "1.3.0",
        rollback.id,
    )
    assert list_incidents(registry, status="open")[0].trigger == "alert"


def test_bad_input_is_refused_and_changes_nothing(registry: Registry) -> None:
    sync(registry)
    incident = list_incidents(registry)[0]
    before = (registry.count_rows(), [i.model_dump() for i in list_incidents(registry)])
    with pytest.raises(NotFoundError, match="no incident 999"):
        note(registry, 999, "x", author="ann")
    with pytest.raises(NotFoundError, match="no version '9.9.9'"):
        resolve(registry, incident.id, fixed_in="9.9.9", author="ann")
    with pytest.raises(InputError):
        note(registry, incident.id, "  ", author="ann")
    with pytest.raises(InputError):
        list_incidents(registry, status="closed")
    assert (registry.count_rows(), [i.model_dump() for i in list_incidents(registry)]) == before
    resolve(
        registry,
        incident.id,
        fixed_in="1.0.0" if incident.model == "alpha" else "2.1.0",
        author="ann",
    )
    with pytest.raises(ConflictError, match="already resolved"):
        resolve(
            registry,
            incident.id,
            fixed_in="2.1.0" if incident.model == "beta" else "1.0.0",
            author="ann",
        )
