"""SIGTERM ends the daemon within ``shutdown_timeout_s``, whatever the journal or a terminal does.

Draining waits for a running transaction, and closing commits held outcomes and closes the
journal; any of that can wait on a disk that refuses writes, a lock another process holds, or a
page that no longer answers. :class:`ShutdownDeadline` bounds it twice: on the event loop (at
80% of the timeout the shutdown is cancelled) and, for the daemon's own process, on a thread
(at the timeout the process exits even if the loop is blocked). Either way the outcomes that
were not written are logged at ERROR first, whole, by ``last_words``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["ShutdownDeadline"]

log = logging.getLogger("claimbridge.daemon")

#: Share of the timeout the event loop's shutdown gets before it is cancelled.
_SOFT_SHARE = 0.8
#: How long a cancelled shutdown may take to unwind before the daemon stops waiting for it.
_UNWIND_S = 2.0


class ShutdownDeadline:
    """Runs the daemon's body until it ends; once stopping, bounds the rest by ``timeout_s``.

    Args:
        timeout_s: ``shutdown_timeout_s``.
        last_words: logs what could not be written (called once, before giving up).
        hard_exit: end the process with ``os._exit(1)`` at the deadline if it is still running
            (the daemon's own process; never inside a test's event loop).
    """

    def __init__(self, timeout_s: float, last_words: Callable[[], None], *, hard_exit: bool) -> None:
        self.timeout_s = timeout_s
        self._last_words = last_words
        self._hard_exit = hard_exit
        self._timer: threading.Timer | None = None
        self._said = threading.Lock()
        self.expired = False

    async def run(self, body: asyncio.Future[Any], stop: asyncio.Event) -> None:
        """Wait for ``body``; after ``stop`` is set, for at most the deadline. Cancelled, it
        cancels ``body`` too (and gives it :data:`_UNWIND_S` to unwind): the daemon's journal,
        browser and workers never outlive the task that runs them.

        Raises:
            Exception: whatever ``body`` raised (a start-up failure).
            asyncio.CancelledError: this call was cancelled.
        """
        try:
            await self._run(body, stop)
        except asyncio.CancelledError:
            body.cancel()
            await asyncio.wait({body}, timeout=_UNWIND_S)
            raise

    async def _run(self, body: asyncio.Future[Any], stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({body, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not body.done():
            self._arm()
            try:
                await self._bounded(body)
            finally:
                self.disarm()
        if body.done() and not body.cancelled():
            body.result()

    async def _bounded(self, body: asyncio.Future[Any]) -> None:
        done, _ = await asyncio.wait({body}, timeout=self.timeout_s * _SOFT_SHARE)
        if done:
            return
        self.expired = True
        self._give_up(f"the shutdown did not finish within {self.timeout_s:g} s (shutdown_timeout_s): stopping now")
        body.cancel()
        await asyncio.wait({body}, timeout=_UNWIND_S)

    def _arm(self) -> None:
        if self._hard_exit:
            self._timer = threading.Timer(self.timeout_s, self._exit_now)
            self._timer.daemon = True
            self._timer.start()

    def disarm(self) -> None:
        """The shutdown finished: no hard exit."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _give_up(self, why: str) -> None:
        with self._said:
            log.error("%s", why)
            try:
                self._last_words()
            except Exception:  # the last words must not stop the exit
                log.exception("could not list the outcomes not written")

    def _exit_now(self) -> None:
        self._give_up(f"the shutdown did not finish within {self.timeout_s:g} s (shutdown_timeout_s): exiting now")
        for handler in logging.getLogger().handlers:
            with contextlib.suppress(Exception):  # exiting anyway
                handler.flush()
        os._exit(1)
