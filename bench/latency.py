"""Claim latency through the daemon vs the same claim from a PMS page calling the simulator's
iClient directly (fixtures/pms/pms-page.html in its own headless Chromium). Zero card and fund
delay (scenario ``cardDelayMs=0, fundDelayMs=0``, and a patient who may take a minute to
answer) and a large clock scale, so what is left is
the software path. Also prints claims per minute through the daemon on one terminal.

Run ``python -m bench.latency [--claims 40] [--rounds 3]`` from the project root. Each round
starts both sides afresh (a daemon process and a PMS page, each on its own simulator) and
interleaves them claim by claim (direct, daemon, daemon, direct, …), so a machine that speeds
up or slows down hits both alike; the median of the rounds' ratios is the figure (one good round
cannot pass). Prints figures, asserts nothing.
Goal (issue 19): ratio daemon/direct <= 1.15 and <= 5 ms added at p50.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web
from playwright.async_api import Page, async_playwright

from bench.common import ROOT, SubprocessDaemon, default_terminals, running_sim
from bridge import healthpoint
from bridge.config import BrowserConfig
from bridge.protocol import ClaimParams
from bridge.browser.page import launch_args
from tests.daemon_harness import FRONT_DESK, Client, Sim, claim_request

__all__ = ["ANSWER_TIMEOUT_S", "DaemonSide", "DirectSide", "SCALE", "main", "percentile"]

SCALE = 1000.0


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


#: Real seconds the simulated patient may take to answer the approval question. The default
#: (120 s of simulator time) is 120 ms of real time at x1000: on a loaded machine either side
#: may answer later than that, and the claim would end CANCELLED for a reason that is not the
#: software path. Long enough for both sides, so a round measures and never aborts.
ANSWER_TIMEOUT_S = 60.0


async def _zero_delay(sim: Sim) -> None:
    await sim.scenario(cardDelayMs=0, fundDelayMs=0, answerTimeoutMs=round(ANSWER_TIMEOUT_S * SCALE * 1000))


class DaemonSide:
    """Claims through a daemon process on its own simulator."""

    def __init__(self, sim: Sim, workdir: Path) -> None:
        self.sim = sim
        self.daemon = SubprocessDaemon(workdir, sim, default_terminals(1))
        self.client: Client | None = None

    async def __aenter__(self) -> DaemonSide:
        await self.daemon.start()
        await self.daemon.pair_all()
        self.client = await self.daemon.client()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.client is not None:
            await self.client.close()
        self.daemon.stop()

    async def claim(self, request_id: str) -> float:
        """One claim's latency (s), from the request sent to the answer read."""
        if self.client is None:
            raise RuntimeError("not started")
        await _zero_delay(self.sim)
        start = time.perf_counter()
        job = await self.client.call("healthpoint.claim", claim_request(requestId=request_id))
        elapsed = time.perf_counter() - start
        if job["result"]["result"] != "APPROVED":
            raise RuntimeError(f"claim not approved: {job}")
        return elapsed


