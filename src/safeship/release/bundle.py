"""The release bundle: ``reports/<model>/<version>/<run-id>/`` tells the whole story.

``release.json`` (manifest, lineage, validation, profile, gate, approvals, canary steps,
decision, timings, ledger event hashes), release notes, the model card and the HTML
reports the steps wrote there. The bundle's hash goes into the ledger.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from safeship.events import EventKind
from safeship.registry.store import Registry
from safeship.release.cards import card_data, card_json, card_markdown, release_notes

Decision = Literal["promoted", "rejected", "rolled_back"]


def bundle_dir(reports_root: Path, model: str, version: str, run_id: str) -> Path:
    from safeship.registry.names import version_path

    return version_path(reports_root, model, version) / run_id


def bundle_hash(directory: Path) -> str:
    """sha256 over every file's path and sha256, in path order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    return digest.hexdigest()


def write_bundle(
    registry: Registry,
    *,
    model: str,
    version: str,
    run_id: str,
    directory: Path,
    decision: Decision,
    sections: dict[str, Any],
    previous_production: str | None,
) -> tuple[Path, str]:
    """Write the bundle, record its hash in the ledger, return (release.json path, hash)."""
    directory.mkdir(parents=True, exist_ok=True)
    record = registry.version(model, version)
    events = [e for e in registry.events(model=model) if e.version in (version, None)]
    stored = registry.profiles.latest(model, version)
    release = {
        "model": model,
        "version": version,
        "run_id": run_id,
        "decision": decision,
        "status": record.status,
        "previous_production": previous_production,
        "manifest": record.manifest,
        "lineage": record.lineage,
        "profile": stored.profile if stored else None,
        "profile_hash": stored.profile_hash if stored else None,
        "ledger_events": [{"seq": e.seq, "kind": e.kind, "hash": e.hash} for e in events],
        **sections,
    }
    (directory / "release.json").write_text(
        json.dumps(release, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )
    data = card_data(registry, model, version)
    (directory / "MODEL_CARD.md").write_text(card_markdown(data), encoding="utf-8")
    (directory / "model_card.json").write_text(card_json(data) + "\n", encoding="utf-8")
    (directory / "RELEASE_NOTES.md").write_text(
        release_notes(registry, model, version, previous_production), encoding="utf-8"
    )
    digest = bundle_hash(directory)
    registry.record(
        EventKind.RELEASE_BUNDLE,
        actor="safeship-release",
        model=model,
        version=version,
        payload={
            "run_id": run_id,
            "decision": decision,
            "bundle_sha256": digest,
            "path": str(directory),
        },
    )
    return directory / "release.json", digest
