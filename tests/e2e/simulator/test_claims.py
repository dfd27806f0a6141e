"""The simulator through a real browser: claims, cancels, gap purchases and rebate estimates.

A PMS page on its own origin (fixtures/pms) loads ``iclient-v1.js`` from the simulator and is
driven through ``window.pms``; the control API sets scenarios, the clock and reads the ledger.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import Pms, Sim
from tests.e2e.simulator.iclient_wire import CLAIM_STATUSES, MID, PHF_DECLINES, PROVIDER, TID, claim_request, kinds, pair

__all__: list[str] = []

pytestmark = pytest.mark.e2e


# --------------------------------------------------------------------------- claims


def test_approved_two_item_claim_with_accept(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    outcome = pms.call("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})

    assert outcome["statuses"][:4] == CLAIM_STATUSES
    assert "Patient Approval" in outcome["statuses"]
    assert outcome["statuses"][-1] == "Printing patient copy"
    assert outcome["questions"] == [
        {"text": "Claim approved. Benefit $66.00, gap $44.00. Patient accepts?", "options": ["ACCEPT", "REJECT"]}
    ]
    assert outcome["receipts"] == []
    assert outcome["iframeGone"] is True
    response = outcome["response"]
    assert response["result"] == "APPROVED"
    assert re.fullmatch(r"[0-9a-f]{36}", response["transactionId"])
    assert re.fullmatch(r"\d{7}", response["healthpointRefTag"])
    assert response["healthpointTotalBenefitAmount"] == "6600"
    assert response["healthpointGapAmount"] == "4400"
    assert response["healthpointProviderId"] == PROVIDER
    assert response["healthpointServiceType"] == "P"
    assert response["healthpointHealthFundName"] == "ISOFT FUND"
    assert response["healthpointHealthFundIdentifyingDigits"] == "0099"
    assert response["healthpointPhfResponseCode"] == "00"
    items = response["healthpointClaimItems"]
    assert [(i["serviceCode"], i["claimAmount"], i["rebateAmount"], i["responseCode"]) for i in items] == [
        ("00500", "1000", "600", "00"),
        ("00520", "10000", "6000", "00"),
    ]
    assert pms.call("iframeCount") == 0
    records = sim.ledger()
    assert [r["kind"] for r in records] == ["claim"]
    assert records[0]["refTag"] == response["healthpointRefTag"]
    assert records[0]["totalBenefit"] == 6600


def test_reject_voids_the_claim(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    outcome = pms.call("claim", claim_request([1000, 10000], terminal), {"answer": "REJECT"})

    assert "Voiding claim" in outcome["statuses"]
    response = outcome["response"]
    assert response["result"] == "CANCELLED"
    assert re.fullmatch(r"\d{7}", response["healthpointRefTag"])
    assert response["healthpointTotalBenefitAmount"] == "6600"
    assert kinds(sim) == ["claim", "void"]


def test_operator_cancel_while_question_pending_voids(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    pms.start("claim", claim_request([10000], terminal), {"answer": None})
    pms.wait_for_event("question")
    assert pms.call("cancel") is True
    outcome = pms.wait()

    assert outcome["response"]["result"] == "CANCELLED"
    assert kinds(sim) == ["claim", "void"]


def test_each_claim_response_code_declines(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    for code, text in PHF_DECLINES.items():
        outcome = pms.call("claim", claim_request([90000 + int(code)], terminal), {"answer": "ACCEPT"})
        response = outcome["response"]
        assert response["result"] == "DECLINED", (code, response)
        assert response["healthpointPhfResponseCode"] == code
        assert response["healthpointPhfResponseCodeDescription"] == text
        assert outcome["questions"] == []
    assert set(kinds(sim)) == {"claim"}


def test_item_magic_amount_rejects_that_item(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    outcome = pms.call("claim", claim_request([10000, 1113], terminal), {"answer": "ACCEPT"})

    response = outcome["response"]
    assert response["result"] == "APPROVED"
    codes = [(i["responseCode"], i["rebateAmount"]) for i in response["healthpointClaimItems"]]
    assert codes == [("00", "6000"), ("13", "0")]
    assert all(i["responseCodeDescription"] for i in response["healthpointClaimItems"])
    assert response["healthpointTotalBenefitAmount"] == "6000"
    assert response["healthpointGapAmount"] == str(10000 + 1113 - 6000)


def test_item_response_codes_scenario(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    sim.scenario(mid=MID, tid=TID, itemResponseCodes=["00", "07"])
    outcome = pms.call("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})

    response = outcome["response"]
    assert [i["responseCode"] for i in response["healthpointClaimItems"]] == ["00", "07"]
    assert response["healthpointTotalBenefitAmount"] == "600"


def test_all_items_rejected_declines_the_claim(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    sim.scenario(itemResponseCodes=["10", "13"])
    outcome = pms.call("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})

    assert outcome["response"]["result"] == "DECLINED"
    assert outcome["questions"] == []


def test_loyalty_bonus_item_00992(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    sim.scenario(loyalty=True)
    outcome = pms.call("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})

    response = outcome["response"]
    assert response["result"] == "APPROVED"
    bonus = [i for i in response["healthpointClaimItems"] if i["serviceCode"] == "00992"]
    assert len(bonus) == 1
    assert bonus[0]["claimAmount"] == "0"
    assert bonus[0]["rebateAmount"] == "500"
    assert response["healthpointFreeText"] == "Limit Boost"
    assert response["healthpointTotalBenefitAmount"] == "7100"
    assert response["healthpointGapAmount"] == "3900"


def test_fund_silent_for_55_seconds_autovoids(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    sim.set_clock(scale=1000)
    outcome = pms.call("claim", claim_request([99055], terminal), {"answer": "ACCEPT"})

    assert "No response from health fund - voiding" in outcome["statuses"]
    response = outcome["response"]
    assert response["result"] == "REVERSED"
    assert "healthpointErrorCode" not in response
    assert response["healthpointErrorDescription"] == (
        "No response from health fund within 55 seconds. Claim voided, please reattempt."
    )
    assert "autovoid" in kinds(sim)


@pytest.mark.parametrize("error_code", ["1015", "1019"])
def test_failed_autovoid_is_unknown(pms: Pms, sim: Sim, error_code: str) -> None:
    terminal = pair(pms, sim)
    sim.set_clock(scale=1000)
    outcome = pms.call("claim", claim_request([int(error_code)], terminal), {"answer": "ACCEPT"})

    response = outcome["response"]
    assert response["result"] == "UNKNOWN"
    assert response["healthpointErrorCode"] == error_code
    assert response["healthpointErrorDescription"]


# --------------------------------------------------------------------------- cancels


@pytest.mark.parametrize(
    ("claim_at", "cancel_at", "expected"),
    [
        # DST ends in Sydney on 2026-04-05 (03:00 AEDT -> 02:00 AEST): a 25-hour day.
        ("2026-04-05T01:30:00+11:00", "2026-04-05T23:59:00+10:00", "CANCELLED"),
        ("2026-04-05T01:30:00+11:00", "2026-04-06T00:00:30+10:00", "DECLINED"),
        ("2026-04-04T23:30:00+11:00", "2026-04-05T00:30:00+11:00", "DECLINED"),
        # DST starts on 2026-10-04 (02:00 AEST -> 03:00 AEDT): a 23-hour day.
        ("2026-10-04T01:30:00+10:00", "2026-10-04T23:59:30+11:00", "CANCELLED"),
        ("2026-10-04T01:30:00+10:00", "2026-10-05T00:00:30+11:00", "DECLINED"),
        ("2026-10-03T23:00:00+10:00", "2026-10-04T03:30:00+11:00", "DECLINED"),
    ],
)
def test_cancel_only_on_the_same_sydney_day(
    pms: Pms, sim: Sim, claim_at: str, cancel_at: str, expected: str
) -> None:
    sim.set_clock(claim_at, 20)
    terminal = pair(pms, sim)
    service_date = claim_at[:10].replace("-", "")
    request = claim_request([1000, 10000], terminal, date=service_date)
    claim = pms.call("claim", request, {"answer": "ACCEPT"})["response"]
    assert claim["result"] == "APPROVED"

    sim.set_clock(cancel_at, 20)
    outcome = pms.call("cancelClaim", {**request, "refTag": claim["healthpointRefTag"]}, {"answer": "ACCEPT"})

    response = outcome["response"]
    assert response["result"] == expected, response
    assert outcome["statuses"][:2] == CLAIM_STATUSES[:2]
    assert outcome["questions"] == []
    if expected == "CANCELLED":
        assert response["healthpointPhfResponseCode"] == "00"
        assert kinds(sim) == ["claim", "cancel"]
    else:
        assert response["healthpointPhfResponseCode"] == "76"
        cancels = [r for r in sim.ledger() if r["kind"] == "cancel"]
        assert all(r["status"] == "DECLINED" for r in cancels), cancels


def test_cancel_magic_amount_5702(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    request = claim_request([5702], terminal, refTag="0960001")
    outcome = pms.call("cancelClaim", request, {"answer": "ACCEPT"})

    assert outcome["response"]["result"] == "CANCELLED"


# --------------------------------------------------------------------------- purchases, estimates


def test_gap_purchase_linked_to_claim(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    claim = pms.call("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})["response"]
    purchase = {
        "amount": claim["healthpointGapAmount"],
        "integratedReceipt": True,
        "healthpointTransactionId": claim["transactionId"],
        **terminal,
    }
    outcome = pms.call("purchase", purchase, {"answer": "YES"})

    response = outcome["response"]
    assert response["result"] == "APPROVED"
    assert response["transactionId"] != claim["transactionId"]
    assert outcome["receipts"], "integrated receipts were asked for"
    assert isinstance(outcome["receipts"][0]["merchantReceipt"], str)
    assert kinds(sim) == ["claim", "purchase"]


def test_purchase_without_integrated_receipt_gets_no_receipt(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    outcome = pms.call("purchase", {"amount": "10000", "integratedReceipt": False, **terminal}, {"answer": "YES"})

    assert outcome["response"]["result"] == "APPROVED"
    assert outcome["receipts"] == []


def test_rebate_estimate(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    outcome = pms.call("rebateEstimate", claim_request([1000, 10000], terminal), {"answer": None})

    response = outcome["response"]
    assert response["result"] == "APPROVED"
    assert response["healthpointTotalBenefitAmount"] == "6600"
    assert outcome["questions"] == []
    assert kinds(sim) == ["rebateEstimate"]
