"""Injectable, scalable simulated clock: the only place the simulator reads real time.

Simulated time is ``anchor + real_elapsed * scale``. A scale of ``0`` freezes time; a
large scale makes the 55 s autovoid or the 90 s pairing timeout pass in milliseconds.
Pure modules never import this: they take ``now`` as an argument (STYLE.md rule 2).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

__all__ = ["Clock"]


class Clock:
    """Injectable, scalable simulated clock.

    Args:
        now: Simulated time to start from (aware); defaults to the real time.
        scale: Simulated seconds per real second; ``0`` means frozen.
    """

    def __init__(self, now: datetime | None = None, scale: float = 1.0) -> None:
        if scale < 0:
            raise ValueError("scale must be >= 0")
        self._anchor_sim = _as_utc(now) if now is not None else datetime.now(UTC)
        self._anchor_real = time.monotonic()
        self._scale = float(scale)
        self._waiters: set[asyncio.Future[None]] = set()

    @property
    def scale(self) -> float:
        """Simulated seconds per real second; ``0`` means frozen."""
        return self._scale

    def now(self) -> datetime:
        """Return the simulated time as an aware datetime in UTC."""
        elapsed = time.monotonic() - self._anchor_real
        return self._anchor_sim + timedelta(seconds=elapsed * self._scale)

    def set(self, now: datetime | None = None, scale: float | None = None) -> None:
        """Move and/or rescale the clock; running sleeps and waits re-plan at once.

        Args:
            now: New simulated time (aware); keeps the current time when omitted.
            scale: New scale; keeps the current scale when omitted.

        Raises:
            ValueError: ``scale`` is negative or ``now`` is naive.
        """
        if scale is not None and scale < 0:
            raise ValueError("scale must be >= 0")
        current = self.now()
        self._anchor_sim = _as_utc(now) if now is not None else current
        self._anchor_real = time.monotonic()
        if scale is not None:
            self._scale = float(scale)
        self._wake()

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time.

        When the clock is frozen this returns at once and does not move time.
        """
        if seconds <= 0:
            return
        deadline = self.now() + timedelta(seconds=seconds)
        while True:
            if self._scale == 0:
                return
            remaining = (deadline - self.now()).total_seconds()
            if remaining <= 0:
                return
            await self._wait_change(remaining / self._scale)

    async def wait_event(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait for ``event`` at most ``seconds`` of simulated time.

        Unlike :meth:`sleep`, a frozen clock never reaches the deadline: the wait
        lasts until the event is set or the clock is unfrozen and time runs out.

        Returns:
            True if the event was set, False if the deadline passed first.
        """
        deadline = self.now() + timedelta(seconds=seconds)
        while not event.is_set():
            if self._scale == 0:
                real_timeout: float | None = None
            else:
                remaining = (deadline - self.now()).total_seconds()
                if remaining <= 0:
                    return False
                real_timeout = remaining / self._scale
            waiter = asyncio.ensure_future(event.wait())
            change = asyncio.ensure_future(self._wait_change(real_timeout))
            try:
                await asyncio.wait({waiter, change}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (waiter, change):
                    if not task.done():
                        task.cancel()
        return True

    async def _wait_change(self, real_timeout: float | None) -> None:
        """Wait real seconds, or until :meth:`set` is called."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(future)
        try:
            await asyncio.wait_for(asyncio.shield(future), real_timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(future)

    def _wake(self) -> None:
        for future in list(self._waiters):
            if not future.done() and not future.get_loop().is_closed():
                future.get_loop().call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("simulated time must be timezone-aware")
    return value.astimezone(UTC)
