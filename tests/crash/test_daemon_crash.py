"""Crashes mid-claim: the job becomes unknown, is never sent twice, and is completed through
``continueLastTransaction`` when the terminal can tell."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_harness import (
    FRONT_DESK,
    Client,
    Running,
    Sim,
    claim_request,
    make_settings,
    start_daemon,
    stop_daemon,
)

pytestmark = pytest.mark.crash

WAITING = "Waiting for health fund response"


async def _poll_state(c: Client, job_id: str, until: set[str], timeout: float = 30) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        job: dict[str, Any] = await c.call("job.get", {"jobId": job_id})
        if job["state"] in until or loop.time() > deadline:
            return job
        await asyncio.sleep(0.1)


async def test_chromium_killed_mid_claim_then_continue_last_transaction(daemon: Running) -> None:
    await daemon.sim.scenario(fundDelayMs=20_000, answerTimeoutMs=3_600_000)
    c = await daemon.client()
    call = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId="kill-chromium")))
    await c.wait_note(lambda n: n["method"] == "job.status" and n["params"]["message"] == WAITING)
    assert daemon.daemon.browser is not None
    pid = await daemon.daemon.browser.process_id()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    job = await call
    assert job["state"] == "unknown"
    final = await _poll_state(c, job["jobId"], {"completed", "resolved"})
    assert final["state"] == "completed" and final["result"]["result"] == "APPROVED"
    assert [r["kind"] for r in await daemon.sim.ledger()] == ["claim"]
    assert daemon.daemon.browser.restarts == 1


async def test_lost_response_becomes_unknown_then_completes(tmp_path: Path, sim: Sim) -> None:
    running = await start_daemon(make_settings(tmp_path, sim, transaction_timeout_s=1.5), sim)
    try:
        assert (await running.pair(*FRONT_DESK))["status"] == "success"
        await sim.scenario(dropResponse=True)
        c = await running.client()
        job = await c.call("healthpoint.claim", claim_request(requestId="dropped"))
        assert job["state"] == "unknown"
        final = await _poll_state(c, job["jobId"], {"completed"})
        assert final["state"] == "completed" and final["result"]["result"] == "APPROVED"
        assert job["error"] is not None and final["error"] is None  # the stale "unknown" error went
        again = await c.call("healthpoint.claim", claim_request(requestId="dropped"))
        assert again["jobId"] == job["jobId"]
        assert [r["kind"] for r in await sim.ledger()] == ["claim"]
    finally:
        await stop_daemon(running)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _spawn(config: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-c", "from bridge.cli import main; main()", "--config", str(config), "run"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    return proc


async def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    import httpx

    async with httpx.AsyncClient() as http:
        for _ in range(300):
            assert proc.poll() is None, (proc.stdout.read() if proc.stdout else b"").decode()
            try:
                if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("daemon not ready")


async def test_daemon_killed_mid_claim_never_claims_twice(tmp_path: Path, sim: Sim) -> None:
    from websockets.asyncio.client import connect

    port = _free_port()
    name, mid, tid = FRONT_DESK
    config = tmp_path / "claimbridge.toml"
    config.write_text(
        f'listen = "127.0.0.1:{port}"\nstate_dir = "{tmp_path / "state"}"\n'
        f'iclient_url = "{sim.base}/iclient-v1.js"\n[terminals.{name}]\nmid = {mid}\ntid = {tid}\n'
    )
    url = f"ws://127.0.0.1:{port}/v1"
    proc = await _spawn(config)
    try:
        await _wait_ready(port, proc)
        token = (tmp_path / "state" / "token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}

        async def client() -> Client:
            return Client(await connect(url, additional_headers=headers))

        c = await client()
        pairing = asyncio.ensure_future(c.call("terminal.pair", {"terminal": name, "mid": mid, "tid": tid}))
        while not pairing.done():
            await asyncio.sleep(0.05)
            if await sim.authorise(mid, tid) < 300:
                break
        assert (await pairing)["status"] == "success"

        await sim.scenario(fundDelayMs=20_000, answerTimeoutMs=3_600_000)
        params = claim_request(requestId="kill-daemon")
        call = asyncio.ensure_future(c.call("healthpoint.claim", params))
        await c.wait_note(lambda n: n["method"] == "job.status" and n["params"]["message"] == WAITING)
        proc.kill()
        proc.wait(10)
        call.cancel()

        proc = await _spawn(config)
        await _wait_ready(port, proc)
        c2 = await client()
        job = await c2.call("job.get", {"requestId": "kill-daemon"})
        assert job["state"] in ("unknown", "completed")
        final = await _poll_state(c2, job["jobId"], {"completed"})
        assert final["state"] == "completed"
        # replaying the client's request returns the same job, and the fund saw one claim
        again = await c2.call("healthpoint.claim", params)
        assert again["jobId"] == job["jobId"]
        assert [r["kind"] for r in await sim.ledger()] == ["claim"]
        await c2.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
