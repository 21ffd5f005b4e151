"""Safety profiles: the baseline is locked, amendments append, nothing is overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from safeship.errors import InputError, NotFoundError
from safeship.registry.registration import register
from safeship.registry.store import Registry
from tests.helpers import make_artifact


def test_baseline_then_amendments(registry: Registry, project: Path) -> None:
    register(registry, model="demo", path=make_artifact(project / "m"), version="1.0.0")
    with pytest.raises(NotFoundError, match="no safety profile"):
        registry.profiles.require_latest("demo", "1.0.0")
    base = registry.profiles.append(
        "demo", "1.0.0", {"passed": True, "m": 1}, actor="t", probe_set_version="1"
    )
    assert base.kind == "baseline" and base.seq == 0
    before = registry.count_rows()
    with pytest.raises(InputError, match="reason"):
        registry.profiles.append("demo", "1.0.0", {"passed": False}, actor="t")
    assert registry.count_rows() == before
    amended = registry.profiles.append(
        "demo",
        "1.0.0",
        {"passed": False, "m": 2},
        actor="t",
        reason="probe set 2",
        probe_set_version="2",
    )
    assert amended.kind == "amendment" and amended.seq == 1
    history = registry.profiles.history("demo", "1.0.0")
    assert [p.profile["m"] for p in history] == [1, 2]
    assert registry.profiles.baseline("demo", "1.0.0").profile_hash == base.profile_hash  # type: ignore[union-attr]
    for statement in ("UPDATE safety_profiles SET profile = '{}'", "DELETE FROM safety_profiles"):
        with pytest.raises(DBAPIError), registry.engine.begin() as connection:
            connection.execute(text(statement))
    kinds = [e.kind for e in registry.events()]
    assert kinds == ["version.registered", "safety.baseline", "safety.amendment"]
    assert registry.verify_ledger().count == 3
