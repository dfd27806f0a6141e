"""A terminal's page is replaced by a fresh one every RECYCLE_AFTER transactions while idle
(Playwright keeps every frame and request of a page until its context closes): claims go on
completing, the liveness probe never mistakes the swap for a hung page, no browser restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.terminals import runner
from tests.daemon_harness import FRONT_DESK, Sim, claim_request, make_settings, start_daemon, stop_daemon

pytestmark = pytest.mark.e2e


async def test_the_page_is_recycled_between_claims_and_claims_go_on(
    tmp_path: Path, sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "RECYCLE_AFTER", 2)
    running = await start_daemon(make_settings(tmp_path, sim, page_probe_timeout_s=0.5), sim)
    try:
        assert (await running.pair(*FRONT_DESK))["status"] == "success"
        worker = running.daemon.workers[FRONT_DESK[0]]
        browser = running.daemon.browser
        assert browser is not None
        c = await running.client()
        contexts = {id(worker.page._context)}
        for i in range(7):
            job = await c.call("healthpoint.claim", claim_request(requestId=f"recycle-{i}"))
            assert job["state"] == "completed" and job["result"]["result"] == "APPROVED"
            contexts.add(id(worker.page._context))
        assert len(contexts) >= 3  # replaced after the 2nd, 4th and 6th (pairing counted too)
        assert worker.ready and browser.restarts == 0
        assert len([r for r in await sim.ledger() if r["kind"] == "claim"]) == 7
    finally:
        await stop_daemon(running)
