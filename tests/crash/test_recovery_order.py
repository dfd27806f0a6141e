"""Recovery after a restart finds the job to re-attach by the journal's order, not the clock."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_harness import FRONT_DESK, Client, RpcError, Sim, claim_request, make_settings, start_daemon, stop_daemon

pytestmark = pytest.mark.crash

WAITING = "Waiting for health fund response"


async def _settled(c: Client, job_id: str, timeout: float = 30) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        job: dict[str, Any] = await c.call("job.get", {"jobId": job_id})
        if job["state"] == "completed" or loop.time() > deadline:
            return job
        await asyncio.sleep(0.1)


async def test_clock_jumped_back_a_day_then_a_restart_reattaches_the_job_sent_last(tmp_path: Path, sim: Sim) -> None:
    """An ``unknown`` claim from "today", then the wall clock jumps back a day, then a claim is
    on the terminal when the daemon dies. By recorded time the older ``unknown`` looks newest;
    the terminal's last transaction is the second one, and that is the job re-attached."""
    settings = make_settings(tmp_path, sim, transaction_timeout_s=20)
    running = await start_daemon(settings, sim)
    assert (await running.pair(*FRONT_DESK))["status"] == "success"
    c = await running.client()
    await sim.scenario(result="UNKNOWN")
    first = await c.call("healthpoint.claim", claim_request(requestId="before-the-jump"))
    assert first["state"] == "unknown"

    sim.clock.set(now=sim.clock.now() - timedelta(days=1))
    await sim.scenario(fundDelayMs=20_000, answerTimeoutMs=3_600_000)
    call = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId="after-the-jump")))
    second: dict[str, Any] | None = None
    while second is None:
        with contextlib.suppress(RpcError):
            second = await c.call("job.get", {"requestId": "after-the-jump"})
        await asyncio.sleep(0.01)
    await c.wait_note(lambda n: n["method"] == "job.status" and n["params"]["jobId"] == second["jobId"] and n["params"]["message"] == WAITING)
    assert second["createdAt"] < first["createdAt"]  # by the clock, the older job looks newer
    # The daemon dies with the second claim at the fund (its row stays ``running``).
    running.task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await running.task
    call.cancel()
    for client in running.clients:
        with contextlib.suppress(Exception):
            await client.close()

    again = await start_daemon(settings, sim)
    try:
        c2 = await again.client()
        done = await _settled(c2, second["jobId"])
        history = (await c2.call("job.get", {"jobId": second["jobId"], "history": True}))["history"]
        assert done["state"] == "completed" and done["result"]["result"] == "APPROVED", history
        assert (await c2.call("job.get", {"jobId": first["jobId"]}))["state"] == "unknown"
        claims = [r["transactionId"] for r in await sim.ledger() if r["kind"] == "claim"]
        assert claims == [first["jobId"], second["jobId"]]  # each reached the fund once
    finally:
        await stop_daemon(again)
