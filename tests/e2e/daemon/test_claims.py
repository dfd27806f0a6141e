"""Claims through the daemon against the simulator: every outcome, end to end."""

from __future__ import annotations

import asyncio

import pytest

from tests.daemon_harness import Running, claim_request

pytestmark = pytest.mark.e2e


def _item(amount: int, code: str = "500", patient: str = "02") -> dict[str, object]:
    return {"claimAmount": amount, "serviceCode": code, "description": "Consult",
            "patientId": patient, "serviceDate": "2026-11-23"}


async def test_approved_two_item_claim_accepted(daemon: Running) -> None:
    c = await daemon.client()
    job = await c.call("healthpoint.claim", claim_request())
    assert job["state"] == "completed" and job["kind"] == "claim"
    r = job["result"]
    assert r["result"] == "APPROVED"
    assert [i["benefit"] for i in r["items"]] == [6000, 6060]
    assert all(i["approved"] and not i["bonus"] for i in r["items"])
    assert r["totalBenefit"] == 12060 and r["gap"] == 20100 - 12060
    assert r["fund"]["id"] == "PHF00999" and r["refTag"] and len(r["transactionId"]) == 36
    statuses = [n["params"]["message"] for n in c.notes if n["method"] == "job.status"]
    assert "Swipe or tap health fund card" in statuses
    states = [n["params"]["job"]["state"] for n in c.notes if n["method"] == "job.updated"]
    assert states[:2] == ["queued", "running"] and states[-1] == "completed"
    ledger = await daemon.sim.ledger()
    assert [rec["kind"] for rec in ledger] == ["claim"]


async def test_question_asked_and_answered_by_the_pms(daemon: Running) -> None:
    c = await daemon.client()
    call = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(onApproved="ask", requestId="ask-1")))
    q = await c.wait_note(lambda n: n["method"] == "job.question")
    assert q["params"]["options"] == ["ACCEPT", "REJECT"]
    assert await c.call("job.answer", {"jobId": q["params"]["jobId"], "answer": "ACCEPT"}) == {"accepted": True}
    job = await call
    assert job["result"]["result"] == "APPROVED"


async def test_reject_voids_the_claim(daemon: Running) -> None:
    c = await daemon.client()
    job = await c.call("healthpoint.claim", claim_request(onApproved="reject", requestId="rej-1"))
    assert job["state"] == "completed" and job["result"]["result"] == "CANCELLED"
    assert [rec["kind"] for rec in await daemon.sim.ledger()] == ["claim", "void"]


@pytest.mark.parametrize("code", ["21", "58", "91", "94"])
async def test_fund_declines_with_each_claim_code(daemon: Running, code: str) -> None:
    c = await daemon.client()
    params = claim_request(requestId=f"decl-{code}", items=[_item(90000 + int(code))])
    job = await c.call("healthpoint.claim", params)
    assert job["state"] == "completed"
    assert job["result"]["result"] == "DECLINED" and job["result"]["phfResponseCode"] == code


async def test_item_response_code_rejects_one_item(daemon: Running) -> None:
    c = await daemon.client()
    params = claim_request(requestId="item-1", items=[_item(10000), _item(1107, "505")])
    job = await c.call("healthpoint.claim", params)
    items = job["result"]["items"]
    assert items[0]["approved"] and not items[1]["approved"]
    assert items[1]["responseCode"] == "07" and items[1]["benefit"] == 0


async def test_loyalty_bonus_item_is_flagged(daemon: Running) -> None:
    await daemon.sim.scenario(loyalty=700)
    c = await daemon.client()
    job = await c.call("healthpoint.claim", claim_request(requestId="loyal-1"))
    bonus = [i for i in job["result"]["items"] if i["bonus"]]
    assert len(bonus) == 1 and bonus[0]["serviceCode"] == "00992" and bonus[0]["benefit"] == 700
    assert bonus[0]["claimAmount"] == 0
    assert job["result"]["totalBenefit"] == 12060 + 700


async def test_fund_silent_for_55_seconds_autovoids(daemon: Running) -> None:
    await daemon.sim.scenario(fundDelayMs=60_000)
    c = await daemon.client()
    job = await c.call("healthpoint.claim", claim_request(requestId="slow-1"))
    assert job["state"] == "completed" and job["result"]["result"] == "REVERSED"
    assert [rec["kind"] for rec in await daemon.sim.ledger()] == ["claim", "autovoid"]


async def test_rebate_estimate(daemon: Running) -> None:
    c = await daemon.client()
    params = claim_request(requestId="est-1")
    params.pop("onApproved")
    job = await c.call("healthpoint.rebateEstimate", params)
    assert job["kind"] == "rebateEstimate" and job["result"]["totalBenefit"] == 12060
    assert [rec["kind"] for rec in await daemon.sim.ledger()] == ["rebateEstimate"]


async def test_gap_payment_linked_to_the_claim(daemon: Running) -> None:
    c = await daemon.client()
    claim = await c.call("healthpoint.claim", claim_request(requestId="gap-claim"))
    gap = await c.call("payment.gap", {"requestId": "gap-1", "claimJobId": claim["jobId"]})
    assert gap["kind"] == "gap" and gap["state"] == "completed"
    assert gap["result"]["result"] == "APPROVED"
    purchase = [r for r in await daemon.sim.ledger() if r["kind"] == "purchase"]
    assert len(purchase) == 1
    assert purchase[0]["amount"] == claim["result"]["gap"] == 20100 - 12060
    assert purchase[0]["healthpointTransactionId"] == claim["result"]["transactionId"]


async def test_gap_refused_on_an_unapproved_claim(daemon: Running) -> None:
    from tests.daemon_harness import RpcError

    c = await daemon.client()
    claim = await c.call("healthpoint.claim", claim_request(requestId="gap-decl", items=[_item(90021)]))
    with pytest.raises(RpcError) as err:
        await c.call("payment.gap", {"requestId": "gap-2", "claimJobId": claim["jobId"]})
    assert err.value.code == -32004
