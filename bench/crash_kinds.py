"""The crash campaign's process faults: the daemon SIGKILLed (a daemon in its own process),
Chromium SIGKILLed or the terminal's answer dropped (an in-process daemon), and faults every
process survives: another process locking the journal, hung pages."""

from __future__ import annotations

import os
import random
import signal
from datetime import UTC, datetime
from pathlib import Path

from bench.common import SubprocessDaemon, default_terminals
from bench.crash_check import Tally, check
from bench.crash_drive import PHASES, WINDOW_MS, drive_to, new_request, replay, wait_terminal_idle, wait_up
from bench.faults import hang_renderers, hold_journal_lock
from tests.daemon_harness import Sim, make_settings, start_daemon, stop_daemon

__all__ = ["LIVE_PHASES", "daemon_campaign", "inprocess_campaign", "live_fault_campaign"]

async def daemon_campaign(sim: Sim, workdir: Path, kills: int, rng: random.Random, tally: Tally) -> None:
    """SIGKILL of a daemon in its own process. Its business clock is the wall clock, so the
    simulator's runs on it meanwhile (real time, scale 1): the terminal's times and the fund's
    report days agree with the journal's, as at a clinic, and the report can settle what
    ``continueLastTransaction`` cannot (at its own scale the simulator would be on another day)."""
    before, scale = sim.clock.now(), sim.clock.scale
    sim.clock.set(now=datetime.now(UTC), scale=1.0)
    d = SubprocessDaemon(workdir / "daemon", sim, default_terminals(1))
    d.workdir.mkdir(parents=True, exist_ok=True)
    try:
        await d.start()
        await d.pair_all()
        for i in range(kills):
            phase = PHASES[i % len(PHASES)] if i < len(PHASES) else rng.choice(PHASES)
            await wait_terminal_idle(sim)
            c = await d.client()
            reqs = await drive_to(phase, c, sim, rng, "daemon")
            d.kill()
            tally.kill_points[f"daemon/{phase}"] += 1
            for r in reqs:
                r.first = None  # its connection died with the daemon: no answer will come
            await c.close()
            await d.start()
            c2 = await d.client()
            await replay(c2, reqs, settle_s=6.0)
            await check(c2, sim, reqs, tally)
            await c2.close()
    finally:
        d.stop()
        sim.clock.set(now=before, scale=scale)


async def inprocess_campaign(
    sim: Sim, workdir: Path, kills: int, drops: int, rng: random.Random, tally: Tally
) -> None:
    running = await start_daemon(make_settings(workdir / "inproc", sim, transaction_timeout_s=2.5), sim)
    try:
        assert (await running.pair("front-desk", 2187, 1))["status"] == "success"
        browser = running.daemon.browser
        assert browser is not None
        for i in range(kills):
            phase = PHASES[i % len(PHASES)] if i < len(PHASES) else rng.choice(PHASES)
            await wait_terminal_idle(sim)
            await wait_up(running)
            pid = await browser.process_id()
            assert pid is not None
            c = await running.client()
            reqs = await drive_to(phase, c, sim, rng, "chromium")
            os.kill(pid, signal.SIGKILL)
            tally.kill_points[f"chromium/{phase}"] += 1
            await replay(c, reqs, settle_s=6.0)
            await check(c, sim, reqs, tally)
        for _ in range(drops):
            await wait_terminal_idle(sim)
            await wait_up(running)
            c = await running.client()
            # Half the terminals also forget the transaction: only the fund's report can settle it.
            await sim.scenario(dropResponse=True, cardDelayMs=rng.randint(0, WINDOW_MS), fundDelayMs=rng.randint(0, WINDOW_MS),
                               noLastTransaction=rng.random() < 0.5)
            req = new_request("drop", "accept")
            tally.kill_points["dropResponse"] += 1
            await replay(c, [req], settle_s=8.0)
            await check(c, sim, [req], tally)
    finally:
        await stop_daemon(running)


#: Phases a fault that leaves the daemon alive is injected in.
LIVE_PHASES = ("card", "fund", "question", "approved")


async def live_fault_campaign(
    sim: Sim, workdir: Path, locks: int, hangs: int, rng: random.Random, tally: Tally
) -> None:
    """Faults the daemon survives: a locked journal, hung pages. Every process stays up."""
    settings = make_settings(workdir / "live", sim, transaction_timeout_s=2.5, page_probe_timeout_s=1.0)
    running = await start_daemon(settings, sim)
    try:
        assert (await running.pair("front-desk", 2187, 1))["status"] == "success"
        browser = running.daemon.browser
        assert browser is not None
        faults = ["journal-lock"] * locks + ["hung-page"] * hangs
        rng.shuffle(faults)
        for i, fault in enumerate(faults):
            phase = LIVE_PHASES[i % len(LIVE_PHASES)] if i < len(LIVE_PHASES) else rng.choice(LIVE_PHASES)
            await wait_terminal_idle(sim)
            await wait_up(running)
            c = await running.client()
            reqs = await drive_to(phase, c, sim, rng, fault)
            if fault == "journal-lock":
                await hold_journal_lock(settings.state_dir / "claimbridge.db", rng.uniform(0.3, 2.5))
            else:
                pid = await browser.process_id()
                assert pid is not None
                await hang_renderers(pid, rng.uniform(0.5, 3.0))
            tally.kill_points[f"{fault}/{phase}"] += 1
            await wait_up(running)
            await replay(c, reqs, settle_s=8.0)
            await check(c, sim, reqs, tally)
            await c.close()
    finally:
        await stop_daemon(running)

