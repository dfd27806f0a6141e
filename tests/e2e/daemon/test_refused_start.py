"""A transaction the terminal's iClient refuses before it starts ("Transaction already in
progress.") is ``failed`` with the terminal's reason, never ``unknown``; nothing reaches the fund,
and the page is loaded again so the next claim goes through."""

from __future__ import annotations

import asyncio

import pytest

from tests.daemon_harness import FRONT_DESK, Running, claim_request

pytestmark = pytest.mark.e2e


async def test_refused_before_start_is_failed_with_the_terminals_reason(daemon: Running) -> None:
    worker = daemon.daemon.workers[FRONT_DESK[0]]
    # Something else holds iClient's one channel on this page (as an orphaned report would):
    # a pairing of another terminal that nobody authorises.
    await worker.page.start("someone-else", "pairTerminal", {"mid": FRONT_DESK[1], "tid": 99})
    c = await daemon.client()
    job = await c.call("healthpoint.claim", claim_request(requestId="refused-at-start"))
    assert job["state"] == "failed", job
    assert job["error"]["data"] == {"reason": "refusedBeforeStart", "terminalMessage": "Transaction already in progress."}
    assert "refused it before it started" in job["error"]["message"]
    assert await daemon.sim.ledger() == []
    # The page is loaded again by the supervisor: the next claim is served.
    for _ in range(200):
        if worker.ready:
            break
        await asyncio.sleep(0.05)
    again = await c.call("healthpoint.claim", claim_request(requestId="after-refusal"))
    assert again["state"] == "completed", again
    assert [r["kind"] for r in await daemon.sim.ledger()] == ["claim"]
