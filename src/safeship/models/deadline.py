"""Whole-request deadlines and per-upstream slots for HTTP adapters.

httpx's timeouts are per operation: an upstream that sends one byte every second never
trips a 30 s read timeout and keeps a thread busy for as long as it likes. Here every
request has one deadline. Each read waits at most until then, and a watchdog shuts the
request's socket down the moment the deadline passes, so the blocked read returns and the
thread is free (the connection is discarded). On the asyncio path one ``asyncio.timeout``
does the same: cancelling the request drops its connection.

:class:`UpstreamSlots` bounds one upstream's requests in flight and the callers waiting
for them, threads and coroutines under one bound; a caller beyond that is refused at once,
so one slow upstream cannot occupy every thread of a pool shared with other models.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


class DeadlinePassed(Exception):
    """The request did not complete before its deadline."""


class UpstreamSaturated(Exception):
    """Every slot is taken and too many callers already wait for one."""


class _Waiter:
    """A caller queued for a slot: a thread (``event``) or a coroutine (``loop``/``future``)."""

    __slots__ = ("event", "future", "granted", "loop")

    def __init__(
        self,
        event: threading.Event | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.event = event
        self.loop = loop
        self.future: asyncio.Future[None] | None = None if loop is None else loop.create_future()
        self.granted = False

    def wake(self) -> bool:
        """Tell the waiter it holds a slot; False when it can no longer hear (loop closed)."""
        if self.event is not None:
            self.event.set()
            return True
        assert self.loop is not None and self.future is not None
        try:
            self.loop.call_soon_threadsafe(_resolve, self.future)
        except RuntimeError:  # the waiter's event loop is closed
            return False
        return True


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class UpstreamSlots:
    """At most ``concurrency`` holders and ``max_queued`` waiters, shared by threads
    (:meth:`taken`) and coroutines (:meth:`taken_async`) alike: a freed slot is handed to
    the longest waiter of either kind, so one bound holds for every caller of an upstream."""

    def __init__(self, concurrency: int, max_queued: int) -> None:
        self.concurrency = concurrency
        self.max_queued = max_queued
        self._lock = threading.Lock()
        self._free = concurrency
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self.in_flight_peak = 0

    def _take_or_queue(self, name: str, make: Callable[[], _Waiter]) -> _Waiter | None:
        """None when a slot was free (now held); else the queued waiter."""
        with self._lock:
            if self._free > 0:
                self._free -= 1
                self.in_flight_peak = max(self.in_flight_peak, self.concurrency - self._free)
                return None
            if len(self._waiters) >= self.max_queued:
                raise UpstreamSaturated(
                    f"upstream {name} is saturated ({self.concurrency} requests in flight, "
                    f"{len(self._waiters)} waiting); refused at once"
                )
            waiter = make()
            self._waiters.append(waiter)
            return waiter

    def _abandon(self, waiter: _Waiter) -> bool:
        """The waiter gives up; True when a slot was handed to it meanwhile (it holds it)."""
        with self._lock:
            if waiter.granted:
                return True
            self._waiters.remove(waiter)
            return False

    def release(self) -> None:
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                waiter.granted = True
                if waiter.wake():
                    return  # the slot passes straight to the waiter
            self._free += 1

    @contextlib.contextmanager
    def taken(self, deadline: float, name: str) -> Iterator[None]:
        waiter = self._take_or_queue(name, lambda: _Waiter(event=threading.Event()))
        if waiter is not None:
            assert waiter.event is not None
            in_time = waiter.event.wait(max(0.0, deadline - time.perf_counter()))
            if not in_time and not self._abandon(waiter):
                raise DeadlinePassed("no free slot for this upstream in time")
        try:
            yield
        finally:
            self.release()

    @contextlib.asynccontextmanager
    async def taken_async(self, deadline: float, name: str) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        waiter = self._take_or_queue(name, lambda: _Waiter(loop=loop))
        if waiter is not None:
            assert waiter.future is not None
            try:
                async with asyncio.timeout(max(0.0, deadline - time.perf_counter())):
                    await waiter.future
            except BaseException as error:  # timed out or cancelled while queued
                if self._abandon(waiter):
                    self.release()
                if isinstance(error, TimeoutError):
                    raise DeadlinePassed("no free slot for this upstream in time") from error
                raise
        try:
            yield
        finally:
            self.release()


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
