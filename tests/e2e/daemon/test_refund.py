"""payment.refund through the daemon: iClient initiateRefund of a gap payment, once; receipts."""

from __future__ import annotations

import pytest

from tests.daemon_harness import RpcError, Running, claim_request

pytestmark = pytest.mark.e2e


async def test_refund_of_a_gap_payment_then_a_refused_second_refund(daemon: Running) -> None:
    c = await daemon.client()
    claim = await c.call("healthpoint.claim", claim_request(requestId="rf-c1", onApproved="accept"))
    gap = await c.call("payment.gap", {"requestId": "rf-p1", "claimJobId": claim["jobId"]})
    assert gap["state"] == "completed" and gap["result"]["result"] == "APPROVED"
    assert "MERCHANT COPY" in gap["receipts"]["merchant"] and "CUSTOMER COPY" in gap["receipts"]["customer"]
    history = (await c.call("job.get", {"jobId": gap["jobId"], "history": True}))["history"]
    assert [e["message"] for e in history if e["event"] == "receipt"] == [gap["receipts"]["merchant"]]
    refund = await c.call("payment.refund", {"requestId": "rf-r1", "paymentJobId": gap["jobId"]})
    assert refund["kind"] == "refund" and refund["state"] == "completed"
    assert refund["result"]["result"] == "APPROVED" and refund["request"]["amount"] == claim["result"]["gap"]
    assert "REFUND" in refund["receipts"]["merchant"] and "CUSTOMER COPY" in refund["receipts"]["customer"]
    again = await c.call("payment.refund", {"requestId": "rf-r1", "paymentJobId": gap["jobId"]})
    assert again["jobId"] == refund["jobId"]  # the same request, re-sent: the same job
    with pytest.raises(RpcError) as err:
        await c.call("payment.refund", {"requestId": "rf-r2", "paymentJobId": gap["jobId"]})
    assert err.value.code == -32004 and err.value.data["reason"] == "nothingToRefund"
    ledger = await daemon.sim.ledger()
    assert [r["kind"] for r in ledger] == ["claim", "purchase", "refund"]
    assert ledger[2]["amount"] == claim["result"]["gap"]
    # Once refunded, the claim may be cancelled: nothing of its gap stays charged.
    cancel = await c.call("healthpoint.cancel", {"requestId": "rf-x1", "claimJobId": claim["jobId"]})
    assert cancel["result"]["result"] == "CANCELLED"


async def test_a_partial_refund_leaves_the_rest(daemon: Running) -> None:
    c = await daemon.client()
    claim = await c.call("healthpoint.claim", claim_request(requestId="rf-c2", onApproved="accept"))
    gap = await c.call("payment.gap", {"requestId": "rf-p2", "claimJobId": claim["jobId"]})
    first = await c.call("payment.refund", {"requestId": "rf-r3", "paymentJobId": gap["jobId"], "amount": 1000})
    rest = await c.call("payment.refund", {"requestId": "rf-r4", "paymentJobId": gap["jobId"]})
    assert first["request"]["amount"] == 1000 and rest["request"]["amount"] == claim["result"]["gap"] - 1000
    assert [r["amount"] for r in await daemon.sim.ledger() if r["kind"] == "refund"] == [1000, claim["result"]["gap"] - 1000]
