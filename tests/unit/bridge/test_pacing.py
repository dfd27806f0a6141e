"""Pacer: one at a time, in arrival order, turns at least ``interval_s`` apart."""

from __future__ import annotations

import asyncio
import time

from bridge.pacing import Pacer


async def test_turns_one_at_a_time_in_order_and_spaced() -> None:
    pacer = Pacer(0.05, max_waiting=100)
    inside = 0
    most_inside = 0
    turns: list[tuple[int, float, float]] = []

    async def caller(n: int) -> None:
        nonlocal inside, most_inside
        async with pacer.turn():
            inside += 1
            most_inside = max(most_inside, inside)
            start = time.monotonic()
            await asyncio.sleep(0.001)
            inside -= 1
            turns.append((n, start, time.monotonic()))

    tasks = []
    for n in range(8):
        tasks.append(asyncio.create_task(caller(n)))
        await asyncio.sleep(0)  # each is waiting before the next comes
    await asyncio.gather(*tasks)
    assert most_inside == 1
    assert [n for n, _, _ in turns] == list(range(8))
    # Each turn starts at least interval_s after the previous one ended: the rate is bounded.
    assert all(start - end >= 0.05 * 0.99 for (_, _, end), (_, start, _) in zip(turns, turns[1:]))
    assert pacer.served == 8 and pacer.waiting == 0


async def test_full_counts_the_waiting_and_a_cancelled_waiter_leaves() -> None:
    pacer = Pacer(10.0, max_waiting=2)
    async with pacer.turn():  # the first turn: nobody waits for it
        pass
    assert not pacer.full()
    waiters = [asyncio.create_task(_take(pacer)) for _ in range(2)]
    await asyncio.sleep(0.01)
    assert pacer.waiting == 2 and pacer.full()  # one sleeps out the interval, one waits for the lock
    waiters[1].cancel()
    await asyncio.gather(waiters[1], return_exceptions=True)
    assert pacer.waiting <= 1 and not pacer.full()
    waiters[0].cancel()
    await asyncio.gather(waiters[0], return_exceptions=True)
    async with asyncio.timeout(1):  # a cancelled turn released the lock
        pacer.interval_s = 0.0
        async with pacer.turn():
            pass


async def _take(pacer: Pacer) -> None:
    async with pacer.turn():
        pass
