"""Terminals: pairing and its timeout, FIFO on one terminal, two terminals at once, abort."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.daemon_harness import RpcError, Running, Sim, claim_request, make_settings, start_daemon, stop_daemon

pytestmark = pytest.mark.e2e


async def test_pairing_times_out_with_a_clear_message_then_retries(tmp_path: Path, sim: Sim) -> None:
    running = await start_daemon(make_settings(tmp_path, sim, terminals={}, pairing_timeout_s=1.0), sim)
    try:
        c = await running.client()
        result = await c.call("terminal.pair", {"terminal": "back-room", "mid": 3001, "tid": 2})
        assert result["status"] == "failure" and "Authorise POS" in result["message"]
        progress = [n["params"]["status"] for n in c.notes if n["method"] == "terminal.pairing"]
        assert progress[0] == "inProgress" and progress[-1] == "failure"
        with pytest.raises(RpcError) as err:
            await c.call("healthpoint.claim", claim_request(terminal="back-room", requestId="unpaired"))
        assert err.value.code == -32003
        retry = await running.pair("back-room", 3001, 2)
        assert retry["status"] == "success"
        listed = await c.call("terminal.list")
        assert listed == [{"name": "back-room", "mid": 3001, "tid": 2, "paired": True, "busy": False, "queued": 0,
                          "pageReady": True}]
    finally:
        await stop_daemon(running)


async def test_fifo_on_one_terminal(daemon: Running) -> None:
    c = await daemon.client()
    calls = [asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId=f"fifo-{i}"))) for i in range(3)]
    await asyncio.sleep(0)
    jobs = await asyncio.gather(*calls)
    assert all(j["state"] == "completed" for j in jobs)
    ledger = await daemon.sim.ledger()
    assert [r["transactionId"] for r in ledger] == [j["result"]["transactionId"] for j in jobs]
    started = sorted(jobs, key=lambda j: j["updatedAt"])
    assert [j["requestId"] for j in started] == ["fifo-0", "fifo-1", "fifo-2"]


async def test_two_terminals_run_in_parallel(tmp_path: Path, sim: Sim) -> None:
    terminals = {"room-a": (4001, 1), "room-b": (4002, 1)}
    running = await start_daemon(make_settings(tmp_path, sim, terminals=terminals), sim)
    try:
        for name, (mid, tid) in terminals.items():
            assert (await running.pair(name, mid, tid))["status"] == "success"
        await sim.scenario(mid=4001, tid=1, fundDelayMs=20_000)
        await sim.scenario(mid=4002, tid=1, fundDelayMs=20_000)
        c = await running.client()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        a, b = await asyncio.gather(
            c.call("healthpoint.claim", claim_request(terminal="room-a", requestId="pa")),
            c.call("healthpoint.claim", claim_request(terminal="room-b", requestId="pb")),
        )
        elapsed = loop.time() - t0
        assert a["result"]["result"] == b["result"]["result"] == "APPROVED"
        # 20 s of fund delay at the test clock's scale each; in parallel, not one after the other
        one = 20.0 / sim.clock.scale
        assert elapsed < 2 * one + 1.5
        assert {r["mid"] for r in await sim.ledger()} == {4001, 4002}
    finally:
        await stop_daemon(running)


async def test_abort_a_queued_and_a_running_job(daemon: Running) -> None:
    c = await daemon.client()
    await daemon.sim.scenario(fundDelayMs=30_000)
    first = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId="ab-1", onApproved="ask")))
    second = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId="ab-2")))
    q = await c.wait_note(lambda n: n["method"] == "job.question")
    queued = await c.call("job.get", {"requestId": "ab-2"})
    assert queued["state"] == "queued"
    assert await c.call("job.abort", {"jobId": queued["jobId"]}) == {"aborted": True}
    assert (await second)["state"] == "failed"
    # a running job is asked to stop, but not reported aborted: its outcome says what happened
    assert await c.call("job.abort", {"jobId": q["params"]["jobId"]}) == {"aborted": False}
    job = await first
    assert job["state"] == "completed" and job["result"]["result"] == "CANCELLED"
    assert [r["kind"] for r in await daemon.sim.ledger()] == ["claim", "void"]