class DirectSide:
    """The same claim from a PMS page calling the simulator's iClient itself
    (fixtures/pms/pms-page.html in its own headless Chromium, with the daemon's flags)."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self._stack = contextlib.AsyncExitStack()
        self.page: Page | None = None
        name, self.mid, self.tid = FRONT_DESK
        self.request = {
            **healthpoint.to_iclient_claim(ClaimParams.model_validate(claim_request()), None),
            "mid": self.mid, "tid": self.tid,
        }

    async def __aenter__(self) -> DirectSide:
        pms_app = web.Application()
        pms_app.router.add_static("/", ROOT / "fixtures" / "pms")
        runner = web.AppRunner(pms_app)
        await runner.setup()
        self._stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        pms_base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        pw = await self._stack.enter_async_context(async_playwright())
        browser = await pw.chromium.launch(executable_path=BrowserConfig().executable_path, args=launch_args())
        self._stack.push_async_callback(browser.close)
        page = await browser.new_page()
        await page.goto(f"{pms_base}/pms-page.html?sim={self.sim.base}/")
        await page.wait_for_function("window.pms && window.pms.ready")
        pairing = asyncio.ensure_future(page.evaluate("([m, t]) => window.pms.pair(m, t)", [self.mid, self.tid]))
        while not pairing.done():
            await asyncio.sleep(0.02)
            if await self.sim.authorise(self.mid, self.tid) < 300:
                break
        await pairing
        self.page = page
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def claim(self, request_id: str) -> float:
        if self.page is None:
            raise RuntimeError("not started")
        await _zero_delay(self.sim)
        start = time.perf_counter()
        out: dict[str, Any] = await self.page.evaluate("r => window.pms.claim(r, {answer: 'ACCEPT'})", self.request)
        elapsed = time.perf_counter() - start
        if out["response"]["result"] != "APPROVED":
            raise RuntimeError(f"claim not approved: {out}")
        return elapsed


async def _round(n: int, claims: int) -> tuple[list[float], list[float], float]:
    """Both sides up at once, each on its own simulator; claims alternate one by one (who goes
    first alternating too), so a machine that speeds up or slows down hits both alike."""
    warm_up = 3
    async with running_sim(scale=SCALE) as direct_sim, running_sim(scale=SCALE) as daemon_sim:
        with tempfile.TemporaryDirectory(prefix="claimbridge-latency-") as tmp:
            async with DirectSide(direct_sim) as direct, DaemonSide(daemon_sim, Path(tmp)) as daemon:
                direct_times: list[float] = []
                daemon_times: list[float] = []
                sides: list[tuple[Callable[[str], Awaitable[float]], list[float]]] = [
                    (direct.claim, direct_times), (daemon.claim, daemon_times),
                ]
                for i in range(warm_up + claims):
                    for claim, times in sides if i % 2 == 0 else reversed(sides):
                        elapsed = await claim(f"lat-{n}-{i}")
                        if i >= warm_up:
                            times.append(elapsed)
                start = time.perf_counter()
                for i in range(claims):
                    await daemon.claim(f"tp-{n}-{i}")
                per_minute = claims / (time.perf_counter() - start) * 60
    return direct_times, daemon_times, per_minute


async def _main(claims: int, rounds: int) -> None:
    ratios, added, throughput = [], [], []
    for n in range(1, rounds + 1):
        direct_times, bridge_times, per_minute = await _round(n, claims)
        d50, b50 = statistics.median(direct_times), statistics.median(bridge_times)
        ratios.append(b50 / d50)
        added.append((b50 - d50) * 1000)
        throughput.append(per_minute)
        print(
            f"round {n}: direct p50 {d50 * 1000:6.1f} ms p95 {percentile(direct_times, 95) * 1000:6.1f} ms | "
            f"daemon p50 {b50 * 1000:6.1f} ms p95 {percentile(bridge_times, 95) * 1000:6.1f} ms | "
            f"ratio {ratios[-1]:.2f}, added {added[-1]:.1f} ms, {per_minute:.0f} claims/min"
        )
    print(
        f"median of {rounds} rounds: ratio p50 {statistics.median(ratios):.2f} "
        f"(min {min(ratios):.2f}, max {max(ratios):.2f}), added at p50 {statistics.median(added):.1f} ms "
        f"(goals: <= 1.15, <= 5 ms); throughput {statistics.median(throughput):.0f} claims/minute "
        f"(one terminal, zero delays, clock x{SCALE:.0f})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="claim latency: daemon vs direct iClient")
    parser.add_argument("--claims", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3, help="rounds (each interleaving both sides claim by claim); the median is reported")
    args = parser.parse_args(argv)
    asyncio.run(_main(args.claims, args.rounds))


if __name__ == "__main__":
    main()
