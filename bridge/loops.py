"""The daemon's background loops: one ``asyncio.TaskGroup``, every loop contained.

A loop's failure is logged and stays its own (a terminal whose recovery fails must not cancel the
other terminals, which is what an exception escaping into a task group does). Once
:meth:`Loops.cancel_all` has run nothing new starts (a late browser-crash handler, say), so
leaving the group never waits on a loop started during shutdown. An error of the code inside the
``async with`` (the daemon's start-up: :class:`~bridge.errors.CannotStart`, say) leaves as
itself, not wrapped in an ``ExceptionGroup``, so the command can print its one line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from types import TracebackType
from typing import Any

__all__ = ["Loops", "quiet_driver_exit"]

log = logging.getLogger("claimbridge.daemon")


class Loops:
    """The named background tasks of one daemon run (an async context manager)."""

    def __init__(self) -> None:
        self._group: asyncio.TaskGroup | None = None
        self._open = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Loops:
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        group, self._group = self._group, None
        if group is None:
            return
        try:
            await group.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as errors:
            # Loops are contained, so what arrives here is the body's own one error.
            if len(errors.exceptions) == 1:
                raise errors.exceptions[0] from None
            raise

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[None] | None:
        """Run ``coro`` until shutdown as a task named ``name`` (``claimbridge[front-desk].worker``);
        None, and the coroutine closed, once shutdown has begun."""
        group = self._group
        if group is None or not self._open:
            coro.close()
            log.info("not starting %s: the daemon is stopping", name)
            return None
        task = group.create_task(_contained(coro, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def cancel_all(self) -> None:
        """Cancel every loop (after the drain); nothing new starts from here on."""
        self._open = False
        for task in list(self._tasks):
            task.cancel()


async def _contained(coro: Coroutine[Any, Any, Any], name: str) -> None:
    try:
        await coro
    except Exception:
        log.exception("task %s failed", name)


def quiet_driver_exit(loop: asyncio.AbstractEventLoop, context: Mapping[str, object]) -> None:
    """Ctrl-C reaches Playwright's driver (same process group) as it reaches the daemon: its
    "Connection closed while reading from the driver" as the daemon drains is expected, not an ERROR."""
    if "reading from the driver" in str(context.get("exception", "")):
        log.debug("the browser driver ended with the terminal's Ctrl-C")
        return
    loop.default_exception_handler(dict(context))
