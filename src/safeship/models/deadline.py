"""Whole-request deadlines and per-upstream slots for HTTP adapters.

httpx's timeouts are per operation: an upstream that sends one byte every second never
trips a 30 s read timeout and keeps a thread busy for as long as it likes. Here every
request has one deadline. Each read waits at most until then, and a watchdog shuts the
request's socket down the moment the deadline passes, so the blocked read returns and the
thread is free (the connection is discarded).

:class:`UpstreamSlots` bounds one upstream's requests in flight and the callers waiting
for them; a caller beyond that is refused at once, so one slow upstream cannot occupy
every thread of a pool shared with other models.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


class DeadlinePassed(Exception):
    """The request did not complete before its deadline."""


class UpstreamSaturated(Exception):
    """Every slot is taken and too many callers already wait for one."""


class UpstreamSlots:
    """At most ``concurrency`` holders and ``max_queued`` waiters."""

    def __init__(self, concurrency: int, max_queued: int) -> None:
        self.concurrency = concurrency
        self.max_queued = max_queued
        self._cond = threading.Condition()
        self._free = concurrency
        self._waiting = 0
        self.in_flight_peak = 0

    @contextlib.contextmanager
    def taken(self, deadline: float, name: str) -> Iterator[None]:
        with self._cond:
            if self._free == 0:
                if self._waiting >= self.max_queued:
                    raise UpstreamSaturated(
                        f"upstream {name} is saturated ({self.concurrency} requests in flight, "
                        f"{self._waiting} waiting); refused at once"
                    )
                self._waiting += 1
                try:
                    while self._free == 0:
                        remaining = deadline - time.perf_counter()
                        if remaining <= 0:
                            raise DeadlinePassed("no free slot for this upstream in time")
                        self._cond.wait(remaining)
                finally:
                    self._waiting -= 1
            self._free -= 1
            self.in_flight_peak = max(self.in_flight_peak, self.concurrency - self._free)
        try:
            yield
        finally:
            with self._cond:
                self._free += 1
                self._cond.notify()


class _Watchdog:
    """One daemon thread running the actions whose deadlines pass (cancellable)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._cancelled: set[int] = set()
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, action: Callable[[], None]) -> int:
        with self._cond:
            ident = next(self._ids)
            heapq.heappush(self._heap, (deadline, ident, action))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="safeship-deadlines", daemon=True
                )
                self._thread.start()
            self._cond.notify()
            return ident

    def cancel(self, ident: int) -> None:
        with self._cond:
            self._cancelled.add(ident)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                deadline, ident, action = self._heap[0]
                wait = deadline - time.perf_counter()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                if ident in self._cancelled:
                    self._cancelled.discard(ident)
                    continue
            with contextlib.suppress(Exception):
                action()


_WATCHDOG = _Watchdog()


class _Cutter:
    """Shuts down the request's socket when the deadline fires."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.fired = False
        self._lock = threading.Lock()

    def attach(self, stream: Any) -> None:
        sock = stream.get_extra_info("socket") if stream is not None else None
        with self._lock:
            self.sock = sock
            if self.fired:
                self._shut()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            self.attach(info.get("return_value"))

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            self._shut()

    def _shut(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)


def fetch_before(
    client: httpx.Client, url: str, body: dict[str, Any], deadline: float
) -> httpx.Response:
    """POST ``body`` and read the whole response before ``deadline`` (perf_counter time)."""
    import httpx

    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        raise DeadlinePassed("the deadline passed before the request was sent")
    connect = client.timeout.connect or remaining
    timeout = httpx.Timeout(remaining, connect=min(connect, remaining))
    cutter = _Cutter()
    ident = _WATCHDOG.arm(deadline, cutter.fire)
    try:
        with client.stream(
            "POST", url, json=body, timeout=timeout, extensions={"trace": cutter.trace}
        ) as response:
            cutter.attach(response.extensions.get("network_stream"))
            response.read()
            return response
    except httpx.HTTPError as error:
        if cutter.fired or time.perf_counter() >= deadline:
            raise DeadlinePassed(f"cut at the deadline: {type(error).__name__}") from error
        raise
    finally:
        _WATCHDOG.cancel(ident)
