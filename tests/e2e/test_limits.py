"""Limits: at most ``max_connections`` websockets (HTTP 503 beyond), ``max_in_flight`` requests
per connection (-32005 beyond), other clients served while one connection pipelines 10,000
requests, repeated refusals logged once a minute, and no log flood when file descriptors run out."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from bench.common import SubprocessDaemon
from tests.daemon_harness import FRONT_DESK, Client, Running, Sim, claim_request, make_settings, start_daemon, stop_daemon

pytestmark = pytest.mark.e2e


async def _connect(running: Running) -> Any:
    return await connect(running.daemon.url, additional_headers={"Authorization": f"Bearer {running.daemon.token}"})


async def test_connections_beyond_max_connections_get_503_and_one_log_line(
    tmp_path: Path, sim: Sim, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_daemon(make_settings(tmp_path, sim, max_connections=3), sim)
    try:
        open_ = [await _connect(running) for _ in range(3)]
        with caplog.at_level(logging.WARNING, logger="claimbridge.server"):
            for _ in range(5):
                with pytest.raises(InvalidStatus) as refused:
                    await _connect(running)
                assert refused.value.response.status_code == 503
        lines = [r for r in caplog.records if "max_connections" in r.getMessage()]
        assert len(lines) == 1
        await open_.pop().close()
        for _ in range(100):  # the server sees the close a moment later
            try:
                again = await _connect(running)
                break
            except InvalidStatus:
                await asyncio.sleep(0.02)
        c = Client(again)
        assert (await c.call("system.health"))["journal"]["ok"] is True
        await c.close()
        for ws in open_:
            await ws.close()
    finally:
        await stop_daemon(running)


async def test_requests_beyond_max_in_flight_get_minus_32005_and_nothing_is_sent(tmp_path: Path, sim: Sim) -> None:
    running = await start_daemon(make_settings(tmp_path, sim, max_in_flight=4, transaction_timeout_s=20), sim)
    try:
        assert (await running.pair(*FRONT_DESK))["status"] == "success"
        await sim.scenario(cardDelayMs=20_000)
        c = await running.client()
        futures = []
        for i in range(6):  # claims stay in flight: the first at the card, the others queued
            futures.append(asyncio.ensure_future(c.request("healthpoint.claim", claim_request(requestId=f"f-{i}"))))
            await asyncio.sleep(0)
        answers = await asyncio.gather(*futures)
        refused = [a for a in answers if "error" in a]
        assert [a["error"]["code"] for a in refused] == [-32005, -32005]
        assert all(a["error"]["data"]["retryAfterMs"] > 0 for a in refused)
        assert sorted(a["result"]["requestId"] for a in answers if "result" in a) == ["f-0", "f-1", "f-2", "f-3"]
        refused_ids = {f"f-{i}" for i in range(6)} - {a["result"]["requestId"] for a in answers if "result" in a}
        for rid in refused_ids:  # never journalled, never sent
            assert (await c.request("job.get", {"requestId": rid}))["error"]["code"] == -32002
        assert len(await sim.ledger()) == 4
    finally:
        await stop_daemon(running)


async def test_one_connection_pipelining_10000_requests_does_not_stall_another(tmp_path: Path, sim: Sim) -> None:
    running = await start_daemon(make_settings(tmp_path, sim), sim)
    try:
        flood = await _connect(running)
        other = await running.client()
        got = 0
        done = asyncio.Event()

        async def read_flood() -> None:
            nonlocal got
            async for _ in flood:
                got += 1
                if got == 10_000:
                    done.set()
                    return

        reader = asyncio.ensure_future(read_flood())
        frames = [json.dumps({"jsonrpc": "2.0", "id": i, "method": "job.list", "params": {"limit": 5}}) for i in range(10_000)]

        async def send_flood() -> None:
            for frame in frames:
                await flood.send(frame)

        sender = asyncio.ensure_future(send_flood())
        while got == 0:
            await asyncio.sleep(0.001)
        for _ in range(20):
            assert isinstance(await other.call("job.list", {"limit": 5}, timeout=10), list)
        assert got < 10_000, "the flood was over before the other client was measured"
        await asyncio.wait_for(done.wait(), 120)  # every pipelined request was answered
        await sender
        reader.cancel()
        await flood.close()
    finally:
        await stop_daemon(running)


async def test_out_of_file_descriptors_no_log_flood_and_service_comes_back(tmp_path: Path, sim: Sim) -> None:
    d = SubprocessDaemon(tmp_path / "site", sim, {FRONT_DESK[0]: FRONT_DESK[1:]})
    await d.start()
    held: list[socket.socket] = []
    try:
        assert d.proc is not None
        subprocess.run(["prlimit", f"--pid={d.proc.pid}", "--nofile=256:256"], check=True)
        size_before = d.log_path.stat().st_size
        for _ in range(400):  # the kernel queues them; the daemon cannot accept past its limit
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", d.port))
            except BlockingIOError:
                pass
            held.append(s)
        await asyncio.sleep(3)  # the accept retry runs once a second: three chances to flood
        log = d.log_path.read_text()[size_before:]
        accept_lines = [line for line in log.splitlines() if "cannot accept" in line or "accept" in line.lower()]
        assert 1 <= len(accept_lines) <= 2, log[-2000:]
        assert len(log) < 20_000
        for s in held:
            s.close()
        held.clear()
        c = None
        for _ in range(100):
            try:
                c = await d.client()
                break
            except (OSError, InvalidStatus):
                await asyncio.sleep(0.1)
        assert c is not None
        assert (await c.call("system.health"))["version"]
        await c.close()
    finally:
        for s in held:
            s.close()
        d.stop()
