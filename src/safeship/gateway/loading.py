"""Loading versions: the verified LRU of loaded versions, and background loads per model.

:class:`VersionLoader` materialises a version from DVC storage, re-hashes it against the
catalog and loads its adapter, keeping the least recently used ``capacity`` versions.
:class:`ModelLoads` runs those loads off the follower's thread: each model has at most one
loader thread, and a model's pending loads are replaced by what the latest sync wants
(latest wins), so one model's slow load never delays another model's switch or rollback,
and a model that moved on never waits behind a load nobody needs any more.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from safeship.errors import IntegrityFailure, SafeshipError
from safeship.gateway.routing import LoadedVersion

if TYPE_CHECKING:
    from safeship.registry.records import VersionRecord
    from safeship.registry.store import Registry

log = logging.getLogger("safeship.gateway")
CLOSE_GRACE_S = 30.0  # an evicted generator is closed this long after it stopped serving


class LoadRefused(SafeshipError):
    """A version could not be loaded; ``reason`` is ``integrity`` or ``load_error``."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise materialising one version across the processes of this machine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: the per-process lock is all there is
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class VersionLoader:
    """Loaded versions of one process, least recently used evicted beyond ``capacity``."""

    def __init__(self, registry: Registry, capacity: int) -> None:
        self.registry = registry
        self.capacity = capacity
        self._loaded: OrderedDict[tuple[str, str], LoadedVersion] = OrderedDict()
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()
        self._retiring: list[tuple[float, LoadedVersion]] = []

    def cached(self, model: str, version: str) -> LoadedVersion | None:
        with self._lock:
            loaded = self._loaded.get((model, version))
            if loaded is not None:
                self._loaded.move_to_end((model, version))
            return loaded

    def load(self, record: VersionRecord) -> LoadedVersion:
        """The loaded version, loading (and verifying) it first if needed."""
        key = (record.model, record.version)
        hit = self.cached(*key)
        if hit is not None:
            return hit
        with self._lock:
            key_lock = self._locks.setdefault(key, threading.Lock())
        with key_lock:
            hit = self.cached(*key)
            if hit is not None:
                return hit
            loaded = self._load(record)
            with self._lock:
                self._loaded[key] = loaded
            return loaded

    def _load(self, record: VersionRecord) -> LoadedVersion:
        from safeship.models.loader import load_generator
        from safeship.monitoring.integrity import check_directory
        from safeship.registry.hashing import Manifest
        from safeship.registry.names import version_path
        from safeship.registry.registration import artifact_dir

        what = f"{record.model} {record.version}"
        state_dir = self.registry.settings.state_dir
        manifest = Manifest.from_dict(record.manifest)
        try:
            locks = state_dir / "artifacts" / ".locks"
            lock = version_path(locks, record.model, record.version, ".lock")
            with _file_lock(lock):
                path = artifact_dir(self.registry, record)
                check = check_directory(path, manifest, f"working copy {path}")
        except IntegrityFailure as error:
            raise LoadRefused(
                f"{what}: stored content does not match the catalog: {error}", "integrity"
            ) from error
        except SafeshipError as error:
            raise LoadRefused(
                f"{what}: cannot materialise its files: {error}", "load_error"
            ) from error
        if not check.ok:
            detail = check.to_dict()
            raise LoadRefused(
                f"{what}: working copy {path} does not match the catalog "
                f"(changed: {detail.get('changed')}, missing: {detail.get('missing')}, "
                f"extra: {detail.get('extra')})",
                "integrity",
            )
        started = time.perf_counter()
        try:
            generator = load_generator(path)
        except Exception as error:  # noqa: BLE001 - any adapter failure refuses the version
            raise LoadRefused(
                f"{what}: the adapter failed to load: {error}", "load_error"
            ) from error
        log.info(
            "loaded %s",
            what,
            extra={
                "model": record.model,
                "version": record.version,
                "dir_hash": record.dir_hash,
                "load_s": round(time.perf_counter() - started, 4),
            },
        )
        return LoadedVersion(
            model=record.model,
            version=record.version,
            dir_hash=record.dir_hash,
            adapter=record.adapter,
            path=path,
            generator=generator,
            loaded_at=time.time(),
        )

    def trim(self, keep: set[tuple[str, str]]) -> None:
        """Evict the least recently used versions beyond capacity (never those in ``keep``)."""
        with self._lock:
            for key in list(self._loaded):
                if len(self._loaded) <= self.capacity:
                    break
                if key not in keep:
                    self._retiring.append((time.monotonic(), self._loaded.pop(key)))

    def close_retired(self, grace_s: float = CLOSE_GRACE_S) -> None:
        now = time.monotonic()
        with self._lock:
            due = [v for t, v in self._retiring if now - t >= grace_s]
            self._retiring = [(t, v) for t, v in self._retiring if now - t < grace_s]
        for loaded in due:
            _close(loaded)

    def close_all(self) -> None:
        with self._lock:
            everything = list(self._loaded.values()) + [v for _, v in self._retiring]
            self._loaded.clear()
            self._retiring.clear()
        for loaded in everything:
            _close(loaded)


def _close(loaded: LoadedVersion) -> None:
    try:
        loaded.generator.close()
    except Exception:  # noqa: BLE001 - closing is best effort
        log.warning("closing %s %s failed", loaded.model, loaded.version, exc_info=True)


class ModelLoads:
    """Background loads: at most one thread per model, each model's queue latest-wins.

    ``load`` is called with each record in a model's thread (it handles refusals itself);
    ``on_done`` with the model's name after each load, loaded or refused.
    """

    def __init__(
        self, load: Callable[[VersionRecord], object], on_done: Callable[[str], None]
    ) -> None:
        self._load = load
        self._on_done = on_done
        self._lock = threading.Condition()
        self._pending: dict[str, dict[str, VersionRecord]] = {}
        self._running: dict[str, str | None] = {}  # model -> version loading now

    def want(self, model: str, records: list[VersionRecord]) -> None:
        """Replace ``model``'s pending loads by ``records`` (in order), starting its thread."""
        with self._lock:
            running = self._running.get(model)
            self._pending[model] = {r.version: r for r in records if r.version != running}
            if model in self._running or not self._pending[model]:
                return
            self._running[model] = None
        name = f"safeship-load-{len(self._running)}"
        threading.Thread(target=self._work, args=(model,), name=name, daemon=True).start()

    def busy(self) -> bool:
        with self._lock:
            return bool(self._running) or any(self._pending.values())

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no load is pending or running; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._running, timeout_s)

    def _work(self, model: str) -> None:
        while True:
            with self._lock:
                pending = self._pending.get(model)
                if not pending:
                    self._pending.pop(model, None)
                    del self._running[model]
                    self._lock.notify_all()
                    return
                version = next(iter(pending))
                record = pending.pop(version)
                self._running[model] = version
            try:
                self._load(record)
            except Exception:  # noqa: BLE001 - a failed load must not kill the model's thread
                log.exception("loading %s %s failed", record.model, record.version)
            with self._lock:
                last = not self._pending.get(model)
                if last:  # done before publishing, so the publishing sync sees it idle
                    self._pending.pop(model, None)
                    del self._running[model]
                    self._lock.notify_all()
                else:
                    self._running[model] = None
            try:
                self._on_done(model)
            except Exception:  # noqa: BLE001 - the next sync publishes it instead
                log.exception("publishing the load of %s %s failed", model, version)
            if last:
                return
