"""Two tasks touching one job at once: the journal's word and the fund's ledger always agree.

Real daemon, real simulator over HTTP, real SQLite file. Each race is run many rounds with the
second request's timing swept across the moment the first one ends.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from tests.daemon_harness import Client, Running, RpcError, claim_request

#: How many rounds of the abort race; the issue saw it in 2 of 12–16.
ROUNDS = 60
#: The fund's answer time (simulated ms) of the claim before the aborted one.
FUND_DELAY_MS = 2000


async def _final(c: Client, job_id: str, timeout: float = 30) -> dict[str, Any]:
    """The job once it is in a final state (completed, failed, resolved) or unknown."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        job: dict[str, Any] = await c.call("job.get", {"jobId": job_id})
        if job["state"] not in ("queued", "running") or loop.time() > deadline:
            return job
        await asyncio.sleep(0.01)


async def _journalled(c: Client, request_id: str) -> dict[str, Any]:
    """The job of ``request_id`` once the daemon has journalled it."""
    for _ in range(1000):
        try:
            job: dict[str, Any] = await c.call("job.get", {"requestId": request_id})
            return job
        except RpcError:
            await asyncio.sleep(0.002)
    raise AssertionError(f"{request_id} was never journalled")


async def _idle(c: Client) -> None:
    """Wait until no job is on the terminal or waiting for it (a refused outcome may still run)."""
    for _ in range(3000):
        terminals = await c.call("terminal.list")
        if not any(t["busy"] or t["queued"] for t in terminals):
            return
        await asyncio.sleep(0.01)


async def test_abort_a_queued_claim_as_the_one_before_it_ends(daemon: Running) -> None:
    """The PMS aborts the claim waiting behind another just as that one ends: ``aborted: true``
    only when nothing reached the fund; otherwise ``aborted: false`` and the claim's outcome is
    journalled. No claim is APPROVED at the fund while its job says failed."""
    c = await daemon.client()
    loop = asyncio.get_running_loop()
    async def poll() -> None:  # a PMS polling its jobs meanwhile, on the same connection
        while True:
            await c.call("job.list", {"limit": 50})

    pollers = [asyncio.ensure_future(poll()) for _ in range(8)]
    times = []
    for k in range(4):
        t0 = loop.time()
        await c.call("healthpoint.claim", claim_request(requestId=f"race-calibrate-{k}"))
        times.append(loop.time() - t0)
    took = sorted(times)[1]
    told: dict[str, tuple[bool, dict[str, Any]]] = {}
    delay = FUND_DELAY_MS / 1000 / daemon.sim.clock.scale

    for n in range(ROUNDS):
        await daemon.sim.scenario(fundDelayMs=FUND_DELAY_MS)
        first = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId=f"race-a-{n}")))
        second = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId=f"race-b-{n}")))
        running = await _journalled(c, f"race-a-{n}")
        queued = await _journalled(c, f"race-b-{n}")
        await c.wait_note(lambda m: m["method"] == "job.status" and m["params"]["jobId"] == running["jobId"]
                          and "fund" in str(m["params"]["message"]).lower())
        # Keep the abort at the moment the first claim ends and the worker takes the next off
        # the queue (a staircase: later after an abort in time, earlier after one too late),
        # with the client's other requests (a PMS polling) in the same lane.
        await asyncio.sleep(delay + random.uniform(-0.001, 0.001))
        abort = asyncio.ensure_future(c.call("job.abort", {"jobId": queued["jobId"]}))
        try:
            aborted = (await abort)["aborted"]
        except RpcError as exc:
            raise AssertionError(exc.error) from None
        await first
        answer = await second
        final = await _final(c, queued["jobId"])
        told[queued["jobId"]] = (aborted, answer)
        delay = max(0.0, delay + (0.0015 if answer["state"] == "failed" else -0.0015))
    for p in pollers:
        p.cancel()
    await _idle(c)
    ledger: dict[str, set[str]] = {}
    for r in await daemon.sim.ledger():
        ledger.setdefault(r["transactionId"], set()).add(r["kind"])
    wrong = []
    for job_id, (aborted, answer) in told.items():
        job = await c.call("job.get", {"jobId": job_id})
        at_fund = ledger.get(job_id, set())
        result = (job.get("result") or {}).get("result")
        if job["state"] == "failed" and at_fund:
            wrong.append(("failed in the journal, seen by the fund", job_id, aborted, sorted(at_fund)))
        if aborted and (job["state"] != "failed" or at_fund):
            wrong.append(("told aborted, yet it ran", job_id, job["state"], sorted(at_fund)))
        if aborted and job["state"] == "failed" and answer["state"] != "failed":
            wrong.append(("aborted but the caller was told otherwise", job_id, answer["state"]))
        if answer["state"] != job["state"] or (answer.get("result") or {}).get("result") != result:
            wrong.append(("the caller was told what the journal contradicts", job_id, answer["state"], job["state"]))
        if result == "APPROVED" and at_fund != {"claim"}:
            wrong.append(("approved in the journal, not at the fund", job_id, sorted(at_fund)))
    assert not wrong, f"{len(wrong)} of {ROUNDS} rounds: the fund, the caller and the journal disagree: {wrong}"
    kinds = [(a, (answer.get("result") or {}).get("result") or answer["state"]) for a, answer in told.values()]
    print("abort race outcomes:", {k: kinds.count(k) for k in set(kinds)}, "claim took", took)
    assert (True, "failed") in kinds, "no round aborted a queued claim: the sweep missed"


async def test_two_resolves_at_once_one_wins_the_other_is_told_the_job_ended(daemon: Running) -> None:
    """Two operators resolve the same ``unknown`` claim at the same moment: one answer is the
    resolved job, the other -32004 ``jobEnded`` (never -32603), and the journal holds one
    resolution."""
    c = await daemon.client()
    for n in range(10):
        await daemon.sim.scenario(result="UNKNOWN")
        job = await c.call("healthpoint.claim", claim_request(requestId=f"resolve-{n}"))
        assert job["state"] == "unknown", job
        answers = await asyncio.gather(*(
            c.request("job.resolve", {"jobId": job["jobId"], "outcome": outcome, "note": f"desk {k}"})
            for k, outcome in enumerate(("approved", "declined"))
        ))
        won = [a["result"] for a in answers if "result" in a]
        lost = [a["error"] for a in answers if "error" in a]
        assert len(won) == 1 and len(lost) == 1, answers
        assert lost[0]["code"] == -32004 and lost[0]["data"]["reason"] == "jobEnded", lost
        assert lost[0]["data"]["state"] == "resolved" and lost[0]["data"]["jobId"] == job["jobId"]
        final = await c.call("job.get", {"jobId": job["jobId"], "history": True})
        assert final["state"] == "resolved"
        assert final["result"]["resolution"]["outcome"] == won[0]["result"]["resolution"]["outcome"]
