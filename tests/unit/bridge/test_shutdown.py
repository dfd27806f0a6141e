"""bridge/shutdown.py: the shutdown deadline, on the test's own event loop (no hard exit)."""

from __future__ import annotations

import asyncio

import pytest

from bridge.shutdown import ShutdownDeadline


async def test_a_shutdown_that_finishes_says_nothing() -> None:
    said: list[str] = []
    stop = asyncio.Event()

    async def body() -> None:
        await stop.wait()

    deadline = ShutdownDeadline(5, lambda: said.append("x"), hard_exit=False)
    stop.set()
    await deadline.run(asyncio.ensure_future(body()), stop)
    assert said == [] and not deadline.expired


async def test_a_shutdown_stuck_past_the_deadline_is_cancelled_after_its_last_words(caplog: pytest.LogCaptureFixture) -> None:
    said: list[str] = []
    stop = asyncio.Event()
    cancelled = asyncio.Event()

    async def body() -> None:
        try:
            await asyncio.Event().wait()  # a drain that never ends
        except asyncio.CancelledError:
            cancelled.set()
            raise

    task = asyncio.ensure_future(body())
    deadline = ShutdownDeadline(0.2, lambda: said.append("unwritten outcomes"), hard_exit=False)
    asyncio.get_running_loop().call_later(0.01, stop.set)
    await deadline.run(task, stop)
    assert deadline.expired and said == ["unwritten outcomes"] and cancelled.is_set()
    assert any(r.levelname == "ERROR" and "shutdown_timeout_s" in r.getMessage() for r in caplog.records)


async def test_a_start_up_failure_is_raised_as_it_was() -> None:
    async def body() -> None:
        raise RuntimeError("port in use")

    with pytest.raises(RuntimeError, match="port in use"):
        await ShutdownDeadline(5, lambda: None, hard_exit=False).run(asyncio.ensure_future(body()), asyncio.Event())


async def test_cancelling_the_daemon_cancels_its_body_too() -> None:
    # Cancelled from outside (a test's "the daemon dies", asyncio.run's teardown), the body must
    # not go on alone: its journal and workers would keep writing after the daemon's task ended.
    cancelled = asyncio.Event()

    async def body() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    stop = asyncio.Event()
    inner = asyncio.ensure_future(body())
    outer = asyncio.ensure_future(ShutdownDeadline(5, lambda: None, hard_exit=False).run(inner, stop))
    await asyncio.sleep(0.01)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert cancelled.is_set() and inner.cancelled()


async def test_cancelling_a_shutdown_under_way_cancels_its_body_too() -> None:
    stop = asyncio.Event()
    inner = asyncio.ensure_future(asyncio.Event().wait())  # a drain that never ends
    outer = asyncio.ensure_future(ShutdownDeadline(5, lambda: None, hard_exit=False).run(inner, stop))
    stop.set()
    await asyncio.sleep(0.01)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert inner.cancelled()
