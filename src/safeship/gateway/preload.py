"""Preload: load each model's newest approved version before any move routes to it.

A version reaches ``approved`` before it can enter shadow, canary or production. The
preloader, a daemon thread beside the follower, materialises that version from DVC
storage, re-hashes it against the catalog and loads its adapter into the follower's
:class:`~safeship.gateway.follower.VersionLoader` — so when the registry later moves it
into shadow, canary or production, the follower's next snapshot finds it loaded and
switches within one poll, bounded by the load done earlier rather than by the load.

It reads only the follower's published snapshot (statuses included), and the registry
only for the one record it loads; it never blocks the follower (different keys, different
thread) and a refused preload is only logged (the follower refuses and records it again if
a move ever names that version).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from safeship.gateway.follower import LoadRefused
from safeship.registry.semver import SemVer

if TYPE_CHECKING:
    from safeship.gateway.follower import StateFollower
    from safeship.gateway.routing import Snapshot

log = logging.getLogger("safeship.gateway")


def candidates(snapshot: Snapshot) -> list[tuple[str, str]]:
    """(model, version): per model, the newest approved version the snapshot does not serve."""
    out: list[tuple[str, str]] = []
    for name, routes in snapshot.models.items():
        served = {v.version for v in (routes.stable, routes.canary, routes.shadow) if v}
        approved = [v for v, s in routes.statuses.items() if s == "approved" and v not in served]
        if approved:
            out.append((name, max(approved, key=SemVer.parse)))
    return out


class Preloader:
    """Loads :func:`candidates` of every new snapshot, in its own thread."""

    def __init__(self, follower: StateFollower, interval_s: float) -> None:
        self.follower = follower
        self.interval_s = interval_s
        self.refused: set[tuple[str, str]] = set()
        self._seen = -2
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="safeship-preload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - a failed preload only costs a later load
                log.warning("preload failed", exc_info=True)

    def run_once(self) -> list[tuple[str, str]]:
        """Load the current snapshot's candidates; returns those loaded now."""
        snapshot = self.follower.snapshot
        if snapshot.seq == self._seen:
            return []
        loader, done = self.follower.loader, []
        for model, version in candidates(snapshot):
            if (model, version) in self.refused or loader.cached(model, version) is not None:
                continue
            try:
                loader.load(self.follower.registry.version(model, version))
            except LoadRefused as error:
                self.refused.add((model, version))
                log.warning("preload of %s %s refused: %s", model, version, error)
                continue
            log.info("preloaded %s %s", model, version, extra={"model": model, "version": version})
            done.append((model, version))
        self._seen = snapshot.seq
        return done
