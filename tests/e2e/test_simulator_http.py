"""The simulator over real HTTP and a real websocket speaking the iframe link protocol.

No browser: the test plays the part of ``iclient.html`` (frames of COMMON's link protocol).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from simulator.app import create_app
from simulator.clock import Clock

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "healthpoint" / "requests"
MID, TID = 2187, 1
START = datetime.fromisoformat("2026-11-23T10:00:00+11:00")  # a Monday, AEDT


@dataclass
class Outcome:
    statuses: list[str] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, Any] | None = None


@dataclass
class Sim:
    base: str
    http: aiohttp.ClientSession
    clock: Clock
    key: str | None = None

    async def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.http.post(self.base + path, json=body) as response:
            return response.status, await response.json()

    async def get(self, path: str) -> Any:
        async with self.http.get(self.base + path) as response:
            assert response.status == 200
            return await response.json()

    async def link(self) -> aiohttp.ClientWebSocketResponse:
        url = self.base.replace("http://", "ws://") + "_term/ws?apiKey=Test&originOfPos=http%3A%2F%2Fpms"
        return await self.http.ws_connect(url)

    async def pair(self, mid: int = MID, tid: int = TID) -> str:
        ws = await self.link()
        await ws.send_json({"op": "start", "method": "pairTerminal", "params": {"mid": mid, "tid": tid}})
        first = await ws.receive_json(timeout=5)
        assert first["params"] == {"status": "inProgress", "message": "Press Authorise POS on the terminal"}
        status, answer = await self.post(f"_sim/terminals/{mid}/{tid}/authorise")
        assert status == 200 and answer["status"] == "success"
        store = await ws.receive_json(timeout=5)
        done = await ws.receive_json(timeout=5)
        await ws.close()
        assert store["op"] == "store" and store["value"]["integrationKey"] == answer["integrationKey"]
        assert done["params"]["status"] == "success"
        key = str(answer["integrationKey"])
        self.key = key
        return key

    async def run(
        self,
        method: str,
        params: dict[str, Any],
        answers: list[str] | None = None,
        *,
        ws: aiohttp.ClientWebSocketResponse | None = None,
        until_final: bool = True,
    ) -> Outcome:
        own = ws is None
        ws = ws or await self.link()
        full = {"mid": MID, "tid": TID, "integrationKey": self.key, **params}
        await ws.send_json({"op": "start", "method": method, "params": full})
        outcome = await collect(ws, answers or [], until_final=until_final)
        if own:
            await ws.close()
        return outcome


async def collect(
    ws: aiohttp.ClientWebSocketResponse, answers: list[str], *, until_final: bool = True
) -> Outcome:
    outcome = Outcome()
    pending = list(answers)
    while True:
        frame = await ws.receive_json(timeout=10)
        assert frame["op"] == "notify"
        method, params = frame["method"], frame["params"]
        if method == "transactionStatus":
            outcome.statuses.append(params)
        elif method == "question":
            outcome.questions.append(params)
            if not pending:
                return outcome
            await ws.send_json({"op": "answer", "params": pending.pop(0)})
        elif method == "receiptReceived":
            outcome.receipts.append(params)
        elif method == "transactionComplete":
            outcome.final = params
            return outcome
        if not until_final and method == "transactionStatus" and params == "Waiting for health fund response":
            return outcome


def claim_request(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = json.loads((FIXTURES / "claim_two_items.json").read_text())
    request.update(changes)
    return copy.deepcopy(request)


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    clock = Clock(now=START, scale=100)
    runner = web.AppRunner(create_app(clock))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession() as http:
        yield Sim(f"http://127.0.0.1:{port}/", http, clock)
    await runner.cleanup()


async def test_claim_accepted(sim: Sim) -> None:
    await sim.pair()
    outcome = await sim.run("healthpointClaim", claim_request(), ["ACCEPT"])
    assert outcome.statuses == [
        "Swipe or tap health fund card",
        "Reading card",
        "Sending claim to health fund",
        "Waiting for health fund response",
        "Patient Approval",
        "Printing patient copy",
    ]
    assert outcome.questions == [
        {"text": "Claim approved. Benefit $66.00, gap $44.00. Patient accepts?", "options": ["ACCEPT", "REJECT"]}
    ]
    final = outcome.final
    assert final is not None and final["result"] == "APPROVED"
    assert final["healthpointTotalBenefitAmount"] == "6600"
    assert final["healthpointGapAmount"] == "4400"
    assert final["healthpointHealthFundName"] == "ISOFT FUND"
    assert final["healthpointMemberNumber"] == "12345678"
    assert len(final["transactionId"]) == 36
    assert [i["rebateAmount"] for i in final["healthpointClaimItems"]] == ["600", "6000"]
    assert final["healthpointClaimItems"][0]["serviceCode"] == "00500"
    assert final["healthpointSettlementDateTime"] == "20261124140000"
    ledger = (await sim.get("_sim/ledger"))["records"]
    assert [(r["kind"], r["status"], r["totalBenefit"]) for r in ledger] == [("claim", "APPROVED", 6600)]
    assert ledger[0]["refTag"] == final["healthpointRefTag"]


async def test_reject_voids(sim: Sim) -> None:
    await sim.pair()
    outcome = await sim.run("healthpointClaim", claim_request(), ["REJECT"])
    assert outcome.statuses[-1] == "Voiding claim"
    assert outcome.final is not None and outcome.final["result"] == "CANCELLED"
    ref_tag = outcome.final["healthpointRefTag"]
    kinds = [(r["kind"], r["refTag"]) for r in (await sim.get("_sim/ledger"))["records"]]
    assert kinds == [("claim", ref_tag), ("void", ref_tag)]


async def test_autovoid_with_scaled_clock(sim: Sim) -> None:
    await sim.pair()
    sim.clock.set(scale=2000)
    items = [{"claimAmount": "99055", "serviceCode": "500", "description": "Late fund",
              "patientId": "00", "serviceDate": "20261123"}]
    outcome = await sim.run("healthpointClaim", claim_request(claimItems=items, claimItemsCount="1",
                                                              totalClaimAmount="99055"))
    assert outcome.statuses[-1] == "No response from health fund - voiding"
    assert outcome.final is not None and outcome.final["result"] == "REVERSED"
    assert "healthpointErrorCode" not in outcome.final
    assert outcome.final["healthpointErrorDescription"].startswith("No response from health fund within 55")
    kinds = [r["kind"] for r in (await sim.get("_sim/ledger"))["records"]]
    assert kinds == ["claim", "autovoid"]
    # the failed autovoid: fund silent, error 1017
    items[0]["claimAmount"] = "1017"
    outcome = await sim.run("healthpointClaim", claim_request(claimItems=items, claimItemsCount="1",
                                                              totalClaimAmount="1017"))
    assert outcome.final is not None and outcome.final["result"] == "UNKNOWN"
    assert outcome.final["healthpointErrorCode"] == "1017"
    assert outcome.final["healthpointErrorDescription"] == "NO CLAIM SUCCEEDED ON 20261123"


async def test_cancel_same_day_then_next_day(sim: Sim) -> None:
    await sim.pair()
    first = await sim.run("healthpointClaim", claim_request(), ["ACCEPT"])
    assert first.final is not None
    cancel = claim_request(refTag=first.final["healthpointRefTag"])
    sim.clock.set(now=datetime.fromisoformat("2026-11-23T23:59:00+11:00"))
    outcome = await sim.run("healthpointCancel", cancel)
    assert outcome.questions == []
    assert outcome.statuses[0] == "Swipe or tap health fund card"
    assert outcome.final is not None and outcome.final["result"] == "CANCELLED"
    assert outcome.final["healthpointPhfResponseCodeDescription"] == "CANCELLED"
    again = await sim.run("healthpointCancel", cancel)
    assert again.final is not None and again.final["result"] == "DECLINED"
    # a new claim, cancelled after midnight Sydney time
    sim.clock.set(now=datetime.fromisoformat("2026-11-24T09:00:00+11:00"))
    second = await sim.run("healthpointClaim", claim_request(), ["ACCEPT"])
    assert second.final is not None
    sim.clock.set(now=datetime.fromisoformat("2026-11-25T00:00:01+11:00"))
    late = await sim.run("healthpointCancel", claim_request(refTag=second.final["healthpointRefTag"]))
    assert late.final is not None and late.final["result"] == "DECLINED"
    assert late.final["healthpointPhfResponseCode"] == "76"
    kinds = [(r["kind"], r["status"]) for r in (await sim.get("_sim/ledger"))["records"]]
    assert kinds == [("claim", "APPROVED"), ("cancel", "CANCELLED"), ("cancel", "DECLINED"),
                     ("claim", "APPROVED"), ("cancel", "DECLINED")]
    ws = await sim.link()
    await ws.send_json({"op": "start", "method": "healthpointReconciliationReport", "params": {
        "mid": MID, "tid": TID, "integrationKey": sim.key, "reportType": "claims", "reconDate": "20261123"}})
    report = await ws.receive_json(timeout=5)
    await ws.close()
    assert report["method"] == "healthpointReconciliationReportResponse"
    assert report["params"]["result"] == "success"
    assert "<status>CAN</status>" in report["params"]["data"]
    assert "<claim-date>20261123</claim-date>" in report["params"]["data"]


async def test_pairing_and_not_paired(sim: Sim) -> None:
    status, _ = await sim.post(f"_sim/terminals/{MID}/{TID}/authorise")
    assert status == 409
    outcome = await sim.run("healthpointClaim", claim_request(), ["OK"])
    assert outcome.questions == [{"text": "POS is not paired with a terminal.", "options": ["OK"], "isError": True}]
    assert outcome.final is not None and outcome.final["result"] == "NOT STARTED"
    key = await sim.pair()
    sim.key = "wrong"
    wrong = await sim.run("healthpointClaim", claim_request(), ["OK"])
    assert wrong.final is not None and wrong.final["result"] == "NOT STARTED"
    sim.key = key
    ws = await sim.link()
    await ws.send_json({"op": "start", "method": "terminalInfo", "params": {"mid": MID, "tid": TID, "integrationKey": key}})
    info = await ws.receive_json(timeout=5)
    await ws.close()
    assert info["method"] == "terminalInfoResponse"
    assert info["params"]["terminalInfo"]["model"] == "Sim"
    terminals = (await sim.get("_sim/terminals"))["terminals"]
    assert terminals[0]["paired"] is True and terminals[0]["state"] == "idle"


async def test_invalid_request_not_started(sim: Sim) -> None:
    await sim.pair()
    bad = claim_request()
    bad["claimItems"][0]["patientId"] = "2"
    outcome = await sim.run("healthpointClaim", bad, ["OK"])
    assert outcome.questions[0]["text"] == "Invalid transaction details (400)."
    assert outcome.final is not None and outcome.final["result"] == "NOT STARTED"
    assert "claimItems[0].patientId" in outcome.final["healthpointErrorDescription"]
    ws = await sim.link()
    await ws.send_json({"op": "start", "method": "healthpointClaim",
                        "params": {"mid": MID, "tid": TID, "integrationKey": sim.key, **bad}})
    assert (await ws.receive_json(timeout=5))["params"]["isError"] is True
    await ws.send_json({"op": "cancel"})  # cancelTransaction instead of OK also ends it
    final = await ws.receive_json(timeout=5)
    await ws.close()
    assert final["method"] == "transactionComplete" and final["params"]["result"] == "NOT STARTED"
    assert (await sim.get("_sim/ledger"))["records"] == []


async def test_control_api_and_drop_response(sim: Sim) -> None:
    assert await sim.get("_sim/health") == {"status": "ok"}
    status, body = await sim.post("_sim/scenario", {"result": "MAYBE"})
    assert status == 400 and body["errors"]
    status, state = await sim.post("_sim/clock", {"now": "2026-04-05T02:30:00+11:00", "scale": 0})
    assert status == 200 and state["scale"] == 0
    assert state["now"].startswith("2026-04-04T15:30:00")
    sim.clock.set(now=START, scale=100)
    await sim.pair()
    status, _ = await sim.post("_sim/scenario", {"mid": MID, "tid": TID, "dropResponse": True, "loyalty": True})
    assert status == 200
    ws = await sim.link()
    await ws.send_json({"op": "start", "method": "healthpointClaim",
                        "params": {"mid": MID, "tid": TID, "integrationKey": sim.key, **claim_request()}})
    question = await collect(ws, [])
    assert question.questions and question.final is None
    assert "Benefit $71.00, gap $39.00" in question.questions[0]["text"]
    await ws.close()  # the POS page goes away mid-claim
    ws = await sim.link()
    await ws.send_json({"op": "start", "method": "continueLastTransaction",
                        "params": {"mid": MID, "tid": TID, "integrationKey": sim.key}})
    resumed = await collect(ws, [])
    assert resumed.statuses == ["Patient Approval"] and resumed.questions == question.questions
    await ws.send_json({"op": "answer", "params": "ACCEPT"})
    for _ in range(200):
        terminal = (await sim.get("_sim/terminals"))["terminals"][0]
        if terminal["state"] == "idle":
            break
        await asyncio.sleep(0.01)
    assert terminal["transaction"]["dropped"] is True
    late_frames = []
    with pytest.raises(asyncio.TimeoutError):
        while True:
            late_frames.append(await ws.receive_json(timeout=0.2))
    assert all(f["method"] != "transactionComplete" for f in late_frames)  # dropped
    await ws.close()
    ledger = (await sim.get("_sim/ledger"))["records"]
    assert ledger[0]["items"][-1]["serviceCode"] == "00992" and ledger[0]["items"][-1]["bonus"] is True
    # the terminal finished (ledger) but never sent the result; continueLastTransaction gets it
    later = await sim.run("continueLastTransaction", {})
    assert later.final is not None and later.final["result"] == "APPROVED"
    assert later.final["healthpointFreeText"] == "Limit Boost"
    status, _ = await sim.post("_sim/reset")
    assert status == 200
    assert (await sim.get("_sim/ledger"))["records"] == []
    assert (await sim.get("_sim/terminals"))["terminals"] == []


async def test_gap_purchase_linked_to_claim(sim: Sim) -> None:
    await sim.pair()
    claim = await sim.run("healthpointClaim", claim_request(), ["ACCEPT"])
    assert claim.final is not None
    link = claim.final["transactionId"]
    too_much = await sim.run("purchase", {"amount": "4401", "integratedReceipt": False,
                                          "healthpointTransactionId": link})
    assert too_much.final is not None and too_much.final["result"] == "DECLINED"
    gap = await sim.run("purchase", {"amount": "4400", "integratedReceipt": True,
                                     "healthpointTransactionId": link})
    assert gap.statuses == ["Present card", "Enter PIN", "Processing", "APPROVED"]
    assert gap.final is not None and gap.final["result"] == "APPROVED"
    assert gap.receipts and gap.receipts[0]["signatureRequired"] is False
    assert "PURCHASE" in gap.receipts[0]["merchantReceipt"]
    unknown = await sim.run("purchase", {"amount": "100", "integratedReceipt": False,
                                         "healthpointTransactionId": "f" * 36})
    assert unknown.final is not None and unknown.final["result"] == "DECLINED"
    records = (await sim.get("_sim/ledger"))["records"]
    purchases = [r for r in records if r["kind"] == "purchase"]
    assert [(p["status"], p["amount"], p["healthpointTransactionId"]) for p in purchases][1] == (
        "APPROVED", 4400, link)
    refused = await sim.run("purchase", {"amount": "503", "integratedReceipt": False}, ["OK"])
    assert refused.questions[0]["text"] == "Request failed (503)."
    assert refused.final is not None and refused.final["result"] == "NOT STARTED"


async def test_rebate_estimate_not_cancellable(sim: Sim) -> None:
    await sim.pair()
    estimate = await sim.run("healthpointRebateEstimate", claim_request())
    assert estimate.questions == []
    assert estimate.final is not None and estimate.final["result"] == "APPROVED"
    assert estimate.final["healthpointTotalBenefitAmount"] == "6600"
    cancel = await sim.run("healthpointCancel", claim_request(refTag=estimate.final["healthpointRefTag"]))
    assert cancel.final is not None and cancel.final["healthpointPhfResponseCode"] == "58"
    kinds = [r["kind"] for r in (await sim.get("_sim/ledger"))["records"]]
    assert kinds == ["rebateEstimate", "cancel"]


async def test_declines_and_item_codes(sim: Sim) -> None:
    await sim.pair()
    items = [{"claimAmount": "90092", "serviceCode": "500", "description": "Consult",
              "patientId": "00", "serviceDate": "20261123"}]
    declined = await sim.run("healthpointClaim", claim_request(claimItems=items, claimItemsCount="1",
                                                               totalClaimAmount="90092"))
    assert declined.final is not None and declined.final["result"] == "DECLINED"
    assert declined.final["healthpointPhfResponseCode"] == "92"
    assert declined.final["healthpointPhfResponseCodeDescription"] == "SYSTEM UNAVAILABLE"
    await sim.post("_sim/scenario", {"itemResponseCodes": [None, "05"]})
    partly = await sim.run("healthpointClaim", claim_request(), ["ACCEPT"])
    assert partly.final is not None and partly.final["result"] == "APPROVED"
    assert [i["responseCode"] for i in partly.final["healthpointClaimItems"]] == ["00", "05"]
    assert partly.final["healthpointGapAmount"] == "10400"


async def test_operator_abort_and_busy(sim: Sim) -> None:
    await sim.pair()
    await sim.post("_sim/scenario", {"cardDelayMs": 600_000})
    ws = await sim.link()
    await ws.send_json({"op": "start", "method": "healthpointClaim",
                        "params": {"mid": MID, "tid": TID, "integrationKey": sim.key, **claim_request()}})
    first = await ws.receive_json(timeout=5)
    assert first["params"] == "Swipe or tap health fund card"
    busy = await sim.run("healthpointClaim", claim_request(), ["OK"])
    assert busy.questions[0]["text"] == "Terminal is busy."
    await ws.send_json({"op": "cancel"})
    aborted = await collect(ws, [])
    await ws.close()
    assert aborted.final == {"result": "CANCELLED"}
    assert (await sim.get("_sim/ledger"))["records"] == []
    # abort while the fund works: voided once the fund approves
    await sim.post("_sim/scenario", {"fundDelayMs": 2000})
    ws = await sim.link()
    await ws.send_json({"op": "start", "method": "healthpointClaim",
                        "params": {"mid": MID, "tid": TID, "integrationKey": sim.key, **claim_request()}})
    at_fund = await collect(ws, [], until_final=False)
    assert at_fund.statuses[-1] == "Waiting for health fund response"
    await ws.send_json({"op": "cancel"})
    voided = await collect(ws, [])
    await ws.close()
    assert voided.questions == []
    assert voided.final is not None and voided.final["result"] == "CANCELLED"
    assert [r["kind"] for r in (await sim.get("_sim/ledger"))["records"]] == ["claim", "void"]


async def test_pairing_times_out(sim: Sim) -> None:
    sim.clock.set(scale=10_000)
    ws = await sim.link()
    await ws.send_json({"op": "start", "method": "pairTerminal", "params": {"mid": "2188", "tid": "3"}})
    assert (await ws.receive_json(timeout=5))["params"]["status"] == "inProgress"
    failed = await ws.receive_json(timeout=5)
    await ws.close()
    assert failed["params"] == {"status": "failure", "message": "Pairing timed out"}
    status, _ = await sim.post("_sim/terminals/2188/3/authorise")
    assert status == 409


async def test_cli_prints_its_url_and_serves() -> None:
    import sys

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from simulator.cli import main; main()", "--port", "0",
        "--time-scale", "10", stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 15)).decode()
        assert line.startswith("claimbridge simulator listening on http://127.0.0.1:")
        base = line.rsplit(" ", 1)[1].strip()
        assert base.endswith("/")
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "_sim/health") as response:
                assert await response.json() == {"status": "ok"}
            async with http.get(base + "iclient-v1.js") as response:
                text = await response.text()
                if response.status == 200:  # served once H2's script exists
                    assert base in text and "__CLAIMBRIDGE_SIM_BASE_URL__" not in text
            async with http.get(base + "_sim/clock") as response:
                assert (await response.json())["scale"] == 10
    finally:
        process.terminate()
        await process.wait()


async def test_pairing_again_replaces_a_pending_pairing(sim: Sim) -> None:
    first = await sim.link()
    await first.send_json({"op": "start", "method": "pairTerminal", "params": {"mid": MID, "tid": TID}})
    assert (await first.receive_json(timeout=5))["params"]["status"] == "inProgress"
    await first.close()  # the POS gave up before anyone pressed Authorise POS
    key = await sim.pair()  # a new pairTerminal replaces the pending one
    assert len(key) == 32
