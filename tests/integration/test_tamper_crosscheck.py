"""Tampering as a database superuser with the tables beside the ledger: every edit of
deployment state, statuses or manifests is found by the cross-check against the ledger."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from safeship.errors import IntegrityFailure
from safeship.monitoring.consistency import cross_check, require_consistent
from safeship.registry.registration import register
from safeship.registry.store import Registry
from tests.helpers import make_artifact


def _world(registry: Registry, tmp_path: Path) -> None:
    for i, version in enumerate(("1.0.0", "1.1.0", "1.2.0")):
        artifact = make_artifact(tmp_path / version, seed="abc"[i])
        register(registry, model="m", path=artifact, version=version, author="ann")
        for status in ("validated", "gated", "approved"):
            registry.move_status("m", version, status, actor="rev", reason="ok")
    registry.promote("m", "1.0.0", actor="ops")
    registry.promote("m", "1.1.0", actor="ops")
    registry.set_canary("m", "1.2.0", 10, actor="ops")
    registry.rollback("m", actor="ops", reason="drill")


def _unguarded(connection: Connection, sql: str, **params: str) -> None:
    """Run ``sql`` as a superuser would: with the immutability triggers out of the way."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("ALTER TABLE model_versions DISABLE TRIGGER ALL"))
        connection.execute(text(sql), params)
        connection.execute(text("ALTER TABLE model_versions ENABLE TRIGGER ALL"))
    else:
        connection.execute(text("DROP TRIGGER IF EXISTS model_versions_immutable"))
        connection.execute(text(sql), params)


def _swap_manifest(connection: Connection) -> None:
    row = connection.execute(
        text("SELECT manifest, dir_hash FROM model_versions WHERE version = '1.2.0'")
    ).one()
    _unguarded(
        connection,
        "UPDATE model_versions SET manifest = :m, dir_hash = :d WHERE version = '1.1.0'",
        m=row.manifest,
        d=row.dir_hash,
    )


def _rewrite_manifest_files(connection: Connection) -> None:
    raw = connection.execute(
        text("SELECT manifest FROM model_versions WHERE version = '1.0.0'")
    ).scalar_one()
    manifest = json.loads(raw)
    manifest["files"][0]["md5"] = "0" * 32
    _unguarded(
        connection,
        "UPDATE model_versions SET manifest = :m WHERE version = '1.0.0'",
        m=json.dumps(manifest),
    )


TAMPERING: dict[str, tuple[Callable[[Connection], None], str]] = {
    "production pointer": (
        lambda c: c.execute(text("UPDATE deployments SET production_version = '1.1.0'")),
        "production is '1.1.0'",
    ),
    "canary weight": (
        lambda c: c.execute(
            text("UPDATE deployments SET canary_version = '1.2.0', canary_weight = 100")
        ),
        "canary",
    ),
    "shadow pointer": (
        lambda c: c.execute(text("UPDATE deployments SET shadow_version = '1.1.0'")),
        "shadow is '1.1.0'",
    ),
    "deployment row deleted": (
        lambda c: c.execute(text("DELETE FROM deployments")),
        "production is None",
    ),
    "status revived": (
        lambda c: c.execute(
            text("UPDATE model_versions SET status = 'approved' WHERE version = '1.1.0'")
        ),  # fmt: skip
        "status is 'approved'",
    ),
    "manifest swapped": (_swap_manifest, "differs from the ledger"),
    "manifest files rewritten": (_rewrite_manifest_files, "do not hash to"),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampering_with_state_is_detected(registry: Registry, tmp_path: Path, case: str) -> None:
    _world(registry, tmp_path)
    assert cross_check(registry) == []
    tamper, expected = TAMPERING[case]
    with registry.engine.begin() as connection:
        tamper(connection)
    problems = cross_check(registry)
    assert any(expected in p for p in problems), problems
    with pytest.raises(IntegrityFailure, match="does not match the audit ledger"):
        require_consistent(registry)
    registry.verify_ledger()  # the chain itself is intact: only the cross-check sees it


def test_cli_audit_verify_and_verify_refuse_unexplained_state(project: Path) -> None:
    import subprocess
    import sys

    from safeship.config import Settings

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "safeship.cli", *args]
        return subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)

    assert cli("init").returncode == 0
    with Registry.open(Settings.from_env(project), create=False) as registry:
        _world(registry, project / "artifacts")
        assert cli("audit", "verify").returncode == 0
        with registry.engine.begin() as connection:
            connection.execute(text("UPDATE deployments SET production_version = '1.1.0'"))
    for args in (("audit", "verify"), ("verify", "m")):
        result = cli(*args)
        assert result.returncode == 6, result.stderr
        assert "does not match the audit ledger" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
