"""Follow the registry: load new versions (verified) first, then switch routing at once.

A thread reads ``registry.change_counter()`` (the ledger's last sequence number: one
indexed read) every ``poll_interval_ms`` on SQLite; on PostgreSQL it LISTENs for the
notification every deployment move sends and reads it then, or every few seconds without
one (:mod:`safeship.gateway.notify`). When it moves, the follower reads every model's
deployment state, checks it against the ledger's replay (:mod:`.explained`: state the
ledger does not explain is refused, with the reason, and the last explained state keeps
serving), and publishes a new :class:`~safeship.gateway.routing.Snapshot` with one
reference assignment. A version it names that is not loaded yet — materialised from DVC
storage, re-hashed against the catalog, its adapter loaded — is loaded in the background,
one thread per model (:class:`~safeship.gateway.loading.ModelLoads`), and switched to by
the sync that load triggers: one model's slow load never delays another model's rollback.
Requests never wait for a load, and none fails during a switch: a request
keeps the snapshot (and the loaded generator) it started with. The one exception is a
pin to a deployable version the deployment does not hold (say a retired one): it is
loaded, with the same checks, on its first request and then kept in an LRU cache.

A version whose files do not match the catalog, or whose adapter fails to load, is
refused: the previous production version keeps serving, a ledger event is written
(rate-limited) and an error is logged. Each process follows the database on its own,
so any number of workers and replicas can serve one registry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import MappingProxyType
from typing import TYPE_CHECKING

from safeship.events import EventKind
from safeship.gateway.explained import DeploymentReplay
from safeship.gateway.loading import LoadRefused, ModelLoads, VersionLoader
from safeship.gateway.routing import EMPTY, LoadedVersion, ModelRoutes, Snapshot

if TYPE_CHECKING:
    from safeship.gateway.events import RefusalRecorder
    from safeship.gateway.metrics import GatewayMetrics
    from safeship.gateway.notify import PollWaiter
    from safeship.params import ServingParams
    from safeship.registry.records import DeploymentState, VersionRecord
    from safeship.registry.store import Registry

log = logging.getLogger("safeship.gateway")
__all__ = ["LoadRefused", "StateFollower", "VersionLoader", "read_model_state"]
RETRY_FAILED_S = 5.0  # a refused version is tried again on the next change after this long
START_LOAD_S = 600.0  # start() waits this long at most for the first loads


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
        self._read_seq = -1  # the ledger head the last sync read (snapshot.seq lags loads)
        self.loads = ModelLoads(self._load_in_background, self._loaded)
        self.replay = DeploymentReplay(registry)
        self.unexplained: dict[str, str] = {}  # model -> why its state is not served
        self._refusing: dict[str, str] = {}  # the same, as the running sync finds it

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Build the first snapshot (blocking until its versions are loaded), then follow
        in a daemon thread."""
        self.sync()
        if self.loads.busy():
            self.loads.wait_idle(START_LOAD_S)
            self.sync()
        self._thread = threading.Thread(target=self._run, name="safeship-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.loads.wait_idle(10)
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
        unmet = self.unexplained or any(r.wanted for r in self.snapshot.models.values())
        stale = time.monotonic() - self.snapshot.built_at > RETRY_FAILED_S
        if seq != self._read_seq or (unmet and stale):
            self.sync(seq)
        self.last_poll_ok = time.time()
        self.last_error = None

    # ------------------------------------------------------------------ building
    def sync(self, seq: int | None = None) -> Snapshot:
        """Read the registry, start the loads it needs, publish what is loaded; return it.

        A version not loaded yet is loaded in the background (:class:`ModelLoads`: one
        thread per model) and published by the sync its load triggers: no model's switch
        waits for another model's load. ``snapshot.seq`` reaches the ledger head read
        here once no load is pending.
        """
        with self._sync_lock:
            seq = self.registry.change_counter() if seq is None else seq
            self.replay.advance(seq)
            previous = self.snapshot
            models: dict[str, ModelRoutes] = {}
            self._refusing = {}
            for model in self.registry.models():
                models[model.name] = self._routes(model.name, previous.models.get(model.name))
            self.unexplained = self._refusing  # replaced, never changed in place: /healthz reads it
            self._read_seq = seq
            published = previous.seq if self.loads.busy() else seq
            snapshot = Snapshot(
                seq=published, models=MappingProxyType(models), built_at=time.monotonic()
            )
            keep = {(v.model, v.version) for _, v in snapshot.loaded()}
            self.loader.trim(keep)
            self.snapshot = snapshot  # the switch: one reference assignment
            self.metrics.observe_snapshot(snapshot)
            if self.on_switch is not None:
                self.on_switch(previous, snapshot)
            return snapshot

    def _routes(self, model: str, previous: ModelRoutes | None) -> ModelRoutes:
        state, records, statuses = read_model_state(self.registry, model)
        why = self.replay.disagreement(model, state)
        if why is not None:
            return self._refuse_state(model, why, previous, statuses)
        wanted: dict[str, str | None] = {}
        needed: list[VersionRecord] = []

        def resolve(role: str, version: str | None) -> LoadedVersion | None:
            if version is None:
                return None
            loaded = self._try_load(records[version], needed) if version in records else None
            if loaded is None:
                wanted[role] = version
            return loaded

        stable = resolve("stable", state.production)
        if stable is None and previous is not None:
            stable = previous.stable  # keep serving what served before a refused load
        canary = resolve("canary", state.canary)
        shadow = resolve("shadow", state.shadow)
        self.loads.want(model, needed)
        return ModelRoutes(
            model=model,
            stable=stable,
            canary=canary,
            canary_weight=state.canary_weight if canary is not None else 0,
            shadow=shadow,
            statuses=MappingProxyType(statuses),
            wanted=MappingProxyType(wanted),
        )

    def _refuse_state(
        self, model: str, why: str, previous: ModelRoutes | None, statuses: dict[str, str]
    ) -> ModelRoutes:
        """Keep serving what ``model`` served before; say why (once per new reason)."""
        if self.unexplained.get(model) != why:
            log.error(
                "refusing deployment state the ledger does not explain (still serving the "
                "last explained state): %s",
                why,
                extra={"model": model, "reason": "unexplained_state"},
            )
        self._refusing[model] = why
        self.loads.want(model, [])
        if previous is not None:
            return previous
        return ModelRoutes(model=model, stable=None, statuses=MappingProxyType(statuses))

    def _try_load(self, record: VersionRecord, needed: list[VersionRecord]) -> LoadedVersion | None:
        """The loaded version, or None after adding it to ``needed`` (unless recently refused)."""
        key = (record.model, record.version)
        hit = self.loader.cached(*key)
        if hit is not None:
            return hit
        failed_at = self._failed.get(key)
        if failed_at is None or time.monotonic() - failed_at >= RETRY_FAILED_S:
            needed.append(record)
        return None

    def _load_in_background(self, record: VersionRecord) -> None:
        key = (record.model, record.version)
        try:
            self.loader.load(record)
        except Exception as error:  # noqa: BLE001 - any failure: tried again after a pause
            self._failed[key] = time.monotonic()
            if not isinstance(error, LoadRefused):
                error = LoadRefused(f"{record.model} {record.version}: {error}", "load_error")
            self.refused(record, error)
            return
        self._failed.pop(key, None)

    def _loaded(self, model: str) -> None:
        """A model's load finished: publish it now (unless following has stopped)."""
        if not self._stop.is_set():
            self.sync()

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
