"""Release steps: register → validate → safety battery → gate → (approval) → promote."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from safeship.errors import DuplicateVersionError, InputError
from safeship.lineage.capture import capture_lineage, datasets, diff_lineage
from safeship.params import Params
from safeship.registry.registration import artifact_dir, hash_artifact, register
from safeship.registry.semver import SemVer, suggest_next
from safeship.registry.store import Registry
from safeship.release.request import ReleaseRequest

if TYPE_CHECKING:
    from safeship.safety.probes import ProbeSuite

ACTOR = "safeship-release"
PAST_VALIDATION = ("validated", "gated", "approved", "canary", "production", "retired")
PAST_GATE = ("gated", "approved", "canary", "production", "retired")


class RegisterOutcome(BaseModel):
    model: str
    version: str
    dir_hash: str
    reused: bool
    suggested_bump: str | None = None
    warnings: list[str] = Field(default_factory=list)


def suggest_version(registry: Registry, request: ReleaseRequest, path: Path) -> tuple[str, str]:
    """The next version from the lineage diff against production (else the latest)."""
    if not registry.has_model(request.model):
        return "1.0.0", "first version"
    production = registry.deployment(request.model).production
    versions = registry.versions(request.model)
    base = registry.version(request.model, production) if production else versions[-1]
    manifest = hash_artifact(registry, path)
    lineage = capture_lineage(
        registry.settings.project_root, path, dir_hash=manifest.dir_hash, parent_version=None
    )
    diff = diff_lineage(
        base.lineage, lineage, base.file_hashes(), {e.relpath: e.md5 for e in manifest.files}
    )
    if diff.suggested_bump == "none":
        return base.version, "unchanged"
    latest = max(SemVer.parse(v.version) for v in versions)
    return str(suggest_next(latest, diff.suggested_bump)), diff.reason


def register_candidate(registry: Registry, request: ReleaseRequest) -> RegisterOutcome:
    path = registry.settings.project_root / request.candidate_path
    version, reason = request.version, None
    if version is None:
        version, reason = suggest_version(registry, request, path)
    if registry.has_model(request.model) and version in {
        v.version for v in registry.versions(request.model)
    }:
        existing = registry.version(request.model, version)
        manifest = hash_artifact(registry, path)
        if manifest.dir_hash != existing.dir_hash:
            raise DuplicateVersionError(
                f"{request.model} {version} is already registered with different content "
                f"({existing.dir_hash}, candidate {manifest.dir_hash}): choose a new version"
            )
        return RegisterOutcome(
            model=request.model, version=version, dir_hash=existing.dir_hash, reused=True
        )
    production = (
        registry.deployment(request.model).production if registry.has_model(request.model) else None
    )
    result = register(
        registry,
        model=request.model,
        path=path,
        version=version,
        parent=production,
        author=request.author,
        notes=request.notes or reason,
        risk_tier=request.risk_tier,
        actor=ACTOR,
    )
    return RegisterOutcome(
        model=request.model,
        version=version,
        dir_hash=result.record.dir_hash,
        reused=False,
        suggested_bump=result.suggested_bump,
        warnings=result.warnings,
    )


class DatasetCheck(BaseModel):
    path: str
    recorded_hash: str | None
    current_hash: str | None
    files: list[dict[str, Any]] = Field(default_factory=list)
    passed: bool
    reasons: list[str] = Field(default_factory=list)


class ValidationOutcome(BaseModel):
    passed: bool
    datasets: list[DatasetCheck] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    reused: bool = False


def _dataset_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(path.rglob("*.jsonl"))
    return [path] if path.suffix == ".jsonl" else []


def _check_dataset(
    root: Path, rel: str, recorded: str | None, params: Params, out: Path
) -> DatasetCheck:
    from safeship.registry.hashing import hash_directory, md5_file
    from safeship.release.validation import (
        load_jsonl_frame,
        validate_corpus,
        write_validation_report,
    )

    path = root / rel
    if not path.exists():
        return DatasetCheck(
            path=rel,
            recorded_hash=recorded,
            current_hash=None,
            passed=False,
            reasons=[f"{rel}: dataset named in the lineage is missing"],
        )
    current = hash_directory(path).dir_hash if path.is_dir() else md5_file(path)
    check = DatasetCheck(path=rel, recorded_hash=recorded, current_hash=current, passed=True)
    if recorded and current != recorded:
        check.passed = False
        check.reasons.append(
            f"{rel}: changed since the version was built (lineage {recorded}, now {current})"
        )
        return check
    for file in _dataset_files(path):
        name = file.relative_to(root).as_posix().replace("/", "__").removesuffix(".jsonl")
        result = validate_corpus(load_jsonl_frame(file), params.validate_, name=name)
        json_path, html_path = write_validation_report(result, out)
        check.files.append(
            {
                "file": file.relative_to(root).as_posix(),
                "success": result.success,
                "json": str(json_path),
                "html": str(html_path),
                "failed": [o.name for o in result.failed],
            }
        )
        if not result.success:
            check.passed = False
            check.reasons += [
                f"{file.relative_to(root).as_posix()}: {o.name} failed ({o.unexpected_count} rows)"
                for o in result.failed
            ]
    return check


def validate_datasets(
    registry: Registry, model: str, version: str, params: Params, out_dir: Path
) -> ValidationOutcome:
    """Great Expectations over every dataset the version's lineage names."""
    record = registry.version(model, version)
    if record.status in PAST_VALIDATION:
        return ValidationOutcome(passed=True, reused=True, reasons=["validated by an earlier run"])
    if record.status == "rejected":
        return ValidationOutcome(
            passed=False, reused=True, reasons=[f"{model} {version} is rejected"]
        )
    root = registry.settings.project_root
    checks = [
        _check_dataset(root, rel, recorded, params, out_dir)
        for rel, recorded in datasets(record.lineage).items()
        if (root / rel).is_dir() or rel.endswith(".jsonl")
    ]
    reasons = [reason for check in checks for reason in check.reasons]
    outcome = ValidationOutcome(
        passed=all(c.passed for c in checks), datasets=checks, reasons=reasons
    )
    registry.move_status(
        model,
        version,
        "validated" if outcome.passed else "rejected",
        actor=ACTOR,
        reason=None if outcome.passed else "data validation failed",
        payload={
            "datasets": [
                {"path": c.path, "hash": c.current_hash, "passed": c.passed} for c in checks
            ],
            "reasons": reasons[:20],
        },
    )
    return outcome


