"""Lineage: where a version came from — git, the ``dvc.lock`` stage, environment, adapter.

``capture_lineage`` records, for an artifact path, the git commit and whether the tree
was dirty, the ``dvc.lock`` stage whose outputs contain the path (its deps with hashes,
its params, and whether the locked output hash equals the artifact's), the Python
version, a hash of the installed packages and the runtime adapter from ``config.json``.
``diff_lineage`` compares two versions and suggests a semantic-version bump.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from safeship.errors import ConfigError
from safeship.registry.semver import BumpKind

# config.json keys that tune serving, not the model: changing only these is a patch.
RUNTIME_CONFIG_KEYS = frozenset(
    {
        "seed",
        "temperature",
        "max_new_tokens",
        "system_prompt",
        "guardrails",
        "top_p",
        "top_k",
        "stop",
        "timeout_s",
        "max_retries",
        "concurrency",
    }
)
CODE_SUFFIXES = (".py", ".sh", ".ipynb", ".toml", ".cfg")


def _git(root: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def git_state(root: Path) -> dict[str, Any]:
    commit = _git(root, "rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status)}


def packages_hash() -> tuple[str, int]:
    """A hash of the installed distributions (name==version), from the metadata folder names.

    Reading the folder names (``name-version.dist-info``) costs about a millisecond, where
    parsing every package's metadata file costs hundreds (measured in BENCHMARKS.md).
    """
    import sys

    names: set[str] = set()
    for entry in sys.path:
        folder = Path(entry or ".")
        if not folder.is_dir():
            continue
        for child in folder.iterdir():
            if child.suffix in (".dist-info", ".egg-info") and "-" in child.stem:
                name, _, version = child.stem.partition("-")
                names.add(f"{name.lower().replace('_', '-')}=={version}")
    ordered = sorted(names)
    return hashlib.sha256("\n".join(ordered).encode()).hexdigest(), len(ordered)


def environment() -> dict[str, Any]:
    digest, count = packages_hash()
    return {"python": platform.python_version(), "packages_sha256": digest, "packages": count}


def read_config(path: Path) -> dict[str, Any] | None:
    """The artifact's ``config.json`` (None when absent); malformed JSON is an error."""
    from safeship.models.loader import CONFIG_FILE, read_config_json

    return read_config_json(path) if (path / CONFIG_FILE).exists() else None


def _out_path(out: Any) -> str | None:
    if isinstance(out, str):
        return out
    if isinstance(out, dict):
        value = out.get("path")
        return str(value) if value is not None else None
    return None


def _contains(out_path: str, target: str) -> bool:
    out, tgt = PurePosixPath(out_path), PurePosixPath(target)
    return tgt == out or out in tgt.parents


