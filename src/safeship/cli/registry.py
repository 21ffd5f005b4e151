"""``register``, ``models``, ``versions``, ``show`` and ``verify``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from safeship.cli.common import add_json_flag, byte_progress, open_registry, warn
from safeship.cli.output import print_json, print_table


def _register(args: argparse.Namespace) -> int:
    from safeship.registry.hashing import list_files
    from safeship.registry.registration import register
    from safeship.registry.semver import SemVer

    SemVer.parse(args.version)
    path = Path(args.path)
    total = sum(p.stat().st_size for p in list_files(path))
    with open_registry() as registry, byte_progress("hashing", total) as progress:
        result = register(
            registry,
            model=args.model,
            path=path,
            version=args.version,
            parent=args.parent,
            author=args.author,
            notes=args.notes,
            risk_tier=args.risk_tier,
            progress=progress,
        )
    for message in result.warnings:
        warn(message)
    record = result.record
    if args.json:
        print_json(
            {
                **record.model_dump(exclude={"manifest", "lineage"}),
                "files": len(record.manifest["files"]),
                "ledger_hash": result.event_hash,
                "pushed_objects": result.pushed_objects,
                "suggested_bump": result.suggested_bump,
                "warnings": result.warnings,
            }
        )
    else:
        print(
            f"registered {record.model} {record.version} ({len(record.manifest['files'])} files, "
            f"{record.dir_hash}); stored in DVC, {result.pushed_objects} objects pushed"
        )
    return 0


def _models(args: argparse.Namespace) -> int:
    with open_registry() as registry:
        rows = [(m, registry.deployment(m.name)) for m in registry.models()]
    if args.json:
        print_json([{**m.model_dump(), "production": d.production} for m, d in rows])
    else:
        print_table(
            "models",
            ["model", "risk tier", "owner", "production", "created"],
            [(m.name, m.risk_tier, m.owner, d.production, m.created_at) for m, d in rows],
        )
    return 0


def _versions(args: argparse.Namespace) -> int:
    with open_registry() as registry:
        versions = registry.versions(args.model)
    if args.json:
        print_json([v.model_dump(exclude={"manifest", "lineage"}) for v in versions])
    else:
        print_table(
            f"{args.model} versions",
            ["version", "status", "parent", "adapter", "author", "dir hash", "created"],
            [
                (
                    v.version,
                    v.status,
                    v.parent_version,
                    v.adapter,
                    v.author,
                    v.dir_hash,
                    v.created_at,
                )
                for v in versions
            ],
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    with open_registry() as registry:
        record = registry.version(args.model, args.version)
    if args.json:
        print_json(record.model_dump())
        return 0
    stage = record.lineage.get("dvc_stage") or {}
    git = record.lineage.get("git") or {}
    print_table(
        f"{record.model} {record.version}",
        ["field", "value"],
        [
            ("status", record.status),
            ("dir hash", record.dir_hash),
            ("files", len(record.manifest["files"])),
            ("parent", record.parent_version),
            ("adapter", record.adapter),
            ("author", record.author),
            ("notes", record.notes),
            ("created", record.created_at),
            ("git commit", f"{git.get('commit')} (dirty: {git.get('dirty')})"),
            ("dvc stage", stage.get("stage")),
        ],
    )
    print_table(
        "files",
        ["path", "md5", "size"],
        [(f["path"], f["md5"], f["size"]) for f in record.manifest["files"]],
    )
    return 0


def _verify(args: argparse.Namespace) -> int:
    from safeship.monitoring.consistency import require_consistent
    from safeship.monitoring.integrity import verify_versions

    with open_registry() as registry:
        require_consistent(registry)  # a manifest row swapped outside safeship is refused
        reports = verify_versions(registry, args.model, args.version, actor=args.actor)
    failed = [r for r in reports if not r["ok"]]
    if args.json:
        print_json(reports)
    else:
        for report in reports:
            state = "ok" if report["ok"] else "FAILED"
            print(f"{report['model']} {report['version']}: {state}")
            for check in report["checks"]:
                for kind in ("changed", "missing", "extra"):
                    for name in check[kind]:
                        print(f"  {kind}: {name} ({check['location']})")
    if failed:
        names = ", ".join(f"{r['model']} {r['version']}" for r in failed)
        print(f"error: integrity check failed for {names}", file=sys.stderr)
        return 6
    return 0


def add_commands(subparsers: Any) -> None:
    register = subparsers.add_parser("register", help="register an immutable model version")
    register.add_argument("model")
    register.add_argument("path", help="directory holding the model's files")
    register.add_argument("--version", required=True, help="semantic version, e.g. 1.0.0")
    register.add_argument("--parent", help="the version this one derives from")
    register.add_argument("--author")
    register.add_argument("--notes")
    register.add_argument(
        "--risk-tier",
        choices=["low", "medium", "high"],
        help="set when the model is first registered (default medium)",
    )
    add_json_flag(register)
    register.set_defaults(handler=_register)

    models = subparsers.add_parser("models", help="list models")
    add_json_flag(models)
    models.set_defaults(handler=_models)

    versions = subparsers.add_parser("versions", help="list a model's versions")
    versions.add_argument("model")
    add_json_flag(versions)
    versions.set_defaults(handler=_versions)

    show = subparsers.add_parser("show", help="show one version: manifest, lineage, status")
    show.add_argument("model")
    show.add_argument("version")
    add_json_flag(show)
    show.set_defaults(handler=_show)

    verify = subparsers.add_parser(
        "verify", help="re-hash stored artifacts in the DVC cache and remote against the catalog"
    )
    verify.add_argument("model")
    verify.add_argument("version", nargs="?")
    verify.add_argument("--actor", default="safeship-verify")
    add_json_flag(verify)
    verify.set_defaults(handler=_verify)
