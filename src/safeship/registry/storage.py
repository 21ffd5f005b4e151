"""The immutable artifact store: DVC's content-addressed cache and its default remote.

Files are copied into the DVC cache while their md5 is recomputed (what is stored is
exactly what was hashed), the directory's ``.dir`` object is written by DVC's own tree
code, and DVC pushes the objects to the remote. ``verify_stored`` re-hashes what the
cache and the remote hold against a catalog manifest.

The remote is the project's default DVC remote: a local folder by default, or a team's own
(``dvc remote add -d NAME s3://BUCKET/PATH``; ``dvc remote modify NAME endpointurl URL`` for
an S3-compatible server; credentials from the environment, ``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` or ``AWS_PROFILE``, never from safeship's files). A missing bucket
or refused credentials are one clear error before anything is pushed, pulled or verified.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safeship.config import apply_offline_env
from safeship.errors import ExternalToolError, IntegrityFailure, NotFoundError
from safeship.registry.hashing import CHUNK, Manifest

# One DVC repo handle per (process, project), reused while .dvc/config is unchanged: opening
# a Repo costs ~50-200 ms, more than the rest of a warm registration. DVC handles are not
# thread-safe, so one lock serialises their use within a process.
_REPOS: dict[tuple[int, str], tuple[tuple[int, ...], Any]] = {}
_REPOS_LOCK = threading.RLock()
_MAX_REPOS = 4
# object ids known to be on the remote, per open handle (a new handle starts empty)
_PUSHED: dict[int, set[str]] = {}


def _config_stamp(root: Path) -> tuple[int, ...]:
    """mtimes of the DVC config files: a remote added or changed opens a fresh handle."""
    stamp: list[int] = []
    for name in ("config", "config.local"):
        try:
            stamp.append((root / ".dvc" / name).stat().st_mtime_ns)
        except FileNotFoundError:
            stamp.append(0)
    return tuple(stamp)


def _open_repo(root: Path) -> Any:
    from dvc.exceptions import NotDvcRepoError
    from dvc.repo import Repo

    key = (os.getpid(), str(root.resolve()))
    stamp = _config_stamp(root)
    cached = _REPOS.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    if cached is not None:
        del _REPOS[key]
        _PUSHED.pop(id(cached[1]), None)
        cached[1].close()
    try:
        repo = Repo(str(root))
    except NotDvcRepoError as error:
        raise NotFoundError(f"{root} is not a DVC project: run `safeship init` first") from error
    while len(_REPOS) >= _MAX_REPOS:  # a long test session opens many projects: bound it
        _, old = _REPOS.pop(next(iter(_REPOS)))
        _PUSHED.pop(id(old), None)
        old.close()
    _REPOS[key] = (stamp, repo)
    return repo


@atexit.register
def close_repos() -> None:
    """Close this process's cached DVC handles (at exit; tests may call it)."""
    with _REPOS_LOCK:
        for key, (_, repo) in list(_REPOS.items()):
            if key[0] == os.getpid():
                repo.close()
        _REPOS.clear()
        _PUSHED.clear()


@contextmanager
def dvc_repo(root: Path) -> Iterator[Any]:
    apply_offline_env()
    from dvc.exceptions import DvcException

    with _REPOS_LOCK:
        repo = _open_repo(root)
        try:
            yield repo
        except DvcException as error:
            raise ExternalToolError(f"DVC failed: {error}") from error


def _copy_hashed(source: Path, destination: Path, expected_md5: str) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.md5()
    handle, tmp_name = tempfile.mkstemp(dir=destination.parent, prefix=".tmp-")
    try:
        with source.open("rb") as reader, os.fdopen(handle, "wb") as writer:
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                writer.write(chunk)
        if digest.hexdigest() != expected_md5:
            raise IntegrityFailure(
                f"{source} changed while it was being registered (md5 {digest.hexdigest()} "
                f"!= {expected_md5}); register again once it is stable"
            )
        os.chmod(tmp_name, 0o444)
        os.replace(tmp_name, destination)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _tree_for(manifest: Manifest) -> Any:
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.meta import Meta
    from dvc_data.hashfile.tree import Tree

    make_tree: Any = Tree  # dvc_data's constructor is untyped
    tree = make_tree()
    for entry in manifest.files:
        tree.add(tuple(entry.relpath.split("/")), Meta(size=entry.size), HashInfo("md5", entry.md5))
    tree.digest()
    if tree.hash_info.value != manifest.dir_hash:
        raise IntegrityFailure(
            f"DVC computed directory hash {tree.hash_info.value}, the manifest says "
            f"{manifest.dir_hash}"
        )
    return tree


def _object_ids(manifest: Manifest) -> list[Any]:
    """Every object of the artifact: DVC transfers are shallow, so files are listed too."""
    from dvc_data.hashfile.hash_info import HashInfo

    return [HashInfo("md5", manifest.dir_hash)] + [
        HashInfo("md5", entry.md5) for entry in manifest.files
    ]


def _protocol(odb: Any) -> str:
    protocol = getattr(odb.fs, "protocol", "local")
    return str(protocol[0] if isinstance(protocol, (tuple, list)) else protocol)


