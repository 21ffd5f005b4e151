"""Follow the registry: load new versions (verified) first, then switch routing at once.

A thread reads ``registry.change_counter()`` (the ledger's last sequence number: one
indexed read) every ``poll_interval_ms`` on SQLite; on PostgreSQL it LISTENs for the
notification every deployment move sends and reads it then, or every few seconds without
one (:mod:`safeship.gateway.notify`). When it moves, the follower reads every
model's deployment state, makes sure each version it names is loaded — materialised
from DVC storage, re-hashed against the catalog, its adapter loaded — and only then
publishes a new :class:`~safeship.gateway.routing.Snapshot` with one reference
assignment. Requests never wait for a load, and none fails during a switch: a request
keeps the snapshot (and the loaded generator) it started with. The one exception is a
pin to a deployable version the deployment does not hold (say a retired one): it is
loaded, with the same checks, on its first request and then kept in an LRU cache.

A version whose files do not match the catalog, or whose adapter fails to load, is
refused: the previous production version keeps serving, a ledger event is written
(rate-limited) and an error is logged. Each process follows the database on its own,
so any number of workers and replicas can serve one registry.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from safeship.errors import IntegrityFailure, SafeshipError
from safeship.events import EventKind
from safeship.gateway.routing import EMPTY, LoadedVersion, ModelRoutes, Snapshot

if TYPE_CHECKING:
    from safeship.gateway.events import RefusalRecorder
    from safeship.gateway.metrics import GatewayMetrics
    from safeship.gateway.notify import PollWaiter
    from safeship.params import ServingParams
    from safeship.registry.records import DeploymentState, VersionRecord
    from safeship.registry.store import Registry

log = logging.getLogger("safeship.gateway")
RETRY_FAILED_S = 5.0  # a refused version is tried again on the next change after this long
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


def read_model_state(
    registry: Registry, model: str
) -> tuple[DeploymentState, dict[str, VersionRecord], dict[str, str]]:
    """What one sync needs of a model: its deployment, the records of the versions it names
    (only those: manifests are read for at most three versions) and every version's status
    (for pins and /v1/models)."""
    state = registry.deployment(model)
    statuses = registry.version_statuses(model)
    named = {v for v in (state.production, state.canary, state.shadow) if v in statuses}
    return state, {v: registry.version(model, v) for v in sorted(named)}, statuses


class StateFollower:
    """Keeps :attr:`snapshot` in step with the registry; see the module docstring."""

    def __init__(
        self,
        registry: Registry,
        params: ServingParams,
        *,
        recorder: RefusalRecorder,
        metrics: GatewayMetrics,
        on_switch: Callable[[Snapshot, Snapshot], None] | None = None,
    ) -> None:
        self.registry = registry
        self.params = params
        self.recorder = recorder
        self.metrics = metrics
        self.loader = VersionLoader(registry, params.max_loaded_versions)
        self.snapshot: Snapshot = EMPTY
        self.on_switch = on_switch
        self.last_poll_ok: float | None = None
        self.last_error: str | None = None
        self._failed: dict[tuple[str, str], float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.waiter: PollWaiter | None = None
        self._sync_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Build the first snapshot (blocking), then follow in a daemon thread."""
        self.sync()
        self._thread = threading.Thread(target=self._run, name="safeship-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.loader.close_all()

    def _run(self) -> None:
        from safeship.gateway.notify import waiter_for

        self.waiter = waiter_for(
            self.registry.engine, self._stop, self.params.poll_interval_ms / 1000
        )
        last_error_log = 0.0
        try:
            while True:
                self.waiter.wait()
                if self._stop.is_set():
                    return
                try:
                    self._check()
                except Exception as error:  # noqa: BLE001 - keep serving the last snapshot
                    self.metrics.follow_errors.inc()
                    self.last_error = f"{type(error).__name__}: {error}"
                    if time.monotonic() - last_error_log > 10:
                        last_error_log = time.monotonic()
                        log.error(
                            "cannot follow the registry (still serving the last state): %s",
                            self.last_error,
                        )
                self.loader.close_retired()
        finally:
            self.waiter.close()

    def _check(self) -> None:
        seq = self.registry.change_counter()
        unmet = any(r.wanted for r in self.snapshot.models.values())
        stale = time.monotonic() - self.snapshot.built_at > RETRY_FAILED_S
        if seq != self.snapshot.seq or (unmet and stale):
            self.sync(seq)
        self.last_poll_ok = time.time()
        self.last_error = None

    # ------------------------------------------------------------------ building
    def sync(self, seq: int | None = None) -> Snapshot:
        """Read the registry, load what it names, publish the snapshot; return it."""
        with self._sync_lock:
            seq = self.registry.change_counter() if seq is None else seq
            previous = self.snapshot
            models: dict[str, ModelRoutes] = {}
            for model in self.registry.models():
                models[model.name] = self._routes(model.name, previous.models.get(model.name))
            snapshot = Snapshot(seq=seq, models=MappingProxyType(models), built_at=time.monotonic())
            keep = {(v.model, v.version) for _, v in snapshot.loaded()}
            self.loader.trim(keep)
            self.snapshot = snapshot  # the switch: one reference assignment
            self.metrics.observe_snapshot(snapshot)
            if self.on_switch is not None:
                self.on_switch(previous, snapshot)
            return snapshot

    def _routes(self, model: str, previous: ModelRoutes | None) -> ModelRoutes:
        state, records, statuses = read_model_state(self.registry, model)
        wanted: dict[str, str | None] = {}

        def resolve(role: str, version: str | None) -> LoadedVersion | None:
            if version is None:
                return None
            loaded = self._try_load(records[version]) if version in records else None
            if loaded is None:
                wanted[role] = version
            return loaded

        stable = resolve("stable", state.production)
        if stable is None and previous is not None:
            stable = previous.stable  # keep serving what served before a refused load
        canary = resolve("canary", state.canary)
        shadow = resolve("shadow", state.shadow)
        return ModelRoutes(
            model=model,
            stable=stable,
            canary=canary,
            canary_weight=state.canary_weight if canary is not None else 0,
            shadow=shadow,
            statuses=MappingProxyType(statuses),
            wanted=MappingProxyType(wanted),
        )

    def _try_load(self, record: VersionRecord) -> LoadedVersion | None:
        key = (record.model, record.version)
        hit = self.loader.cached(*key)
        if hit is not None:
            return hit
        failed_at = self._failed.get(key)
        if failed_at is not None and time.monotonic() - failed_at < RETRY_FAILED_S:
            return None
        try:
            loaded = self.loader.load(record)
        except LoadRefused as error:
            self._failed[key] = time.monotonic()
            self.refused(record, error)
            return None
        self._failed.pop(key, None)
        return loaded

    def refused(self, record: VersionRecord, error: LoadRefused) -> None:
        kind = (
            EventKind.GATEWAY_INTEGRITY_REFUSED
            if error.reason == "integrity"
            else EventKind.GATEWAY_LOAD_REFUSED
        )
        log.error(
            "refused to load %s %s: %s",
            record.model,
            record.version,
            error,
            extra={"model": record.model, "version": record.version, "reason": error.reason},
        )
        self.metrics.load_refusals.labels(record.model, record.version, error.reason).inc()
        self.recorder.record(
            kind,
            model=record.model,
            version=record.version,
            payload={"reason": str(error), "dir_hash": record.dir_hash},
        )

    # ------------------------------------------------------------------ pinning
    def load_pinned(self, model: str, version: str) -> LoadedVersion:
        """Load a pinned version that the deployment does not hold (kept in the LRU cache)."""
        hit = self.loader.cached(model, version)
        if hit is not None:
            return hit
        record = self.registry.version(model, version)
        try:
            loaded = self.loader.load(record)
        except LoadRefused as error:
            self.refused(record, error)
            raise
        self.loader.trim({(v.model, v.version) for _, v in self.snapshot.loaded()})
        return loaded
