"""One at a time, at a bounded rate: how the daemon serves ``/metrics`` scrapes.

``/metrics`` needs no token, so anything on the host (or the network, when the daemon listens
beyond loopback) can fetch it in a loop. Each request costs the daemon's one event loop an
accept, a parse and a write, the same loop that answers claims. :class:`Pacer` lets scrapes
through in arrival order, one at a time, and never more than one per ``interval_s``: twenty
scrapers in a loop are served as fast as one polite one is, and the others wait their turn
(they are not refused). Prometheus scrapes every 15 s, so a real one never waits.

The wait has a limit: the websocket server closes a connection whose handshake (an HTTP
request's answer included) takes longer than its ``open_timeout`` (10 s), so at most
``max_waiting`` callers wait; :meth:`Pacer.full` says when one more could not be served in time
(the caller answers 503 at once rather than let the connection be cut).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

__all__ = ["Pacer"]


class Pacer:
    """Lets callers through one at a time, in arrival order, at most one per ``interval_s``.

    Args:
        interval_s: the least time between the end of one turn and the start of the next.
        max_waiting: how many callers may wait at once (:meth:`full` beyond).
        clock: monotonic seconds (injectable for tests).
    """

    def __init__(self, interval_s: float, max_waiting: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self.max_waiting = max_waiting
        self._clock = clock
        self._lock = asyncio.Lock()  # FIFO: waiters are woken in the order they came
        self._last_end = -math.inf
        self._waiting = 0
        #: Turns taken since the pacer was made.
        self.served = 0

    @property
    def waiting(self) -> int:
        """Callers waiting for their turn now (the next one's wait for the interval included)."""
        return self._waiting

    def full(self) -> bool:
        """Whether another caller would wait beyond ``max_waiting``."""
        return self._waiting >= self.max_waiting

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for this caller's turn (the previous turn over ``interval_s`` ago), then hold it."""
        self._waiting += 1
        try:
            await self._lock.acquire()
            try:
                delay = self._last_end + self.interval_s - self._clock()
                if delay > 0:
                    await asyncio.sleep(delay)
            except BaseException:  # cancelled while sleeping out the interval: not a turn
                self._lock.release()
                raise
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._last_end = self._clock()
            self.served += 1
            self._lock.release()