def _read_jsonl(files: list[Path]) -> list[dict[str, Any]]:
    import json

    records: list[dict[str, Any]] = []
    for file in files:
        if not file.is_file():
            raise InputError(
                f"{file}: a data split named in the version's config.json is missing; "
                "restore it (dvc pull / dvc repro) before scanning"
            )
        with file.open(encoding="utf-8") as handle:
            records += [json.loads(line) for line in handle if line.strip()]
    return records


def data_splits(root: Path, lineage: dict[str, Any]) -> tuple[list[Path] | None, list[Path]]:
    """(training files, held-out files) of a version.

    The split is what the version's ``config.json`` names under ``data`` (``train`` and
    ``heldout``: paths relative to the project root; ``"train": []`` declares that the
    version holds no training data of this project, e.g. a hosted model). Without it, every
    JSONL file of the datasets in the lineage is training data and nothing is held out;
    with no such file either, the training data is unknown (``None``).
    """
    splits = (lineage.get("config") or {}).get("data")
    if isinstance(splits, dict):
        train = splits.get("train")
        return (
            None if train is None else [root / str(p) for p in train],
            [root / str(p) for p in splits.get("heldout") or []],
        )
    files = [file for rel in datasets(lineage) for file in _dataset_files(root / rel)]
    return files or None, []


