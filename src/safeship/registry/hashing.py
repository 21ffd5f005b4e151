"""Hash an artifact directory the way DVC 3 does.

Every file gets an md5 of its bytes; the directory hash is the md5 of the JSON list
``[{"md5": ..., "relpath": ...}]`` sorted by path, with ``.dir`` appended — the same
object id DVC gives the directory in its cache, so the manifest can be checked against
the DVC cache and remote. A machine-local cache keyed by (path, inode, size, mtime)
makes re-hashing an unchanged artifact cheap, as DVC's own state database does.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from safeship.errors import InputError

CHUNK = 8 * 1024 * 1024
Progress = Callable[[int], None]


@dataclass(frozen=True)
class FileEntry:
    relpath: str
    md5: str
    size: int

    def to_dict(self) -> dict[str, object]:
        return {"path": self.relpath, "md5": self.md5, "size": self.size}


@dataclass(frozen=True)
class Manifest:
    files: tuple[FileEntry, ...]
    dir_hash: str

    def to_dict(self) -> dict[str, object]:
        return {"dir_hash": self.dir_hash, "files": [entry.to_dict() for entry in self.files]}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Manifest:
        raw_files = data["files"]
        assert isinstance(raw_files, list)
        files = tuple(FileEntry(f["path"], f["md5"], int(f["size"])) for f in raw_files)
        return cls(files=files, dir_hash=str(data["dir_hash"]))


def md5_file(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.md5()
    with path.open("rb", buffering=0) as handle:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while True:
            read = handle.readinto(buffer)
            if not read:
                break
            digest.update(view[:read])
            if progress is not None:
                progress(read)
    return digest.hexdigest()


def dir_hash(entries: list[FileEntry] | tuple[FileEntry, ...]) -> str:
    listing = sorted(
        ({"md5": e.md5, "relpath": e.relpath} for e in entries), key=lambda d: d["relpath"]
    )
    return hashlib.md5(json.dumps(listing, sort_keys=True).encode("utf-8")).hexdigest() + ".dir"


def list_files(root: Path) -> list[Path]:
    """Every file under ``root``, sorted by relative path; refuses what cannot be versioned.

    Symbolic links are followed only while they stay inside ``root`` (a linked directory's
    files are listed under the link's name); a link that points outside, dangles or loops,
    an unreadable file and a device, socket or pipe are each refused with a clear error,
    before anything is hashed or copied.
    """
    if not root.exists():
        raise InputError(f"artifact path {root} does not exist: give a directory of model files")
    if not root.is_dir():
        raise InputError(
            f"artifact path {root} is not a directory: give a directory of model files"
        )
    real_root = root.resolve()
    files: list[Path] = []
    _walk(root, real_root, (real_root,), files)
    if not files:
        raise InputError(f"artifact path {root} is empty: it must hold the model's files")
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def _link_target(path: Path, real_root: Path) -> Path:
    try:
        target = path.resolve(strict=True)
    except (RuntimeError, OSError) as error:  # a loop (RuntimeError before 3.13) or dangling
        what = "loops" if "loop" in str(error).lower() else "points to nothing"
        raise InputError(
            f"cannot read {path}: the symbolic link {what}; remove it or replace it "
            "with the file itself"
        ) from error
    if not target.is_relative_to(real_root):
        raise InputError(
            f"cannot version {path}: the symbolic link points outside the artifact directory "
            f"(to {target}); copy the file into the artifact instead"
        )
    return target


def _walk(folder: Path, real_root: Path, ancestors: tuple[Path, ...], out: list[Path]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as error:
        raise InputError(f"cannot read directory {folder}: {error.strerror or error}") from error
    for entry in entries:
        path = Path(entry.path)
        if entry.name == ".dvc":
            continue
        real = _link_target(path, real_root) if entry.is_symlink() else path.resolve()
        if real.is_dir():
            if real in ancestors:
                raise InputError(
                    f"cannot version {path}: the symbolic link loops back to {real}; remove it"
                )
            _walk(path, real_root, (*ancestors, real), out)
            continue
        if not real.is_file():
            raise InputError(
                f"cannot version {path}: it is not a regular file (a device, socket or pipe); "
                "an artifact holds regular files only"
            )
        try:
            real.open("rb").close()
        except OSError as error:
            raise InputError(
                f"cannot read {path}: {error.strerror or error}; make it readable"
            ) from error
        out.append(path)


class HashCache:
    """Machine-local cache of file md5s keyed by (path, inode, size, mtime_ns)."""

    def __init__(self, path: Path | None) -> None:
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS md5_cache (path TEXT PRIMARY KEY, inode INTEGER, "
                "size INTEGER, mtime_ns INTEGER, md5 TEXT)"
            )

    def get(self, path: Path, stat: os.stat_result) -> str | None:
        if self._db is None:
            return None
        row = self._db.execute(
            "SELECT md5 FROM md5_cache WHERE path=? AND inode=? AND size=? AND mtime_ns=?",
            (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns),
        ).fetchone()
        return None if row is None else str(row[0])

    def put(self, path: Path, stat: os.stat_result, md5: str) -> None:
        if self._db is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO md5_cache VALUES (?, ?, ?, ?, ?)",
                (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns, md5),
            )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def hash_directory(
    root: Path, cache: HashCache | None = None, progress: Progress | None = None
) -> Manifest:
    """Hash every file under ``root`` (DVC-compatible), using ``cache`` for unchanged files."""
    root = root.resolve()
    entries: list[FileEntry] = []
    for path in list_files(root):
        try:
            stat = path.stat()
            md5 = cache.get(path, stat) if cache is not None else None
            if md5 is None:
                md5 = md5_file(path, progress)
                if cache is not None:
                    cache.put(path, stat, md5)
            elif progress is not None:
                progress(stat.st_size)
        except OSError as error:
            raise InputError(f"cannot read {path}: {error.strerror or error}") from error
        entries.append(FileEntry(path.relative_to(root).as_posix(), md5, stat.st_size))
    return Manifest(files=tuple(entries), dir_hash=dir_hash(entries))
