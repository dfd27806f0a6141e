"""Soak: does memory grow with the number of claims served?

One daemon in its own process, one paired terminal, the simulator's clock x1000 and every
delay zero; claims are sent back to back (a few in flight) and answered at once. PSS is summed
over the daemon's whole process tree (the daemon, Playwright's node driver, every Chromium
process) after ``--first`` claims and after ``--claims``; the daemon's own RSS likewise.

Run ``python -m bench.soak --claims 5000`` from the project root. It prints figures and asserts
nothing; the last line is ``PSS after 500 claims: A MiB; after 5000 claims: B MiB``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SubprocessDaemon, comm, default_terminals, process_tree, pss_kib, running_sim
from bench.flood import rss_kib
from tests.daemon_harness import Client, RpcError, claim_request

__all__ = ["main", "soak"]


def _tree_pss(pid: int) -> int:
    return sum(pss_kib(p) for p in process_tree(pid))


def _by_process(pid: int) -> dict[str, int]:
    """PSS in KiB by process (name and pid), for finding what grows."""
    return {f"{comm(p)}[{p}]": pss_kib(p) for p in process_tree(pid)}


async def _claims(c: Client, count: int, in_flight: int, counter: itertools.count[int]) -> None:
    """``count`` claims, ``in_flight`` at a time; each must complete (a -32005 is retried)."""
    gate = asyncio.Semaphore(in_flight)

    async def one() -> None:
        n = next(counter)
        params = claim_request(requestId=f"soak-{n}", onApproved="accept")
        params["items"] = [dict(params["items"][0], claimAmount=10_000 + n), params["items"][1]]
        async with gate:
            for _ in range(100):
                try:
                    job = await c.call("healthpoint.claim", params, timeout=120)
                    break
                except RpcError as exc:
                    if exc.code != -32005:
                        raise
                    await asyncio.sleep(0.2)
            if job["state"] != "completed":
                raise RuntimeError(f"claim {n}: {job['state']} {job.get('error')}")

    for start in range(0, count, 200):
        await asyncio.gather(*(one() for _ in range(min(200, count - start))))
        c.notes.clear()  # the bench's own client keeps every notification otherwise


async def soak(claims: int, first: int, in_flight: int, settle_s: float, keep: Path | None = None) -> dict[str, float]:
    """Serve ``claims`` claims; PSS (tree) and RSS (daemon) in KiB after ``first`` and at the end."""
    async with running_sim(scale=1000.0) as sim:
        await sim.scenario(cardDelayMs=0, fundDelayMs=0)
        with tempfile.TemporaryDirectory(prefix="claimbridge-soak-") as tmp:
            d = SubprocessDaemon(keep or Path(tmp), sim, default_terminals(1))
            await d.start()
            try:
                await d.pair_all()
                assert d.proc is not None
                c = await d.client()
                counter = itertools.count(1)
                started = time.monotonic()
                await _claims(c, first, in_flight, counter)
                await asyncio.sleep(settle_s)
                out = {"pss_first": float(_tree_pss(d.proc.pid)), "rss_first": float(rss_kib(d.proc.pid))}
                print(f"after {first} claims: PSS {out['pss_first'] / 1024:.1f} MiB, "
                      f"daemon RSS {out['rss_first'] / 1024:.1f} MiB", flush=True)
                before = _by_process(d.proc.pid)
                middle = (claims - first) // 2
                await _claims(c, middle, in_flight, counter)
                await asyncio.sleep(settle_s)
                print(f"after {first + middle} claims: PSS {_tree_pss(d.proc.pid) / 1024:.1f} MiB, "
                      f"daemon RSS {rss_kib(d.proc.pid) / 1024:.1f} MiB", flush=True)
                await _claims(c, claims - first - middle, in_flight, counter)
                await asyncio.sleep(settle_s)
                out.update(pss_last=float(_tree_pss(d.proc.pid)), rss_last=float(rss_kib(d.proc.pid)),
                           seconds=time.monotonic() - started)
                after = _by_process(d.proc.pid)
                for name in sorted(set(before) | set(after), key=lambda n: -(after.get(n, 0) - before.get(n, 0))):
                    grew = (after.get(name, 0) - before.get(name, 0)) / 1024
                    if abs(grew) >= 1:
                        print(f"    {name:32s} {before.get(name, 0) / 1024:7.1f} -> {after.get(name, 0) / 1024:7.1f} MiB")
                await c.close()
                return out
            finally:
                d.stop()


def main(argv: list[str] | None = None) -> None:
    """Command line entry: run the soak and print the figures."""
    parser = argparse.ArgumentParser(description="memory over many claims")
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--first", type=int, default=500, help="claims before the first reading")
    parser.add_argument("--in-flight", type=int, default=4)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of quiet before each reading")
    parser.add_argument("--keep", type=Path, help="run the daemon in this folder and keep it (its log, its journal)")
    args = parser.parse_args(argv)
    r = asyncio.run(soak(args.claims, min(args.first, args.claims), args.in_flight, args.settle, args.keep))
    mib = 1024.0
    print(f"{args.claims} claims in {r['seconds']:.0f} s")
    print(f"daemon RSS after {args.first} claims: {r['rss_first'] / mib:.1f} MiB; "
          f"after {args.claims} claims: {r['rss_last'] / mib:.1f} MiB")
    print(f"PSS after {args.first} claims: {r['pss_first'] / mib:.1f} MiB; after {args.claims} claims: {r['pss_last'] / mib:.1f} MiB")


if __name__ == "__main__":
    main()
