"""Registering a version: hash, capture lineage, store in DVC, insert with its event.

Nothing is written to the registry until the artifact is hashed and safely in the
artifact store; every refusal happens before that insert, so a refused registration
changes neither the registry nor the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from safeship.errors import NotFoundError
from safeship.lineage.capture import capture_lineage, diff_lineage
from safeship.registry.hashing import HashCache, Manifest, hash_directory
from safeship.registry.names import validate_model_name, validate_version, version_path
from safeship.registry.orphans import clean_orphans, registration_marker
from safeship.registry.records import VersionRecord
from safeship.registry.semver import SemVer, bump_kind
from safeship.registry.storage import local_stores, store_artifact
from safeship.registry.store import Registry

Progress = Callable[[int], None]


@dataclass
class RegistrationResult:
    record: VersionRecord
    event_hash: str
    pushed_objects: int
    suggested_bump: str | None = None
    declared_bump: str | None = None
    warnings: list[str] = field(default_factory=list)


def hash_cache_for(registry: Registry) -> HashCache:
    return HashCache(registry.settings.state_dir / "hash-cache.db")


def hash_artifact(registry: Registry, path: Path, progress: Progress | None = None) -> Manifest:
    cache = hash_cache_for(registry)
    try:
        return hash_directory(path, cache=cache, progress=progress)
    finally:
        cache.close()


def _baseline(registry: Registry, model: str, parent: str | None) -> VersionRecord | None:
    """The version a new one is compared with: its parent, else the latest registered."""
    if parent is not None:
        return registry.version(model, parent)
    versions = registry.versions(model)
    return versions[-1] if versions else None


def _refuse_early(registry: Registry, model: str, version: str, parent: str | None) -> bool:
    """Whether ``model`` exists, after refusing a taken version or an unknown parent. This
    fails fast, before hashing; the insert transaction refuses both again, where a
    concurrent registration is caught too."""
    if not registry.has_model(model):
        if parent is not None:
            raise NotFoundError(
                f"parent version {parent!r} does not exist: model {model!r} has no versions yet"
            )
        return False
    existing = {v.version for v in registry.versions(model)}
    if version in existing:
        from safeship.errors import DuplicateVersionError

        raise DuplicateVersionError(
            f"model {model!r} already has version {version!r}; versions are immutable: "
            "register a new version number"
        )
    if parent is not None and parent not in existing:
        registry.version(model, parent)
    return True


def _bump_check(
    registry: Registry,
    model: str,
    parent: str | None,
    version: str,
    lineage: dict[str, object],
    manifest: Manifest,
) -> tuple[str | None, str | None, list[str]]:
    """(suggested bump, declared bump, warnings) against the parent or latest version."""
    baseline = _baseline(registry, model, parent)
    if baseline is None:
        return None, None, []
    diff = diff_lineage(
        baseline.lineage,
        lineage,
        baseline.file_hashes(),
        {e.relpath: e.md5 for e in manifest.files},
    )
    previous, semver = SemVer.parse(baseline.version), SemVer.parse(version)
    declared = bump_kind(previous, semver)
    warnings: list[str] = []
    if diff.suggested_bump != "none" and declared != diff.suggested_bump:
        warnings.append(
            f"declared a {declared} bump from {baseline.version} to {version}, but the "
            f"lineage suggests a {diff.suggested_bump} bump ({diff.reason})"
        )
    if semver < previous:
        warnings.append(f"{version} is lower than {baseline.version}")
    return diff.suggested_bump, declared, warnings


def register(
    registry: Registry,
    *,
    model: str,
    path: Path,
    version: str,
    parent: str | None = None,
    author: str | None = None,
    notes: str | None = None,
    risk_tier: str | None = None,
    actor: str | None = None,
    progress: Progress | None = None,
) -> RegistrationResult:
    validate_model_name(model)
    SemVer.parse(validate_version(version))
    if parent is not None:
        validate_version(parent)
    path = path.expanduser()
    known = _refuse_early(registry, model, version, parent)
    root = registry.settings.project_root
    state_dir = registry.settings.state_dir
    clean_orphans(state_dir, lambda: local_stores(root))
    with registration_marker(state_dir):
        manifest = hash_artifact(registry, path, progress)
        lineage = capture_lineage(root, path, dir_hash=manifest.dir_hash, parent_version=parent)
        pushed = store_artifact(root, path.resolve(), manifest)

    suggested, declared, warnings = (
        _bump_check(registry, model, parent, version, lineage, manifest)
        if known
        else (None, None, [])
    )

    record, event = registry.add_version(
        model=model,
        version=version,
        manifest=manifest.to_dict(),
        lineage=lineage,
        parent_version=parent,
        adapter=lineage.get("adapter"),
        author=author,
        notes=notes,
        risk_tier=risk_tier,
        actor=actor or author or "safeship",
    )
    return RegistrationResult(record, event.hash, pushed, suggested, declared, warnings)


def artifact_dir(registry: Registry, record: VersionRecord) -> Path:
    """A read-only working copy of a registered version, materialised from DVC storage."""
    from safeship.registry.storage import materialize

    target = version_path(registry.settings.state_dir / "artifacts", record.model, record.version)
    return materialize(registry.settings.project_root, Manifest.from_dict(record.manifest), target)
