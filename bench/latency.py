"""Claim latency through the daemon vs the same claim from a PMS page calling the simulator's
iClient directly (fixtures/pms/pms-page.html in its own headless Chromium). Zero card and fund
delay (scenario ``cardDelayMs=0, fundDelayMs=0``) and a large clock scale, so what is left is
the software path. Also prints claims per minute through the daemon on one terminal.

Run ``python -m bench.latency [--claims 40] [--rounds 3]`` from the project root: rounds of a
direct run then a daemon run, interleaved so a drifting machine hits both alike; the median of
the rounds' ratios is the figure (one good run cannot pass). Prints figures, asserts nothing.
Goal: ratio daemon/direct <= 1.2 and <= 10 ms added at p50.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web
from playwright.async_api import async_playwright

from bench.common import ROOT, SubprocessDaemon, default_terminals, running_sim
from bridge import healthpoint
from bridge.config import BrowserConfig
from bridge.protocol import ClaimParams
from bridge.terminal import launch_args
from tests.daemon_harness import FRONT_DESK, Sim, claim_request

__all__ = ["main", "percentile"]

SCALE = 1000.0


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def _zero_delay(sim: Sim) -> None:
    await sim.scenario(cardDelayMs=0, fundDelayMs=0)


async def through_daemon(sim: Sim, claims: int) -> tuple[list[float], float]:
    """Latencies (s) of claims through a daemon process, and claims per minute back to back."""
    with tempfile.TemporaryDirectory(prefix="claimbridge-latency-") as tmp:
        d = SubprocessDaemon(Path(tmp), sim, default_terminals(1))
        await d.start()
        try:
            await d.pair_all()
            c = await d.client()
            times = []
            for i in range(claims + 3):
                await _zero_delay(sim)
                start = time.perf_counter()
                job = await c.call("healthpoint.claim", claim_request(requestId=f"lat-{i}"))
                elapsed = time.perf_counter() - start
                assert job["result"]["result"] == "APPROVED", job
                if i >= 3:  # warm-up
                    times.append(elapsed)
            start = time.perf_counter()
            for i in range(claims):
                await _zero_delay(sim)
                await c.call("healthpoint.claim", claim_request(requestId=f"tp-{i}"))
            per_minute = claims / (time.perf_counter() - start) * 60
            await c.close()
            return times, per_minute
        finally:
            d.stop()


async def direct(sim: Sim, claims: int) -> list[float]:
    """Latencies (s) of the same claims from a PMS page calling iClient itself."""
    pms_app = web.Application()
    pms_app.router.add_static("/", ROOT / "fixtures" / "pms")
    runner = web.AppRunner(pms_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    pms_base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    name, mid, tid = FRONT_DESK
    request = healthpoint.to_iclient_claim(ClaimParams.model_validate(claim_request()), None)
    try:
        async with async_playwright() as pw:
            # The daemon's own flags, so that both sides run the same Chromium.
            browser = await pw.chromium.launch(executable_path=BrowserConfig().executable_path, args=launch_args())
            page = await browser.new_page()
            await page.goto(f"{pms_base}/pms-page.html?sim={sim.base}/")
            await page.wait_for_function("window.pms && window.pms.ready")
            pairing = asyncio.ensure_future(page.evaluate("([m, t]) => window.pms.pair(m, t)", [mid, tid]))
            while not pairing.done():
                await asyncio.sleep(0.02)
                if await sim.authorise(mid, tid) < 300:
                    break
            await pairing
            times = []
            for i in range(claims + 3):
                await _zero_delay(sim)
                start = time.perf_counter()
                out: dict[str, Any] = await page.evaluate(
                    "r => window.pms.claim(r, {answer: 'ACCEPT'})", {**request, "mid": mid, "tid": tid})
                elapsed = time.perf_counter() - start
                assert out["response"]["result"] == "APPROVED", out
                if i >= 3:
                    times.append(elapsed)
            await browser.close()
            return times
    finally:
        await runner.cleanup()


async def _round(claims: int) -> tuple[list[float], list[float], float]:
    """One direct run then one daemon run, each against a fresh simulator."""
    async with running_sim(scale=SCALE) as sim:
        direct_times = await direct(sim, claims)
    async with running_sim(scale=SCALE) as sim:
        bridge_times, per_minute = await through_daemon(sim, claims)
    return direct_times, bridge_times, per_minute


async def _main(claims: int, rounds: int) -> None:
    ratios, added, throughput = [], [], []
    for n in range(1, rounds + 1):
        direct_times, bridge_times, per_minute = await _round(claims)
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
        f"median of {rounds} interleaved rounds: ratio p50 {statistics.median(ratios):.2f} "
        f"(min {min(ratios):.2f}, max {max(ratios):.2f}), added at p50 {statistics.median(added):.1f} ms "
        f"(goals: <= 1.2, <= 10 ms); throughput {statistics.median(throughput):.0f} claims/minute "
        f"(one terminal, zero delays, clock x{SCALE:.0f})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="claim latency: daemon vs direct iClient")
    parser.add_argument("--claims", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved direct/daemon rounds; the median is reported")
    args = parser.parse_args(argv)
    asyncio.run(_main(args.claims, args.rounds))


if __name__ == "__main__":
    main()