class SafetyOutcome(BaseModel):
    profile_hash: str
    passed: bool
    reused: bool
    failures: list[str] = Field(default_factory=list)
    report_dir: str | None = None


def run_safety(
    registry: Registry,
    model: str,
    version: str,
    params: Params,
    out_dir: Path,
    progress: Callable[[int, int], None] | None = None,
    amend_reason: str | None = None,
    probes: ProbeSuite | None = None,
) -> SafetyOutcome:
    """The safety battery; the first profile of a version becomes its locked baseline.

    With a profile already stored, it is reused — unless ``amend_reason`` is given, in
    which case the battery runs again and its result is appended as an amendment.
    ``probes`` replaces the shipped probe sets (a rescan on a newer probe set).
    """
    from safeship.models.loader import load_generator
    from safeship.safety.battery import run_battery

    existing = registry.profiles.latest(model, version)
    if existing is not None and amend_reason is None:
        return SafetyOutcome(
            profile_hash=existing.profile_hash,
            passed=bool(existing.profile.get("passed")),
            reused=True,
        )
    record = registry.version(model, version)
    root = registry.settings.project_root
    generator = load_generator(artifact_dir(registry, record))
    production = registry.deployment(model).production
    baseline = None
    if production and production != version:
        baseline = load_generator(artifact_dir(registry, registry.version(model, production)))
    training_files, heldout_files = data_splits(root, record.lineage)
    training = None if training_files is None else _read_jsonl(training_files)
    heldout = [
        f"{r.get('prompt', '')} {r.get('response', '')}".strip() for r in _read_jsonl(heldout_files)
    ]
    result = run_battery(
        generator,
        params.safety,
        training_records=training,
        heldout_texts=heldout,
        baseline_generator=baseline,
        progress=progress,
        probes=probes,
    )
    result.save(out_dir)
    profile = result.profile()
    described = profile.get("probes") or {}
    stored = registry.profiles.append(
        model,
        version,
        profile,
        actor=ACTOR,
        reason=amend_reason if existing is not None else None,
        probe_set_version=str(described.get("version")) if described.get("version") else None,
        probe_set_hash=str(described.get("hash")) if described.get("hash") else None,
    )
    return SafetyOutcome(
        profile_hash=stored.profile_hash,
        passed=result.passed,
        reused=False,
        failures=[m.key for m in result.failures],
        report_dir=str(out_dir),
    )


def judge_gate(registry: Registry, model: str, version: str, params: Params) -> Any:
    """The gate on the version's latest profile, against production's latest profile.

    Returns ``(GateResult, payload)`` where the payload is what the ledger records.
    """
    from safeship.release.gate import evaluate_gate

    profile = registry.profiles.require_latest(model, version)
    production = registry.deployment(model).production
    production_metrics = None
    if production and production != version:
        production_profile = registry.profiles.latest(model, production)
        production_metrics = production_profile.profile["metrics"] if production_profile else None
    tier = registry.model(model).risk_tier
    result = evaluate_gate(profile.profile["metrics"], production_metrics, params.safety, tier)
    payload = {
        "passed": result.passed,
        "reasons": result.reasons,
        "profile_hash": profile.profile_hash,
        "against": production,
    }
    return result, payload


def gate_version(registry: Registry, model: str, version: str, params: Params) -> Any:
    """Judge the gate and move the version to gated or rejected (one ledger event)."""
    result, payload = judge_gate(registry, model, version, params)
    status = registry.version(model, version).status
    if status in PAST_GATE or status == "rejected":
        return result
    registry.move_status(
        model,
        version,
        "gated" if result.passed else "rejected",
        actor=ACTOR,
        reason=None if result.passed else "safety gate failed",
        payload={"gate": payload},
    )
    return result


def reject(registry: Registry, model: str, version: str, reason: str) -> None:
    if registry.version(model, version).status not in ("rejected", "production"):
        registry.move_status(model, version, "rejected", actor=ACTOR, reason=reason)
