"""healthpoint.reconcile and the automatic runs, end to end: real Chromium, simulator, SQLite.

An unknown claim is made by losing the terminal's answer (``dropResponse``) on a terminal that
then forgets it (``noLastTransaction``), so ``continueLastTransaction`` cannot settle it and only
the fund's claims report can. A claim behind the daemon's back is made by a PMS page (fixtures/pms)
in its own Chromium, on the same terminal with the same pairing keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Page, async_playwright

from bridge import healthpoint
from bridge.config import ReconciliationConfig
from bridge.protocol import ClaimParams, ReconcileResult
from tests.daemon_harness import (
    FRONT_DESK, Client, RpcError, Running, Sim, claim_request, make_settings, start_daemon, stop_daemon,
)

pytestmark = pytest.mark.e2e

PMS_DIR = Path(__file__).resolve().parents[3] / "fixtures" / "pms"
CHROMIUM = "/usr/bin/chromium-headless-shell"
DAY = "2026-11-23"  # the harness's Monday in Sydney


async def _unknown_claim(c: Client, sim: Sim, request_id: str) -> dict[str, Any]:
    await sim.scenario(dropResponse=True, noLastTransaction=True)
    job = await c.call("healthpoint.claim", claim_request(requestId=request_id))
    assert job["state"] == "unknown"
    return job


async def _get(c: Client, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = await c.call("job.get", {"jobId": job_id, "history": True})
    return job


@pytest.fixture
async def fast(tmp_path: Path, sim: Sim) -> AsyncIterator[Running]:
    """A daemon whose transactions time out in 1.5 s (a lost answer becomes unknown quickly)."""
    running = await start_daemon(make_settings(tmp_path, sim, transaction_timeout_s=1.5), sim)
    assert (await running.pair(*FRONT_DESK))["status"] == "success"
    yield running
    await stop_daemon(running)


class PmsPage:
    """fixtures/pms/pms-page.html in its own headless Chromium: a PMS driving iClient itself."""

    def __init__(self, page: Page, keys: dict[str, Any]) -> None:
        self.page = page
        self.keys = keys

    async def claim(self, params: dict[str, Any]) -> dict[str, Any]:
        request = healthpoint.to_iclient_claim(ClaimParams.model_validate(params), None)
        request.update(self.keys)
        outcome: dict[str, Any] = await self.page.evaluate(
            "(r) => window.pms.claim(r, {answer: 'ACCEPT'})", request
        )
        return outcome


@pytest.fixture
async def pms_page(fast: Running) -> AsyncIterator[PmsPage]:
    app = web.Application()
    app.router.add_static("/", PMS_DIR)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    assert fast.daemon.journal is not None
    pairing = await fast.daemon.journal.pairing(FRONT_DESK[0])
    assert pairing is not None
    keys = {"mid": str(pairing.mid), "tid": str(pairing.tid), "integrationKey": pairing.integration_key}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page()
        await page.goto(f"http://127.0.0.1:{port}/pms-page.html?sim={fast.sim.base}/")
        await page.wait_for_function("window.pms && (window.pms.ready || window.pms.loadError)")
        yield PmsPage(page, keys)
        await browser.close()
    await runner.cleanup()


async def test_an_unknown_claim_is_settled_by_the_report(fast: Running) -> None:
    c = await fast.client()
    job = await _unknown_claim(c, fast.sim, "rc-1")
    assert job["error"] is not None
    out = await c.call("healthpoint.reconcile", {"terminal": "front-desk", "date": DAY})
    ledger = await fast.sim.ledger()
    assert [r["kind"] for r in ledger] == ["claim"]
    ReconcileResult.model_validate(out)
    assert out["available"] is True and out["ambiguous"] == [] and out["discrepancies"] == []
    (settled,) = out["settled"]
    assert settled["jobId"] == job["jobId"] and settled["state"] == "completed"
    assert settled["refTag"] == ledger[0]["refTag"]
    final = await _get(c, job["jobId"])
    r = final["result"]
    assert final["state"] == "completed" and final["error"] is None
    assert r["source"] == "reconciliation" and r["result"] == "APPROVED" and r["refTag"] == ledger[0]["refTag"]
    assert r["totalBenefit"] == ledger[0]["totalBenefit"] == 12060 and r["gap"] == 20100 - 12060
    assert any(e["event"] == "state" and "claims report" in e.get("message", "") for e in final["history"])
    assert out["totals"]["fund"] == out["totals"]["journal"] == {"claims": 1, "claimed": 20100, "benefit": 12060}
    # A second run finds nothing left to do, and no discrepancy.
    again = await c.call("healthpoint.reconcile", {"terminal": "front-desk", "date": DAY})
    assert again["settled"] == [] and again["discrepancies"] == [] and again["ambiguous"] == []


async def test_a_claim_behind_the_daemons_back_is_not_in_journal(fast: Running, pms_page: PmsPage) -> None:
    c = await fast.client()
    ours = await c.call("healthpoint.claim", claim_request(requestId="rc-2"))
    theirs = await pms_page.claim(claim_request(items=[{
        "claimAmount": 5000, "serviceCode": "500", "description": "Consult", "patientId": "02", "serviceDate": DAY,
    }]))
    assert theirs["response"]["result"] == "APPROVED"
    out = await c.call("healthpoint.reconcile", {"terminal": "front-desk", "date": DAY})
    assert [(d["kind"], d["refTag"]) for d in out["discrepancies"]] == [
        ("notInJournal", theirs["response"]["healthpointRefTag"])
    ]
    ReconcileResult.model_validate(out)  # the answer has the protocol's shape
    assert out["settled"] == [] and ours["result"]["refTag"] != theirs["response"]["healthpointRefTag"]
    assert out["totals"]["fund"]["claims"] == 2 and out["totals"]["journal"]["claims"] == 1


async def test_two_candidate_rows_leave_the_claim_unknown(fast: Running, pms_page: PmsPage) -> None:
    c = await fast.client()
    await fast.sim.scenario(dropResponse=True, noLastTransaction=True)
    call = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId="rc-3")))
    for _ in range(500):  # the fund has answered (and the answer is lost): the terminal is free
        if await fast.sim.ledger():
            break
        await asyncio.sleep(0.01)
    same = await pms_page.claim(claim_request())  # same provider and amount, same minute
    assert same["response"]["result"] == "APPROVED"
    job = await call
    assert job["state"] == "unknown"
    out = await c.call("healthpoint.reconcile", {"terminal": "front-desk", "date": DAY})
    tags = sorted(r["refTag"] for r in await fast.sim.ledger())
    assert out["settled"] == []
    assert out["ambiguous"] == [{"jobId": job["jobId"], "refTags": tags}]
    assert out["discrepancies"] == []
    assert (await _get(c, job["jobId"]))["state"] == "unknown"


async def test_a_day_without_a_report(fast: Running) -> None:
    c = await fast.client()
    out = await c.call("healthpoint.reconcile", {"terminal": "front-desk", "date": "2026-11-20"})
    assert out["available"] is False and out["settled"] == [] and out["discrepancies"] == []
    report = await c.call("healthpoint.reconciliation", {"terminal": "front-desk", "date": "2026-11-20", "type": "claims"})
    assert report["available"] is False and report["message"] == "No report created."


async def test_the_automatic_run_settles_an_unknown_claim(tmp_path: Path, sim: Sim) -> None:
    settings = make_settings(
        tmp_path, sim, transaction_timeout_s=1.5, reconciliation=ReconciliationConfig(retry_s=0.3)
    )
    running = await start_daemon(settings, sim)
    try:
        assert (await running.pair(*FRONT_DESK))["status"] == "success"
        watcher = await running.client()
        await watcher.call("events.subscribe", {"topics": ["reconciliation.done", "job.updated"]})
        c = await running.client()
        job = await _unknown_claim(c, sim, "rc-4")
        done = await watcher.wait_note(
            lambda n: n["method"] == "job.updated" and n["params"]["job"]["jobId"] == job["jobId"]
            and n["params"]["job"]["state"] == "completed",
            timeout=20,
        )
        assert done["params"]["job"]["result"]["source"] == "reconciliation"
        note = await watcher.wait_note(lambda n: n["method"] == "reconciliation.done" and n["params"]["settled"] == 1)
        assert {k: v for k, v in note["params"].items() if k != "seq"} == {"terminal": "front-desk", "date": DAY, "settled": 1, "discrepancies": 0}
        assert note["params"]["seq"] > 0
        assert [r["kind"] for r in await sim.ledger()] == ["claim"]
    finally:
        await stop_daemon(running)


async def test_an_unknown_cancel_is_settled_by_the_report(fast: Running) -> None:
    c = await fast.client()
    claim = await c.call("healthpoint.claim", claim_request(requestId="rc-5"))
    await fast.sim.scenario(dropResponse=True, noLastTransaction=True)
    cancel = await c.call("healthpoint.cancel", {"requestId": "rc-5-x", "claimJobId": claim["jobId"]})
    assert cancel["state"] == "unknown"
    with pytest.raises(RpcError) as err:  # a cancel whose outcome is unknown blocks another one
        await c.call("healthpoint.cancel", {"requestId": "rc-5-y", "claimJobId": claim["jobId"]})
    assert err.value.code == -32004
    out = await c.call("healthpoint.reconcile", {"terminal": "front-desk", "date": DAY})
    assert [s["jobId"] for s in out["settled"]] == [cancel["jobId"]] and out["discrepancies"] == []
    final = await _get(c, cancel["jobId"])
    assert final["state"] == "completed" and final["result"]["result"] == "CANCELLED" and final["error"] is None
    assert final["result"]["refTag"] == claim["result"]["refTag"]
    assert [r["kind"] for r in await fast.sim.ledger()] == ["claim", "cancel"]


async def test_the_daily_run_reconciles_the_previous_day_at_daily_at(tmp_path: Path, sim: Sim) -> None:
    from datetime import datetime

    from bridge.healthpoint import SYDNEY

    # Two simulated minutes before 07:00, the clock all but stopped until the daemon has started
    # and paired (pairing waits for an event, not for time): on a loaded machine a start at
    # full speed could pass 07:00, and a daemon started after daily_at waits for tomorrow's.
    scale = sim.clock.scale
    sim.clock.set(now=datetime(2026, 11, 23, 6, 58, tzinfo=SYDNEY), scale=0.001)
    settings = make_settings(tmp_path, sim, reconciliation=ReconciliationConfig(daily_at="07:00", retry_s=0.2))
    running = await start_daemon(settings, sim)
    try:
        watcher = await running.client()
        await watcher.call("events.subscribe", {"topics": ["reconciliation.done"]})
        assert (await running.pair(*FRONT_DESK))["status"] == "success"
        sim.clock.set(scale=scale)
        note = await watcher.wait_note(lambda n: n["method"] == "reconciliation.done", timeout=30)
        assert {k: v for k, v in note["params"].items() if k != "seq"} == {"terminal": "front-desk", "date": "2026-11-22", "settled": 0, "discrepancies": 0}
        assert sim.clock.now() >= datetime(2026, 11, 23, 7, 0, tzinfo=SYDNEY)
    finally:
        await stop_daemon(running)


async def test_a_failed_autovoid_is_settled_by_its_own_ref_tag(fast: Running) -> None:
    c = await fast.client()
    items = [{"claimAmount": 1015, "serviceCode": "500", "description": "Consult", "patientId": "02", "serviceDate": DAY}]
    job = await c.call("healthpoint.claim", claim_request(requestId="rc-6", items=items))
    assert job["state"] == "unknown" and job["result"]["refTag"]
    out = await c.call("healthpoint.reconcile", {"terminal": "front-desk", "date": DAY})
    assert [(s["jobId"], s["refTag"]) for s in out["settled"]] == [(job["jobId"], job["result"]["refTag"])]
    final = await _get(c, job["jobId"])
    assert final["result"]["result"] == "APPROVED" and final["result"]["fundStatus"] == "APP"
    assert [(r["kind"], r["status"]) for r in await fast.sim.ledger()] == [("claim", "APPROVED"), ("autovoid", "FAILED")]


async def test_a_resolved_claim_the_fund_contradicts_is_listed(fast: Running) -> None:
    """An operator resolved an unknown claim as not processed; the fund's report shows it
    approved with a benefit: the reconciliation says so (it said nothing before)."""
    c = await fast.client()
    job = await _unknown_claim(c, fast.sim, "rc-resolved")
    await c.call("job.resolve", {"jobId": job["jobId"], "outcome": "notProcessed", "note": "terminal showed nothing"})
    out = await c.call("healthpoint.reconcile", {"terminal": "front-desk", "date": DAY})
    found = [d for d in out["discrepancies"] if d.get("jobId") == job["jobId"]]
    assert [d["kind"] for d in found] == ["statusDiffers"], out
    assert found[0]["journal"].get("resolution") == "notProcessed", found and found[0]["fund"]["status"] == "APP"
    assert not [d for d in out["discrepancies"] if d["kind"] == "notInJournal"]
    assert (await c.call("job.get", {"jobId": job["jobId"]}))["state"] == "resolved"  # never overwritten


async def test_chromium_killed_once_the_fund_has_the_claim_and_the_terminal_forgets_it_settles_automatically(
    tmp_path: Path, sim: Sim,
) -> None:
    """The case of issue 23: ``[reconciliation] retry_s = 2``; Chromium is SIGKILLed while the
    fund decides a claim, and the terminal forgets its last transaction, so the job ends
    ``unknown`` (``continueLastTransaction`` answers NOT STARTED). The automatic runs settle it from the
    fund's report without anyone asking (it stayed ``unknown`` 45 s, in two runs of two)."""
    import os
    import signal

    settings = make_settings(tmp_path, sim, transaction_timeout_s=2.5, reconciliation=ReconciliationConfig(retry_s=2))
    running = await start_daemon(settings, sim)
    try:
        assert (await running.pair(*FRONT_DESK))["status"] == "success"
        assert running.daemon.browser is not None
        pid = await running.daemon.browser.process_id()
        assert pid is not None
        c = await running.client()
        await c.call("events.subscribe", {"topics": ["job.updated", "job.status"]})
        # The patient's question times out (1 simulated second) long before a new Chromium is up:
        # the terminal voids the claim and forgets it before anyone can re-attach.
        await sim.scenario(fundDelayMs=10_000, answerTimeoutMs=1000, noLastTransaction=True)
        call = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId="rc-killed", onApproved="accept"), timeout=120))
        waiting = await c.wait_note(lambda n: n["method"] == "job.status" and n["params"]["message"] == "Waiting for health fund response", timeout=30)
        job_id = waiting["params"]["jobId"]
        await asyncio.sleep(10_000 / 1000 / sim.clock.scale * 0.5)  # the fund has the claim, deciding
        os.kill(pid, signal.SIGKILL)
        first = await call
        assert first["state"] == "unknown", first
        unknown_at = asyncio.get_running_loop().time()
        done = await c.wait_note(
            lambda n: n["method"] == "job.updated" and n["params"]["job"]["jobId"] == job_id
            and n["params"]["job"]["state"] in ("completed", "failed", "resolved"),
            timeout=45,
        )
        took = asyncio.get_running_loop().time() - unknown_at
        final = await _get(c, job_id)
        ledger = [r for r in await sim.ledger() if r["kind"] == "claim"]
        assert len(ledger) == 1, ledger
        history = [(h.get("state"), h.get("message"), h.get("note")) for h in final["history"]]
        assert done["params"]["job"]["state"] == "completed" and final["result"].get("source") == "reconciliation", history
        # The question timed out with no one to answer it: the terminal voided the claim.
        assert [(r["kind"], r["status"]) for r in await sim.ledger()] == [("claim", "APPROVED"), ("void", "VOIDED")]
        assert (final["result"]["refTag"], final["result"]["fundStatus"], final["result"]["result"]) == (ledger[0]["refTag"], "VOID", "CANCELLED")
        print(f"settled {took:.1f} s after unknown: {final['result']['result']} ({final['result']['fundStatus']})")
    finally:
        await stop_daemon(running)
