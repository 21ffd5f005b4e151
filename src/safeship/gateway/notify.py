"""When the follower looks at the registry: on a timer, or when PostgreSQL says so.

:class:`PollWaiter` wakes every poll interval (SQLite, and the fallback). On PostgreSQL,
:class:`NotifyWaiter` holds one connection that ``LISTEN``\\ s on the channel every
deployment move notifies in its own transaction (``registry.deployments.NOTIFY_CHANNEL``),
and wakes at once on a notification, or after ``fallback_s`` without one (other state
changes — statuses, registrations — are seen then). When the listening connection fails,
it polls at the poll interval and reconnects with backoff, so a database restart costs
latency, never correctness.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger("safeship.gateway")
ENV_FOLLOW = "SAFESHIP_GATEWAY_FOLLOW"  # "poll" turns LISTEN/NOTIFY off
NOTIFY_FALLBACK_S = 5.0  # with LISTEN/NOTIFY: look anyway this often
SLICE_S = 0.5  # longest uninterrupted wait, so stop() is prompt
MAX_BACKOFF_S = 30.0


class PollWaiter:
    """Wake every ``interval_s`` seconds."""

    mode = "poll"

    def __init__(self, stop: threading.Event, interval_s: float) -> None:
        self.stop = stop
        self.interval_s = interval_s

    def wait(self) -> None:
        self.stop.wait(self.interval_s)

    def close(self) -> None:
        return None


class NotifyWaiter(PollWaiter):
    """Wake on a PostgreSQL notification on ``channel``, or after ``fallback_s``."""

    mode = "notify"

    def __init__(
        self,
        stop: threading.Event,
        engine: Engine,
        channel: str,
        *,
        poll_interval_s: float,
        fallback_s: float = NOTIFY_FALLBACK_S,
    ) -> None:
        super().__init__(stop, poll_interval_s)
        self.engine = engine
        self.channel = channel
        self.fallback_s = fallback_s
        self.notifications = 0
        self._connection: Any = None
        self._backoff = 1.0
        self._retry_at = 0.0

    @property
    def listening(self) -> bool:
        return self._connection is not None

    def _connect(self) -> bool:
        try:
            pooled = self.engine.raw_connection()
            connection = pooled.driver_connection
            pooled.detach()  # a connection of its own, never returned to the pool
            if connection is None:
                raise RuntimeError("the database driver gave no connection")
            connection.autocommit = True
            connection.execute(f'LISTEN "{self.channel}"')
        except Exception as error:  # noqa: BLE001 - fall back to polling, retry later
            self._retry_at = time.monotonic() + self._backoff
            log.warning(
                "cannot LISTEN on the registry database (polling every %.2f s, retrying in "
                "%.0f s): %s",
                self.interval_s,
                self._backoff,
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__,
            )
            self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)
            return False
        self._connection = connection
        self._backoff = 1.0
        return True

    def wait(self) -> None:
        if self._connection is None:
            # not listening: poll, and try to listen again once the backoff has passed
            # (after (re)connecting, look at once: changes made meanwhile sent no notification)
            pause = self._retry_at - time.monotonic()
            if pause > 0:
                self.stop.wait(min(self.interval_s, pause))
            else:
                self._connect()
            return
        deadline = time.monotonic() + self.fallback_s
        try:
            while not self.stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                got = 0
                for _ in self._connection.notifies(timeout=min(SLICE_S, remaining), stop_after=1):
                    got += 1
                if got:
                    # drain what else arrived: one look at the registry answers them all
                    for _ in self._connection.notifies(timeout=0.0):
                        got += 1
                    self.notifications += got
                    return
        except Exception as error:  # noqa: BLE001 - the connection broke: poll, reconnect
            log.warning("the LISTEN connection failed (%s): polling until it is back", error)
            self.close()
            self._retry_at = time.monotonic() + self._backoff

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.debug("closing the LISTEN connection failed", exc_info=True)


def waiter_for(engine: Engine, stop: threading.Event, poll_interval_s: float) -> PollWaiter:
    """LISTEN/NOTIFY on PostgreSQL, polling elsewhere or when ``$SAFESHIP_GATEWAY_FOLLOW``
    is ``poll`` (for a connection pooler in transaction mode, where LISTEN does not work)."""
    if engine.dialect.name == "postgresql" and os.environ.get(ENV_FOLLOW, "") != "poll":
        from safeship.registry.deployments import NOTIFY_CHANNEL

        return NotifyWaiter(stop, engine, NOTIFY_CHANNEL, poll_interval_s=poll_interval_s)
    return PollWaiter(stop, poll_interval_s)
