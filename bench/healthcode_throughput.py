"""Healthcode bills submitted per second, end to end, on this machine (goal: at least 100/s).

Starts the simulator (in this process, on a free port of 127.0.0.1, clock at real speed) and a
daemon with Healthcode on (journal in a temporary folder, no terminals), then submits N bills
concurrently over several websocket connections with ``healthcode.submit``. A submit returns
once Healthcode holds the bill (the job is ``running``, ``Unprocessed``), so each latency
covers: JSON-RPC, pre-flight validation, two journal commits and the HTTP submit. With
``--member-check`` (``[healthcode] member_check = true``, V2 credentials of the simulator's
stand-in) each submit also runs Find Member over HTTP before it is journalled.

Prints figures; asserts nothing about time. Run::

    .venv/bin/python bench/healthcode_throughput.py [--bills 1000] [--connections 8] [--in-flight 64] [--member-check]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.config import HealthcodeConfig, Settings  # noqa: E402
from bridge.daemon import Daemon  # noqa: E402
from simulator.app import create_app  # noqa: E402
from simulator.clock import Clock  # noqa: E402

__all__: list[str] = []

BILL = json.loads((ROOT / "fixtures" / "healthcode" / "bills" / "valid_bupa.json").read_text())


class _Rpc:
    """A JSON-RPC client on one websocket (responses matched by id; notifications dropped)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._next = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="bench-reader")

    async def _read(self) -> None:
        async for frame in self.ws:
            msg = json.loads(frame)
            rid = msg.get("id") if isinstance(msg, dict) else None
            fut = self._pending.pop(rid, None) if isinstance(rid, int) else None
            if fut is not None and not fut.done():
                fut.set_result(msg)

    async def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next += 1
        rid = self._next
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        await self.ws.send(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}))
        answer: dict[str, Any] = await fut
        return answer

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


def _bill(n: int) -> dict[str, Any]:
    bill: dict[str, Any] = copy.deepcopy(BILL)
    bill["invoiceNumber"] = f"B{n:07d}"
    return bill


async def _bench(args: argparse.Namespace, state_dir: Path) -> None:
    clock = Clock(scale=1.0)
    runner = web.AppRunner(create_app(clock))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    password = state_dir / "healthcode-password"
    password.write_text("healthcode-test\n")
    os.chmod(password, 0o600)
    v2: dict[str, Any] = {}
    if args.member_check:
        key = state_dir / "healthcode-api-key"
        key.write_text("healthcode-v2-test\n")
        os.chmod(key, 0o600)
        v2 = {"api_key_id": "claimbridge-v2", "api_key_file": key, "member_check": True}
    settings = Settings(
        state_dir=state_dir,
        listen="127.0.0.1:0",
        iclient_url=f"{base}/iclient-v1.js",
        terminals={},
        healthcode=HealthcodeConfig(
            url=f"{base}/healthcode/", site_id="SIM001", user_id="claimbridge", password_file=password,
            concurrency=args.concurrency, submit_wait_s=120, **v2,
        ),
    )
    daemon = Daemon(settings)
    task = asyncio.get_running_loop().create_task(daemon.run(install_signals=False), name="bench-daemon")
    await asyncio.wait({task, asyncio.ensure_future(daemon.ready.wait())}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    clients = [
        _Rpc(await connect(daemon.url, compression=None,
                           additional_headers={"Authorization": f"Bearer {daemon.token}"}))
        for _ in range(args.connections)
    ]
    # Warm up (imports, connection pool, SQLite pages) outside the measurement.
    await clients[0].call("healthcode.submit", {"requestId": "warm-up", "bill": _bill(9_999_999)})

    gate = asyncio.Semaphore(args.in_flight)
    latencies: list[float] = []
    failures: list[dict[str, Any]] = []

    async def one(n: int) -> None:
        async with gate:
            started = time.perf_counter()
            answer = await clients[n % len(clients)].call(
                "healthcode.submit", {"requestId": f"bench-{n}", "bill": _bill(n)}
            )
            latencies.append(time.perf_counter() - started)
            job = answer.get("result") or {}
            if job.get("state") != "running":
                failures.append(answer)

    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(args.bills)))
    elapsed = time.perf_counter() - began

    for c in clients:
        await c.close()
    daemon.stop()
    await task
    await runner.cleanup()

    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    print(f"bills submitted     {args.bills} over {args.connections} websocket(s), {args.in_flight} in flight, "
          f"{args.concurrency} Healthcode submitters, member_check {'on' if args.member_check else 'off'}")
    print(f"elapsed             {elapsed:.2f} s")
    print(f"throughput          {args.bills / elapsed:.1f} bills/s   (goal >= 100)")
    print(f"submit latency      p50 {statistics.median(latencies) * 1000:.1f} ms   "
          f"p95 {p95 * 1000:.1f} ms   max {latencies[-1] * 1000:.1f} ms")
    print(f"not running         {len(failures)}" + (f"  first: {failures[0]}" if failures else ""))
    print(f"journal             {state_dir / 'claimbridge.db'}")


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bills", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=16, help="[healthcode] concurrency")
    parser.add_argument("--member-check", action="store_true",
                        help="[healthcode] member_check = true: Find Member before each submit")
    parser.add_argument("--state-dir", type=Path, help="journal folder (default: a temporary one)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.state_dir is not None:
        args.state_dir.mkdir(parents=True, exist_ok=True)
        asyncio.run(_bench(args, args.state_dir))
        return
    with tempfile.TemporaryDirectory(prefix="claimbridge-bench-") as tmp:
        asyncio.run(_bench(args, Path(tmp)))


if __name__ == "__main__":
    main()
