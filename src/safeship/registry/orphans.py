"""Temporary files a killed registration left in the DVC cache and a local remote.

A registration copies each file to a temporary name beside its final place and renames it
(ours start ``.tmp-``; DVC's end ``.tmp``). A SIGKILL between the two leaves the temporary
file behind — gigabytes after a few dozen kills. Every registration therefore holds a
*marker*: a file in ``<state>/registrations`` locked (``flock``) for as long as it runs.
A marker whose lock can be taken belongs to a registration that died. When the next
registration finds one, it deletes the temporary files older than the oldest marker still
locked (those can belong to no running registration: a running one's files are written
after its marker), then the dead markers. A registration that never crashed costs one
directory listing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

log = logging.getLogger("safeship.registry")
ACTIVE = ".active"


def is_temporary(name: str) -> bool:
    return name.startswith(".tmp-") or name.endswith(".tmp")


def _lock(handle: int, blocking: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # not POSIX: no marker is ever seen as dead
        return not blocking
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _markers(folder: Path) -> tuple[list[Path], float]:
    """The dead markers, and the start of the oldest live registration (or now)."""
    dead: list[Path] = []
    cutoff = time.time()
    for marker in sorted([*folder.glob(f"*{ACTIVE}"), *folder.glob(".*.starting")]):
        try:
            started = marker.stat().st_mtime
            handle = os.open(marker, os.O_RDONLY)
        except FileNotFoundError:
            continue  # it finished meanwhile
        try:
            if _lock(handle, blocking=False):
                dead.append(marker)
            else:
                cutoff = min(cutoff, started)
        finally:
            os.close(handle)
    return dead, cutoff


def remove_temporary(stores: Iterable[Path], older_than: float) -> int:
    """Delete temporary files under ``stores`` last written before ``older_than``."""
    removed = 0
    for store in stores:
        for folder, _, names in os.walk(store):
            for name in names:
                path = Path(folder) / name
                if not is_temporary(name):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < older_than:
                        path.unlink()
                        removed += 1
    return removed


def clean_orphans(state_dir: Path, stores: Callable[[], Iterable[Path]]) -> int:
    """If a registration died, delete the temporary files it can have left in ``stores()``
    (asked for only then); the count."""
    folder = state_dir / "registrations"
    if not folder.is_dir():
        return 0
    dead, cutoff = _markers(folder)
    if not dead:
        return 0
    removed = remove_temporary(stores(), cutoff)
    for marker in dead:
        with contextlib.suppress(FileNotFoundError):
            marker.unlink()
    if removed:
        log.warning("removed %d temporary files left by a killed registration", removed)
    return removed


@contextlib.contextmanager
def registration_marker(state_dir: Path) -> Iterator[None]:
    """Hold a locked marker for the duration of one registration."""
    folder = state_dir / "registrations"
    folder.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex
    starting = folder / f".{name}.starting"
    handle = os.open(starting, os.O_WRONLY | os.O_CREAT, 0o644)
    active = folder / f"{name}{ACTIVE}"
    try:
        _lock(handle, blocking=True)  # locked before it is visible as a marker
        os.replace(starting, active)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            active.unlink()
        with contextlib.suppress(FileNotFoundError):
            starting.unlink()
        os.close(handle)