def check_remote(odb: Any) -> None:
    """Raise a clear :class:`ExternalToolError` if an object-storage remote's bucket is
    missing or its credentials are refused (local folders are not checked)."""
    protocol = _protocol(odb)
    if protocol in ("local", "file"):
        return
    bucket = str(odb.path).split("/", 1)[0]
    url = f"{protocol}://{odb.path}"
    try:
        found = odb.fs.exists(bucket)
        if not found:  # exists() says False for a refused request too: ask for the reason
            odb.fs.info(bucket)
    except PermissionError as error:
        raise ExternalToolError(
            f"the DVC remote {url} refused access ({error}): check the credentials in the "
            "environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE) and the "
            "bucket's policy"
        ) from error
    except FileNotFoundError:
        found = False
    except Exception as error:  # noqa: BLE001 - any client failure: name the remote
        raise ExternalToolError(
            f"cannot reach the DVC remote {url}: {type(error).__name__}: {error}; check its "
            "endpointurl (dvc remote modify NAME endpointurl URL) and the network"
        ) from error
    if not found:
        raise ExternalToolError(
            f"the bucket {bucket!r} of the DVC remote {url} does not exist (or these "
            "credentials cannot see it): create it, or point the remote at an existing one "
            "(dvc remote modify NAME url s3://BUCKET/PATH)"
        )


def store_artifact(root: Path, source: Path, manifest: Manifest) -> int:
    """Put the artifact into the DVC cache and push it to the default remote.

    Returns the number of objects DVC transferred to the remote (0 when already there).
    Objects this process already pushed through the same handle are not asked about again
    (the remote's status check is most of a warm registration); ``verify_stored``
    re-checks the remote itself.
    """
    with dvc_repo(root) as repo:
        odb = repo.cache.local
        for entry in manifest.files:
            if not odb.exists(entry.md5):
                _copy_hashed(source / entry.relpath, Path(odb.oid_to_path(entry.md5)), entry.md5)
        tree = _tree_for(manifest)
        if not odb.exists(tree.oid):
            odb.add(tree.path, tree.fs, tree.oid)
        pushed = _PUSHED.setdefault(id(repo), set())
        todo = [oid for oid in _object_ids(manifest) if oid.value not in pushed]
        if not todo:
            return 0
        check_remote(repo.cloud.get_remote_odb(None, "push"))
        result = repo.cloud.push(todo)
        if result.failed:
            raise ExternalToolError(
                f"DVC could not push {len(result.failed)} objects to the remote"
            )
        pushed.update(oid.value for oid in todo)
        return len(result.transferred)


@dataclass
class StoreCheck:
    """What one store (the cache or the remote) holds against the manifest."""

    location: str
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra)

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "ok": self.ok,
            "changed": self.changed,
            "missing": self.missing,
            "extra": self.extra,
        }


def _md5_of(fs: Any, path: str) -> str:
    digest = hashlib.md5()
    with fs.open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_odb(odb: Any, manifest: Manifest, location: str) -> StoreCheck:
    check = StoreCheck(location)
    listed: set[str] = set()
    dir_path = odb.oid_to_path(manifest.dir_hash)
    if odb.fs.exists(dir_path):
        with odb.fs.open(dir_path, "r") as handle:
            listed = {item["relpath"] for item in json.load(handle)}
    expected = {entry.relpath for entry in manifest.files}
    check.extra = sorted(listed - expected) if listed else []
    for entry in manifest.files:
        path = odb.oid_to_path(entry.md5)
        if not odb.fs.exists(path):
            check.missing.append(entry.relpath)
        elif _md5_of(odb.fs, path) != entry.md5:
            check.changed.append(entry.relpath)
    if not listed:
        check.missing.append(f"{manifest.dir_hash} (the directory listing)")
    return check


def local_stores(root: Path) -> list[Path]:
    """The DVC cache folder, and the default remote's folder when it is a local one."""
    with dvc_repo(root) as repo:
        stores = [Path(repo.cache.local.path)]
        remote = repo.cloud.get_remote_odb(None, "push")
        if _protocol(remote) in ("local", "file"):
            stores.append(Path(remote.path))
        return stores


def verify_stored(root: Path, manifest: Manifest) -> list[StoreCheck]:
    """Re-hash the artifact in the DVC cache and in the default remote."""
    with dvc_repo(root) as repo:
        checks = [_check_odb(repo.cache.local, manifest, "cache")]
        remote = repo.cloud.get_remote_odb(None, "push")
        check_remote(remote)
        checks.append(_check_odb(remote, manifest, f"remote {remote.path}"))
        return checks


def materialize(root: Path, manifest: Manifest, target: Path) -> Path:
    """A read-only working copy of the artifact at ``target`` (pulled if not cached)."""
    if target.is_dir() and (target / ".complete").exists():
        return target
    with dvc_repo(root) as repo:
        odb = repo.cache.local
        if any(not odb.exists(entry.md5) for entry in manifest.files):
            check_remote(repo.cloud.get_remote_odb(None, "pull"))
            repo.cloud.pull(_object_ids(manifest))
    # the copy needs no DVC handle: other threads may use it meanwhile
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for entry in manifest.files:
        cached = Path(odb.oid_to_path(entry.md5))
        if not cached.exists():
            raise IntegrityFailure(f"{entry.relpath} ({entry.md5}) is in neither cache nor remote")
        _copy_hashed(cached, staging / entry.relpath, entry.md5)
    (staging / ".complete").write_text(manifest.dir_hash, encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    return target
