"""bridge/loops.py: the daemon's loops in one task group, each failure its own."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bridge.errors import CannotStart
from bridge.loops import Loops


async def test_a_failing_loop_is_logged_and_the_others_go_on(caplog: Any) -> None:
    ticks = 0

    async def steady() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    async def broken() -> None:
        raise ValueError("boom")

    with caplog.at_level(logging.ERROR, logger="claimbridge.daemon"):
        async with Loops() as loops:
            loops.spawn(steady(), "steady")
            loops.spawn(broken(), "broken")
            for _ in range(20):
                await asyncio.sleep(0)
            before = ticks
            await asyncio.sleep(0.01)
            assert ticks > before  # still running after the other one failed
            loops.cancel_all()
    assert any("task broken failed" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_a_start_up_error_leaves_as_itself_and_cancels_the_loops() -> None:
    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    with pytest.raises(CannotStart, match="port 8765 is in use"):
        async with Loops() as loops:
            loops.spawn(forever(), "forever")
            await asyncio.sleep(0)
            raise CannotStart("port 8765 is in use")
    assert cancelled.is_set()


async def test_nothing_starts_once_shutdown_has_begun(caplog: Any) -> None:
    started = False

    async def late() -> None:
        nonlocal started
        started = True

    async with Loops() as loops:
        loops.cancel_all()
        with caplog.at_level(logging.INFO, logger="claimbridge.daemon"):
            assert loops.spawn(late(), "late") is None  # closed, not left un-awaited
    assert not started
    assert any("not starting late" in r.getMessage() for r in caplog.records)
    assert Loops().spawn(late(), "before") is None  # nor before the group is open


async def test_leaving_waits_for_every_cancelled_loop_to_finish() -> None:
    finished: list[str] = []

    async def tidy(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.01)  # its own clean-up takes a moment
            finished.append(name)

    async with Loops() as loops:
        for name in ("a", "b"):
            loops.spawn(tidy(name), name)
        await asyncio.sleep(0)
        loops.cancel_all()
    assert sorted(finished) == ["a", "b"]


def test_the_drivers_end_on_ctrl_c_is_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    import asyncio
    import logging

    from bridge.loops import quiet_driver_exit

    loop = asyncio.new_event_loop()
    try:
        caplog.set_level(logging.DEBUG)
        quiet_driver_exit(loop, {"message": "Future exception was never retrieved",
                                 "exception": Exception("Connection closed while reading from the driver")})
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        quiet_driver_exit(loop, {"message": "something else", "exception": RuntimeError("boom")})
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == ["something else"]
    finally:
        loop.close()
