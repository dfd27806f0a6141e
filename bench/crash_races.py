"""The crash campaign's races and clock faults, on an in-process daemon whose business clock
follows the simulator's (``Daemon(now=...)``, as tests/crash/test_recovery_order.py does):

- ``abort-race``: two claims; the PMS aborts the queued second one just as the first ends (the
  moment is swept as a staircase: later after an abort that won, earlier after one too late).
  A caller told ``{aborted: true}`` whose job the journal does not end ``failed``, or whose claim
  the fund saw, is untruthful (bench/crash_check.py).
- ``clock-jump``: a claim ends ``unknown``; the wall clock jumps back a day; a second claim is
  driven to the card or the fund, and the daemon dies (its task cancelled: the job's row stays
  ``running``) and starts again on the same journal. By recorded time the ``unknown`` job looks
  newest; recovery must re-attach the second one (the terminal's last transaction) by the
  journal's order. Re-attaching the wrong job shows as a journal/ledger disagreement.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench.crash_check import Tally, check
from bench.crash_drive import SWIPE, WAITING, WINDOW_MS, job_id_for, new_request, note, replay, status_note, wait_terminal_idle, wait_up
from tests.daemon_harness import FRONT_DESK, Client, Running, Sim, make_settings, start_daemon, stop_daemon

__all__ = ["ABORT_FUND_MS", "abort_race_campaign", "clock_jump_campaign"]

#: The fund's answer time (simulated ms) of the claim before the aborted one.
ABORT_FUND_MS = 2000
#: Phases of the claim on the terminal when the daemon dies after a clock jump.
JUMP_PHASES = ("card", "fund")


def _ignore(fut: asyncio.Future[object]) -> None:
    if not fut.cancelled():
        fut.exception()


@dataclass
class _Staircase:
    """When to abort after the first claim is at the fund: later after an abort that won,
    earlier after one too late; the step halves at each turn (down to 1 ms), so the sweep
    settles on the moment the first claim ends."""

    delay: float
    step: float = 0.008
    last: bool | None = None

    def next(self, aborted: bool) -> None:
        if self.last is not None and aborted != self.last:
            self.step = max(0.001, self.step / 2)
        self.last = aborted
        self.delay = max(0.0, self.delay + (self.step if aborted else -self.step))


async def _abort_point(c: Client, sim: Sim, running: Running, rng: random.Random, tally: Tally, stairs: _Staircase) -> None:
    """One abort race."""
    await wait_terminal_idle(sim)
    await wait_up(running)
    await sim.scenario(cardDelayMs=0, fundDelayMs=ABORT_FUND_MS)
    c.notes.clear()
    first, second = new_request("abort-a", "accept"), new_request("abort-b", "accept")
    for r in (first, second):
        r.first = asyncio.ensure_future(c.call("healthpoint.claim", r.params, timeout=120))
        r.first.add_done_callback(_ignore)
    await note(c, status_note(lambda: job_id_for(c, first.rid), WAITING), 30)
    await note(c, lambda n: n["method"] == "job.updated" and n["params"]["job"]["requestId"] == second.rid, 30)
    queued = job_id_for(c, second.rid)
    await asyncio.sleep(max(0.0, stairs.delay + rng.uniform(-0.001, 0.001)))
    answer = await c.call("job.abort", {"jobId": queued}, timeout=30)
    second.aborted = bool(answer["aborted"])
    tally.abort_answers["aborted" if second.aborted else "too late"] += 1
    tally.kill_points["abort-race"] += 1
    await replay(c, [first, second], settle_s=8.0)
    await check(c, sim, [first, second], tally)
    stairs.next(second.aborted)


async def abort_race_campaign(sim: Sim, workdir: Path, points: int, rng: random.Random, tally: Tally) -> None:
    """``points`` abort races on one daemon, a PMS polling ``job.list`` on the same connection."""
    running = await start_daemon(make_settings(workdir / "abort", sim, transaction_timeout_s=20), sim)
    try:
        if (await running.pair(*FRONT_DESK))["status"] != "success":
            raise RuntimeError("pairing failed")
        c = await running.client()
        async def poll() -> None:
            while True:
                with contextlib.suppress(Exception):
                    await c.call("job.list", {"limit": 50}, timeout=30)
                await asyncio.sleep(0)

        pollers = [asyncio.ensure_future(poll()) for _ in range(4)]
        try:
            stairs = _Staircase(ABORT_FUND_MS / 1000 / sim.clock.scale)
            for _ in range(points):
                await _abort_point(c, sim, running, rng, tally, stairs)
        finally:
            for p in pollers:
                p.cancel()
    finally:
        await stop_daemon(running)


async def _die(running: Running) -> None:
    """The daemon stops without a drain: its task is cancelled, its clients' sockets closed."""
    running.task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await running.task
    for client in running.clients:
        with contextlib.suppress(Exception):
            await client.close()


async def clock_jump_campaign(sim: Sim, workdir: Path, points: int, rng: random.Random, tally: Tally) -> None:
    """``points`` clock jumps, each with an ``unknown`` job in the journal and a restart."""
    settings = make_settings(workdir / "jump", sim, transaction_timeout_s=20)
    running = await start_daemon(settings, sim)
    try:
        if (await running.pair(*FRONT_DESK))["status"] != "success":
            raise RuntimeError("pairing failed")
        for i in range(points):
            phase = JUMP_PHASES[i % 2] if i < 2 else rng.choice(JUMP_PHASES)
            await wait_terminal_idle(sim)
            await wait_up(running)
            c = await running.client()
            await sim.scenario(result="UNKNOWN")
            before = new_request("jump-before", "accept")
            before.told.append(await c.call("healthpoint.claim", before.params, timeout=120))
            sim.clock.set(now=sim.clock.now() - timedelta(days=1))
            await sim.scenario(cardDelayMs=WINDOW_MS, fundDelayMs=WINDOW_MS, answerTimeoutMs=3_600_000)
            c.notes.clear()
            after = new_request("jump-after", "accept")
            after.first = asyncio.ensure_future(c.call("healthpoint.claim", after.params, timeout=120))
            after.first.add_done_callback(_ignore)
            await note(c, status_note(lambda: job_id_for(c, after.rid), SWIPE if phase == "card" else WAITING), 30)
            await asyncio.sleep(rng.uniform(0, WINDOW_MS / 1000 / sim.clock.scale * 0.8))
            await _die(running)
            after.first = None  # its connection died with the daemon
            tally.kill_points[f"clock-jump/{phase}"] += 1
            running = await start_daemon(settings, sim)
            c2 = await running.client()
            await replay(c2, [before, after], settle_s=8.0)
            # The clock is put right (the fund's own clock never jumped: its report of the day
            # the unknown claim was made is asked for by that day).
            sim.clock.set(now=sim.clock.now() + timedelta(days=1))
            await check(c2, sim, [before, after], tally)
            await c2.close()
            running.clients.remove(c2)
    finally:
        await stop_daemon(running)
