"""Money guards through the daemon: each doomed operation is refused (-32004 with data.reason)
before anything reaches the terminal, and the simulator's ledger shows nothing was sent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.daemon_harness import RpcError, Running, claim_request

pytestmark = pytest.mark.e2e


async def _refused(c: Any, method: str, params: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(RpcError) as err:
        await c.call(method, params)
    assert err.value.code == -32004, err.value.error
    data: dict[str, Any] = err.value.data
    assert data["reason"]
    return data


async def _kinds(daemon: Running) -> list[str]:
    return [r["kind"] for r in await daemon.sim.ledger()]


async def test_a_second_cancel_is_refused(daemon: Running) -> None:
    c = await daemon.client()
    claim = await c.call("healthpoint.claim", claim_request(requestId="g-c1", onApproved="accept"))
    await c.call("healthpoint.cancel", {"requestId": "g-x1", "claimJobId": claim["jobId"]})
    data = await _refused(c, "healthpoint.cancel", {"requestId": "g-x2", "claimJobId": claim["jobId"]})
    assert data["reason"] == "alreadyCancelled" and data["message"] == "the claim is already cancelled"
    assert await _kinds(daemon) == ["claim", "cancel"]


async def test_a_cancel_while_one_is_in_flight_is_refused(daemon: Running) -> None:
    c = await daemon.client()
    claim = await c.call("healthpoint.claim", claim_request(requestId="g-c2", onApproved="accept"))
    await daemon.sim.scenario(fundDelayMs=3000)
    first = asyncio.ensure_future(c.call("healthpoint.cancel", {"requestId": "g-x3", "claimJobId": claim["jobId"]}))
    await c.wait_note(lambda n: n["method"] == "job.updated" and n["params"]["job"]["kind"] == "cancel")
    data = await _refused(c, "healthpoint.cancel", {"requestId": "g-x4", "claimJobId": claim["jobId"]})
    assert data["reason"] == "cancelInFlight" and "in flight" in data["message"]
    assert (await first)["result"]["result"] == "CANCELLED"
    assert await _kinds(daemon) == ["claim", "cancel"]


async def test_a_cancel_of_a_claim_with_a_paid_gap_names_the_payment(daemon: Running) -> None:
    c = await daemon.client()
    claim = await c.call("healthpoint.claim", claim_request(requestId="g-c3", onApproved="accept"))
    gap = await c.call("payment.gap", {"requestId": "g-p3", "claimJobId": claim["jobId"]})
    data = await _refused(c, "healthpoint.cancel", {"requestId": "g-x5", "claimJobId": claim["jobId"]})
    assert data["paymentJobId"] == gap["jobId"]
    assert await _kinds(daemon) == ["claim", "purchase"]


async def test_a_gap_above_the_gap_a_second_gap_and_a_gap_after_a_cancel(daemon: Running) -> None:
    c = await daemon.client()
    claim = await c.call("healthpoint.claim", claim_request(requestId="g-c4", onApproved="accept"))
    gap = claim["result"]["gap"]
    data = await _refused(c, "payment.gap", {"requestId": "g-p4", "claimJobId": claim["jobId"], "amount": gap + 1})
    assert data["reason"] == "amountAboveGap" and data["gap"] == gap
    await c.call("payment.gap", {"requestId": "g-p5", "claimJobId": claim["jobId"]})
    data = await _refused(c, "payment.gap", {"requestId": "g-p6", "claimJobId": claim["jobId"]})
    assert data["reason"] == "gapExists"
    other = await c.call("healthpoint.claim", claim_request(requestId="g-c5", onApproved="accept"))
    await c.call("healthpoint.cancel", {"requestId": "g-x6", "claimJobId": other["jobId"]})
    data = await _refused(c, "payment.gap", {"requestId": "g-p7", "claimJobId": other["jobId"]})
    assert data["reason"] == "claimCancelled" and "cancel" in data["message"]
    assert await _kinds(daemon) == ["claim", "purchase", "claim", "cancel"]


async def test_a_refund_above_what_is_left_is_refused(daemon: Running) -> None:
    c = await daemon.client()
    claim = await c.call("healthpoint.claim", claim_request(requestId="g-c6", onApproved="accept"))
    gap = await c.call("payment.gap", {"requestId": "g-p8", "claimJobId": claim["jobId"]})
    paid = claim["result"]["gap"]
    data = await _refused(c, "payment.refund", {"requestId": "g-r1", "paymentJobId": gap["jobId"], "amount": paid + 1})
    assert data["reason"] == "amountAboveRemaining" and data["left"] == paid
    data = await _refused(c, "payment.refund", {"requestId": "g-r2", "paymentJobId": claim["jobId"]})
    assert data["reason"] == "notAPayment"
    assert await _kinds(daemon) == ["claim", "purchase"]