def find_stage(root: Path, artifact: Path) -> dict[str, Any] | None:
    """The ``dvc.lock`` stage whose outputs contain ``artifact`` (None if none does)."""
    import yaml

    lock_path = root / "dvc.lock"
    if not lock_path.exists():
        return None
    try:
        relative = artifact.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None
    try:
        lock = yaml.safe_load(lock_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{lock_path} is not valid YAML: {error}") from error
    for name, stage in (lock.get("stages") or {}).items():
        for out in stage.get("outs") or []:
            out_path = _out_path(out)
            if out_path and _contains(out_path, relative):
                return {
                    "stage": name,
                    "cmd": stage.get("cmd"),
                    "out": out,
                    "deps": [
                        {
                            "path": d.get("path"),
                            "md5": d.get("md5") or d.get("hash"),
                            "size": d.get("size"),
                        }
                        for d in stage.get("deps") or []
                    ],
                    "params": stage.get("params") or {},
                    "outs": stage.get("outs") or [],
                }
    return None


def capture_lineage(
    root: Path, artifact: Path, *, dir_hash: str, parent_version: str | None
) -> dict[str, Any]:
    stage = find_stage(root, artifact)
    if stage is not None:
        out = stage["out"]
        locked = out.get("md5") if isinstance(out, dict) else None
        stage["lock_matches_artifact"] = locked == dir_hash if locked else None
    config = read_config(artifact)
    if config is not None and "adapter" in config:
        from safeship.models.loader import read_adapter_config

        read_adapter_config(artifact)  # an unknown adapter: refused, naming the known ones
    return {
        "git": git_state(root),
        "dvc_stage": stage,
        "parent_version": parent_version,
        "environment": environment(),
        "adapter": (config or {}).get("adapter"),
        "config": config,
    }


def datasets(lineage: dict[str, Any]) -> dict[str, str | None]:
    """Data dependencies (not code) of the producing stage: path → hash."""
    stage = lineage.get("dvc_stage") or {}
    return {
        d["path"]: d.get("md5")
        for d in stage.get("deps") or []
        if d.get("path") and not str(d["path"]).endswith(CODE_SUFFIXES)
    }


def code(lineage: dict[str, Any]) -> dict[str, str | None]:
    stage = lineage.get("dvc_stage") or {}
    deps = {
        d["path"]: d.get("md5")
        for d in stage.get("deps") or []
        if d.get("path") and str(d["path"]).endswith(CODE_SUFFIXES)
    }
    deps["git:commit"] = (lineage.get("git") or {}).get("commit")
    return deps


def params(lineage: dict[str, Any]) -> dict[str, Any]:
    stage = lineage.get("dvc_stage") or {}
    flat: dict[str, Any] = {}
    for file_params in (stage.get("params") or {}).values():
        if isinstance(file_params, dict):
            flat.update(file_params)
    return flat


def _changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        key: {"from": old.get(key), "to": new.get(key)}
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    }


@dataclass
class LineageDiff:
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    code: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)
    architecture: dict[str, dict[str, Any]] = field(default_factory=dict)
    runtime_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    derived_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    suggested_bump: BumpKind = "none"
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def suggest_bump(diff: LineageDiff) -> tuple[BumpKind, str]:
    if diff.architecture:
        return "major", "the model's architecture/config changed: " + ", ".join(diff.architecture)
    if diff.data or diff.params:
        changed = [*diff.data, *diff.params]
        return "minor", "retrained on changed data or parameters: " + ", ".join(changed)
    if diff.runtime_config:
        return "patch", "only runtime/guardrail settings changed: " + ", ".join(diff.runtime_config)
    if any(diff.files.values()) or diff.code:
        return "minor", "the files changed (retrained) with the same data and config"
    return "none", "nothing changed"


def diff_lineage(
    old: dict[str, Any], new: dict[str, Any], old_files: dict[str, str], new_files: dict[str, str]
) -> LineageDiff:
    """What changed in data, params, code and files between two versions."""
    diff = LineageDiff()
    diff.data = _changes(datasets(old), datasets(new))
    diff.params = _changes(params(old), params(new))
    diff.code = _changes(code(old), code(new))
    diff.files = {
        "added": sorted(set(new_files) - set(old_files)),
        "removed": sorted(set(old_files) - set(new_files)),
        "changed": sorted(
            p for p in set(old_files) & set(new_files) if old_files[p] != new_files[p]
        ),
    }
    old_config, new_config = old.get("config") or {}, new.get("config") or {}
    config_changes = _changes(old_config, new_config)
    if old.get("adapter") != new.get("adapter"):
        config_changes["adapter"] = {"from": old.get("adapter"), "to": new.get("adapter")}
    hyper = {key.rsplit(".", 1)[-1] for key in {**params(old), **params(new)}}
    for key, change in config_changes.items():
        if key in RUNTIME_CONFIG_KEYS:
            diff.runtime_config[key] = change
        elif key == "adapter" or key in hyper or not (diff.data or diff.params):
            # a hyper-parameter, the adapter, or a config change with no data change
            diff.architecture[key] = change
        else:
            diff.derived_config[key] = change  # e.g. vocabulary size after new data
    diff.suggested_bump, diff.reason = suggest_bump(diff)
    return diff
