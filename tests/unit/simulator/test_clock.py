"""Unit tests for simulator/clock.py."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from simulator.clock import Clock

T0 = datetime.fromisoformat("2026-04-05T02:30:00+11:00")


def test_frozen_clock_stands_still_and_reports_utc() -> None:
    clock = Clock(now=T0, scale=0)
    assert clock.now() == T0 and clock.now().utcoffset() == timedelta(0)
    assert clock.scale == 0
    clock.set(now=T0 + timedelta(hours=1))
    assert clock.now() == T0 + timedelta(hours=1)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Clock(scale=-1)
    with pytest.raises(ValueError):
        Clock(now=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        Clock().set(scale=-2)


async def test_sleep_scaled_and_frozen() -> None:
    clock = Clock(now=T0, scale=1000)
    await asyncio.wait_for(clock.sleep(55), timeout=2)
    assert clock.now() >= T0 + timedelta(seconds=55)
    frozen = Clock(now=T0, scale=0)
    await asyncio.wait_for(frozen.sleep(3600), timeout=0.5)
    assert frozen.now() == T0


async def test_speeding_up_wakes_a_sleeper() -> None:
    clock = Clock(now=T0, scale=1)
    sleeper = asyncio.create_task(clock.sleep(60))
    await asyncio.sleep(0.01)
    clock.set(scale=100_000)
    await asyncio.wait_for(sleeper, timeout=1)


async def test_wait_event_frozen_never_times_out() -> None:
    clock = Clock(now=T0, scale=0)
    event = asyncio.Event()
    waiter = asyncio.create_task(clock.wait_event(event, 1))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    event.set()
    assert await asyncio.wait_for(waiter, 1) is True
    fast = Clock(now=T0, scale=10_000)
    assert await asyncio.wait_for(fast.wait_event(asyncio.Event(), 90), 1) is False
