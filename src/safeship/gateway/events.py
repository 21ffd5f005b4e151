"""Ledger events for gateway-side refusals, rate-limited so a flood cannot bloat the ledger.

Each process writes an event for a given ``(kind, model, version)`` at most once per
``interval_s``; the events it held back are counted and the count is carried in the next
event's payload (``suppressed``). Writes happen on a background thread, never on a
request's path, and a failed write is logged, not raised.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from safeship.events import EventKind

if TYPE_CHECKING:
    from safeship.registry.store import Registry

log = logging.getLogger("safeship.gateway")
ACTOR = "gateway"


def replica_id() -> str:
    """Which gateway process wrote something: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class RefusalRecorder:
    def __init__(self, registry: Registry, interval_s: float) -> None:
        self.registry = registry
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str | None, str | None], float] = {}
        self._suppressed: dict[tuple[str, str | None, str | None], int] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="safeship-ledger")
        self.written = 0

    def record(
        self,
        kind: EventKind,
        *,
        model: str | None,
        version: str | None,
        payload: dict[str, Any],
        wait: bool = False,
    ) -> bool:
        """Queue the event unless one like it was written within the interval."""
        key = (kind, model, version)
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval_s:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False
            self._last[key] = now
            suppressed = self._suppressed.pop(key, 0)
        full = {**payload, "replica": replica_id(), "suppressed": suppressed}
        future = self._pool.submit(self._write, kind, model, version, full)
        if wait:
            future.result()
        return True

    def _write(
        self, kind: EventKind, model: str | None, version: str | None, payload: dict[str, Any]
    ) -> None:
        try:
            self.registry.record(kind, actor=ACTOR, model=model, version=version, payload=payload)
            self.written += 1
        except Exception:  # noqa: BLE001 - a ledger outage must not take serving down
            log.exception("could not write ledger event %s for %s %s", kind, model, version)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
