"""Integrity checks of stored versions against the catalog (cache, remote, working copy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safeship.events import EventKind
from safeship.registry.hashing import Manifest, hash_directory
from safeship.registry.names import version_path
from safeship.registry.records import VersionRecord
from safeship.registry.storage import StoreCheck, verify_stored
from safeship.registry.store import Registry


def check_directory(path: Path, manifest: Manifest, location: str) -> StoreCheck:
    """Compare a working copy on disk with the manifest (changed, missing, extra files)."""
    check = StoreCheck(location)
    expected = {e.relpath: e.md5 for e in manifest.files}
    found = {e.relpath: e.md5 for e in hash_directory(path).files if e.relpath != ".complete"}
    check.changed = sorted(p for p in expected if p in found and found[p] != expected[p])
    check.missing = sorted(p for p in expected if p not in found)
    check.extra = sorted(p for p in found if p not in expected)
    return check


def verify_version(registry: Registry, record: VersionRecord) -> dict[str, Any]:
    manifest = Manifest.from_dict(record.manifest)
    checks = verify_stored(registry.settings.project_root, manifest)
    working = version_path(registry.settings.state_dir / "artifacts", record.model, record.version)
    if working.is_dir():
        checks.append(check_directory(working, manifest, f"working copy {working}"))
    ok = all(c.ok for c in checks)
    return {
        "model": record.model,
        "version": record.version,
        "dir_hash": record.dir_hash,
        "ok": ok,
        "checks": [c.to_dict() for c in checks],
    }


def verify_versions(
    registry: Registry, model: str, version: str | None, *, actor: str
) -> list[dict[str, Any]]:
    """Verify one version or all of a model's; a failure is written to the ledger."""
    records = [registry.version(model, version)] if version else registry.versions(model)
    reports = [verify_version(registry, record) for record in records]
    for report in reports:
        if not report["ok"]:
            registry.record(
                EventKind.INTEGRITY_FAILED,
                actor=actor,
                model=model,
                version=report["version"],
                payload={"checks": [c for c in report["checks"] if not c["ok"]]},
            )
    return reports
