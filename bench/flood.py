"""Flood: another client's latency while one connection pipelines 10,000 requests.

A daemon in its own process (so its RSS is its own); one websocket sends ``--requests``
``job.list`` frames without waiting for answers, while a second websocket calls
``system.health`` (or ``job.list``) one request at a time and times each answer. Prints the
other client's p50/p99/max, how many pipelined requests were served and how many refused with
-32005 (``max_in_flight``), and the daemon's RSS before and after.

Run ``python -m bench.flood [--requests 10000] [--method system.health]`` from the project root.
Prints figures, asserts nothing. Goal (issue 11): the other client's p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SubprocessDaemon, default_terminals, running_sim

__all__ = ["main", "percentile", "rss_kib"]


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def rss_kib(pid: int) -> int:
    """Resident set size of one process in KiB (``/proc/<pid>/status``); 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


#: The flooding client, in its own process so that its busy send loop does not slow the
#: measuring client's event loop (which would charge the daemon for the bench's own delay).
_FLOODER = r"""
import asyncio, json, sys
from websockets.asyncio.client import connect

async def main(url, token, n):
    async with connect(url, additional_headers={"Authorization": "Bearer " + token}, max_size=None) as ws:
        counts = {"result": 0, "refused": 0, "other": 0}

        async def read():
            seen = 0
            async for frame in ws:
                msg = json.loads(frame)
                code = msg.get("error", {}).get("code")
                counts["result" if "result" in msg else "refused" if code == -32005 else "other"] += 1
                seen += 1
                if seen == n:
                    return

        reader = asyncio.ensure_future(read())
        print("flooding", flush=True)
        for i in range(n):
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": i, "method": "job.list", "params": {"limit": 20}}))
        await reader
        print(json.dumps(counts), flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


async def _flood(requests: int, method: str) -> None:
    async with running_sim(scale=50.0) as sim:
        with tempfile.TemporaryDirectory(prefix="claimbridge-flood-") as tmp:
            d = SubprocessDaemon(Path(tmp), sim, default_terminals(1))
            await d.start()
            try:
                assert d.proc is not None
                other = await d.client()
                for _ in range(20):  # warm up
                    await other.call(method)
                rss_before = rss_kib(d.proc.pid)
                flooder = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", _FLOODER, d.url, d.token, str(requests), stdout=asyncio.subprocess.PIPE,
                )
                assert flooder.stdout is not None
                await flooder.stdout.readline()  # connected, sending
                start = time.perf_counter()
                finished = asyncio.ensure_future(flooder.stdout.readline())
                latencies: list[float] = []
                while not finished.done():
                    t0 = time.perf_counter()
                    await other.call(method, timeout=60)
                    latencies.append((time.perf_counter() - t0) * 1000)
                flood_s = time.perf_counter() - start
                answers = json.loads(await finished)
                await flooder.wait()
                rss_after = rss_kib(d.proc.pid)
                await other.close()
            finally:
                d.stop()
    print(f"pipelined {requests} job.list on one connection in {flood_s:.2f} s: "
          f"{answers['result']} served, {answers['refused']} refused (-32005), {answers['other']} other")
    print(f"other client's {method} during the flood: {len(latencies)} calls, "
          f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
          f"max {max(latencies):.1f} ms (goal p99 <= 50 ms)")
    print(f"daemon RSS: {rss_before / 1024:.1f} MiB before, {rss_after / 1024:.1f} MiB after")


def main(argv: list[str] | None = None) -> None:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--method", default="system.health", choices=["system.health", "job.list"])
    args = parser.parse_args(argv)
    asyncio.run(_flood(args.requests, args.method))


if __name__ == "__main__":
    main()
