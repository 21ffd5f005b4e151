"""Registry behaviour on SQLite and PostgreSQL: versions, statuses, deployment, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from safeship.errors import (
    ConflictError,
    DuplicateVersionError,
    InputError,
    InvalidTransitionError,
    NotFoundError,
)
from safeship.registry.registration import artifact_dir, register
from safeship.registry.store import Registry
from tests.helpers import make_artifact


def _register(registry: Registry, project: Path, version: str, seed: str, **kw: object) -> None:
    register(
        registry,
        model="demo",
        path=make_artifact(project / f"m{version}", seed=seed),
        version=version,
        author="ann",
        **kw,
    )  # type: ignore[arg-type]


def _approve(registry: Registry, version: str) -> None:
    for status in ("validated", "gated", "approved"):
        registry.move_status("demo", version, status, actor="t")


def test_register_records_manifest_lineage_and_event(registry: Registry, project: Path) -> None:
    _register(registry, project, "1.0.0", "a", risk_tier="high")
    record = registry.version("demo", "1.0.0")
    assert record.status == "registered"
    assert {f["path"] for f in record.manifest["files"]} == {
        "config.json",
        "weights.bin",
        "tokenizer/vocab.txt",
    }
    assert record.adapter == "ngram"
    assert record.lineage["environment"]["python"]
    assert record.lineage["git"]["commit"] is None  # no commit yet in the fresh repo
    assert registry.model("demo").risk_tier == "high"
    events = registry.events()
    assert [e.kind for e in events] == ["version.registered"]
    assert registry.verify_ledger().count == 1


def test_refused_operations_change_nothing(registry: Registry, project: Path) -> None:
    _register(registry, project, "1.0.0", "a")
    before = registry.count_rows()
    with pytest.raises(DuplicateVersionError):
        _register(registry, project, "1.0.0", "b")
    with pytest.raises(InputError, match="semantic"):
        _register(registry, project, "1.0", "b")
    with pytest.raises(NotFoundError, match="no version '9.9.9'"):
        _register(registry, project, "1.1.0", "b", parent="9.9.9")
    with pytest.raises(InputError, match="does not exist"):
        register(registry, model="demo", path=project / "nope", version="1.2.0")
    with pytest.raises(ConflictError, match="only an approved version"):
        registry.promote("demo", "1.0.0", actor="bob")
    with pytest.raises(ConflictError, match="no production version"):
        registry.rollback("demo", actor="bob", reason="x")
    with pytest.raises(NotFoundError, match="unknown model"):
        registry.promote("other", "1.0.0", actor="bob")
    with pytest.raises(InvalidTransitionError, match="allowed from registered"):
        registry.move_status("demo", "1.0.0", "production", actor="bob")
    with pytest.raises(ConflictError, match="risk tier"):
        _register(registry, project, "1.3.0", "c", risk_tier="high")
    assert registry.count_rows() == before


def test_versions_are_immutable_below_the_orm(registry: Registry, project: Path) -> None:
    _register(registry, project, "1.0.0", "a")
    for statement in (
        "UPDATE model_versions SET manifest = '{}'",
        "UPDATE model_versions SET lineage = '{}'",
        "UPDATE model_versions SET dir_hash = 'x'",
        "DELETE FROM model_versions",
        "UPDATE ledger_events SET actor = 'mallory'",
        "DELETE FROM ledger_events",
    ):
        with pytest.raises(DBAPIError), registry.engine.begin() as connection:
            connection.execute(text(statement))
    with registry.engine.begin() as connection:  # status alone may move
        connection.execute(text("UPDATE model_versions SET status = 'validated'"))
    assert registry.version("demo", "1.0.0").status == "validated"
    assert registry.verify_ledger().count == 1


def test_promote_rollback_and_history(registry: Registry, project: Path) -> None:
    from safeship.ledger import utc_now

    _register(registry, project, "1.0.0", "a")
    _register(registry, project, "1.1.0", "b", parent="1.0.0")
    _approve(registry, "1.0.0")
    registry.promote("demo", "1.0.0", actor="bob")
    between = utc_now()
    _approve(registry, "1.1.0")
    registry.promote("demo", "1.1.0", actor="bob")
    assert registry.version("demo", "1.0.0").status == "retired"
    assert registry.deployment("demo").production == "1.1.0"
    event = registry.rollback("demo", actor="bob", reason="toxic outputs")
    assert event.payload["from_version"] == "1.1.0"
    assert registry.deployment("demo").production == "1.0.0"
    assert registry.version("demo", "1.1.0").status == "rejected"
    assert registry.history_at("demo", between).production == "1.0.0"
    assert registry.history_at("demo", utc_now()).production == "1.0.0"
    # the only earlier production (1.1.0) is now rejected: refused, nothing changes
    before = registry.count_rows()
    with pytest.raises(ConflictError, match="rejected"):
        registry.rollback("demo", actor="bob", reason="again")
    with pytest.raises(ConflictError, match="is rejected"):
        registry.promote("demo", "1.1.0", actor="bob")
    assert registry.count_rows() == before
    kinds = [e.kind for e in registry.events(model="demo")]
    assert kinds.count("deployment.promoted") == 2 and kinds[-1] == "deployment.rolled_back"
    assert registry.verify_ledger().count == len(kinds)


def test_forced_promotion_is_recorded(registry: Registry, project: Path) -> None:
    _register(registry, project, "1.0.0", "a")
    with pytest.raises(InputError, match="--reason"):
        registry.promote("demo", "1.0.0", actor="bob", force=True)
    event = registry.promote("demo", "1.0.0", actor="bob", force=True, reason="hotfix")
    assert event.payload["forced"] is True and event.payload["from_status"] == "registered"


def test_canary_and_shadow_pointers(registry: Registry, project: Path) -> None:
    _register(registry, project, "1.0.0", "a")
    _register(registry, project, "1.1.0", "b")
    with pytest.raises(ConflictError, match="only an approved"):
        registry.set_canary("demo", "1.1.0", 10, actor="t")
    _approve(registry, "1.1.0")
    with pytest.raises(InputError, match="out of range"):
        registry.set_canary("demo", "1.1.0", 101, actor="t")
    registry.set_canary("demo", "1.1.0", 25, actor="t")
    registry.set_shadow("demo", "1.1.0", actor="t")
    state = registry.deployment("demo")
    assert (state.canary, state.canary_weight, state.shadow) == ("1.1.0", 25, "1.1.0")
    registry.promote("demo", "1.1.0", actor="t")
    state = registry.deployment("demo")
    assert (state.production, state.canary, state.canary_weight, state.shadow) == (
        "1.1.0",
        None,
        0,
        None,
    )


def test_artifact_materialises_from_dvc_storage(registry: Registry, project: Path) -> None:
    _register(registry, project, "1.0.0", "a")
    record = registry.version("demo", "1.0.0")
    working = artifact_dir(registry, record)
    assert (working / "weights.bin").read_bytes() == (
        project / "m1.0.0" / "weights.bin"
    ).read_bytes()
