"""The reconciliation report through the daemon, and draining on SIGTERM."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

import pytest

from tests.daemon_harness import RpcError, Running, claim_request

pytestmark = pytest.mark.e2e


async def test_claims_reconciliation_report_as_json(daemon: Running) -> None:
    c = await daemon.client()
    claim = await c.call("healthpoint.claim", claim_request(requestId="recon-1"))
    day = daemon.sim.clock.now().astimezone(ZoneInfo("Australia/Sydney")).date().isoformat()
    report = await c.call("healthpoint.reconciliation", {"terminal": "front-desk", "date": day, "type": "claims"})
    assert report["available"] is True and report["type"] == "claims"
    refs = {entry.get("refTag") for entry in report["claims"]}
    assert claim["result"]["refTag"] in refs
    assert report["totals"]["totalNumberClaims"] == 1


async def test_reconciliation_for_a_day_without_claims(daemon: Running) -> None:
    c = await daemon.client()
    report = await c.call("healthpoint.reconciliation", {"terminal": "front-desk", "date": "2026-01-05", "type": "claims"})
    assert report["available"] is False


async def test_sigterm_drains_new_jobs_refused_running_one_finishes(daemon: Running) -> None:
    await daemon.sim.scenario(fundDelayMs=30_000)
    c = await daemon.client()
    running = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId="drain-1")))
    await c.wait_note(lambda n: n["method"] == "job.status" and "Waiting" in n["params"]["message"])
    daemon.daemon.stop()
    await asyncio.sleep(0.05)
    with pytest.raises(RpcError) as err:
        await c.call("healthpoint.claim", claim_request(requestId="drain-2"))
    assert err.value.code == -32005
    job = await running
    assert job["state"] == "completed" and job["result"]["result"] == "APPROVED"
    await asyncio.wait_for(daemon.task, 30)
    assert [r["kind"] for r in await daemon.sim.ledger()] == ["claim"]
