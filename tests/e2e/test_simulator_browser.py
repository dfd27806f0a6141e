"""The simulator through a real browser: our TYRO.IClient look-alike, iclient.html and the server.

A PMS page on its own origin (fixtures/pms) loads ``iclient-v1.js`` from the simulator and is
driven through ``window.pms``; the control API sets scenarios, the clock and reads the ledger.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Pms, Sim

__all__: list[str] = []

pytestmark = pytest.mark.e2e

MID = 2187
TID = 1
PROVIDER = "2159081W"
TODAY = "20261123"

CLAIM_STATUSES = [
    "Swipe or tap health fund card",
    "Reading card",
    "Sending claim to health fund",
    "Waiting for health fund response",
]

#: Claim/PHF decline codes of Tyro's Integration Server Simulator (reference §4.3).
PHF_DECLINES = {
    "21": "CONTACT HELP DESK",
    "25": "UNABLE TO FIND CLAIM",
    "30": "SYSTEM DATA ERROR",
    "58": "TRANS NOT PERMITTED",
    "76": "NOT SAME DAY AS CLAIM",
    "80": "PAYMENT REQUIRED BY EMPLOYER",
    "81": "UNABLE TO LOCATE CLAIM",
    "82": "CLAIM ALREADY PAID",
    "91": "SYSTEM BUSY TRY AGAIN",
    "92": "SYSTEM UNAVAILABLE",
    "93": "SYSTEM PROBLEM",
    "94": "DUPLICATE TRANSACTION",
}


def item(claim_amount: int, code: str = "500", date: str = TODAY, patient: str = "02") -> dict[str, str]:
    """One claim item in iClient's wire form (strings of cents)."""
    return {
        "claimAmount": str(claim_amount),
        "serviceCode": code,
        "description": "Assessment Consult",
        "serviceReference": "01",
        "patientId": patient,
        "serviceDate": date,
    }


def claim_request(
    amounts: list[int], terminal: dict[str, Any] | None = None, date: str = TODAY, **overrides: Any
) -> dict[str, Any]:
    """A HealthPoint claim request whose totals add up."""
    items = [item(amount, code=str(500 + index * 20), date=date) for index, amount in enumerate(amounts)]
    request: dict[str, Any] = {
        "providerId": PROVIDER,
        "serviceType": "P",
        "claimItemsCount": str(len(items)),
        "totalClaimAmount": str(sum(amounts)),
        "claimItems": items,
    }
    request.update(terminal or {})
    request.update(overrides)
    return request


def pair(pms: Pms, sim: Sim, mid: int = MID, tid: int = TID) -> dict[str, Any]:
    """Headless pairing through the page; returns mid/tid/integrationKey for later requests."""
    pms.start("pair", mid, tid)
    pms.wait_for_event("pairingStatus")
    response = sim.authorise(mid, tid)
    assert response.status_code < 300, response.text
    result = pms.wait()
    final = result["statuses"][-1]
    assert final["status"] == "success", result
    return {"mid": mid, "tid": tid, "integrationKey": final["integrationKey"]}


@pytest.fixture
def sim(browser_sim: Sim) -> Sim:
    """The simulator of tests/e2e/conftest.py, under a short name in this module only."""
    return browser_sim


def kinds(sim: Sim) -> list[str]:
    """The ledger's record kinds, in order."""
    return [record["kind"] for record in sim.ledger()]


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


# --------------------------------------------------------------------------- pairing, storage


def test_pairing_then_claim_uses_stored_terminal(pms: Pms, sim: Sim) -> None:
    pms.start("pair", MID, TID)
    pms.wait_for_event("pairingStatus")
    first = pms.events("pairingStatus")[0]
    assert first["status"] == "inProgress"
    assert pms.call("iframeCount") == 1
    assert sim.authorise(MID, TID).status_code < 300
    result = pms.wait()
    final = result["statuses"][-1]
    assert final["status"] == "success"
    assert final["integrationKey"]
    assert pms.call("iframeCount") == 0

    # No mid/tid/integrationKey: the iframe fills them in from its storage.
    outcome = pms.call("claim", claim_request([1000, 10000]), {"answer": "ACCEPT"})
    assert outcome["response"]["result"] == "APPROVED"
    assert sim.ledger()[0]["mid"] == MID


def test_request_without_terminal_prefers_last_terminal_over_pairing(pms: Pms, sim: Sim) -> None:
    first = pair(pms, sim, MID, 1)
    pair(pms, sim, MID, 2)  # the stored pairing is now TID 2
    pms.call("claim", claim_request([1000], first), {"answer": "ACCEPT"})  # lastTerminal: TID 1
    pms.call("claim", claim_request([1000]), {"answer": "ACCEPT"})

    assert [(r["mid"], r["tid"]) for r in sim.ledger()] == [(MID, 1), (MID, 1)]


def test_authorise_without_pairing_request(sim: Sim) -> None:
    assert sim.authorise(MID, 99).status_code == 409


def test_claim_on_unpaired_terminal_is_not_started(pms: Pms, sim: Sim) -> None:
    outcome = pms.call("claim", claim_request([1000], {"mid": MID, "tid": TID}), {})

    assert outcome["questions"][0]["text"] == "POS is not paired with a terminal."
    assert outcome["questions"][0]["isError"] is True
    assert outcome["response"]["result"] == "NOT STARTED"
    assert sim.ledger() == []


def test_wrong_integration_key_is_not_started(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    outcome = pms.call("claim", claim_request([1000], {**terminal, "integrationKey": "nope"}), {})

    assert outcome["questions"][0]["text"] == "POS is not paired with a terminal."
    assert outcome["response"]["result"] == "NOT STARTED"


def test_get_configuration_and_terminal_info(pms: Pms, sim: Sim) -> None:
    pair(pms, sim)
    configuration = pms.call("getConfiguration")
    assert configuration["mid"] == MID
    assert configuration["tid"] == TID
    assert configuration["paired"] is True
    info = pms.call("terminalInfo", {})
    assert info[-1]["status"] != "inProgress"
    assert pms.call("iframeCount") == 0


def test_healthpoint_reconciliation_report(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    pms.call("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})
    report = pms.call("healthpointReconciliation", {"reportType": "claims", "reconDate": TODAY, **terminal})

    assert report["result"] == "success", report
    assert "<claims-reconciliation-response" in report["data"]


# --------------------------------------------------------------------------- the library's own rules


def test_second_operation_while_busy_throws(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    pms.start("claim", claim_request([1000, 10000], terminal), {"answer": None})
    pms.wait_for_event("question")

    busy = pms.attempt(
        "client.initiatePurchase({amount: '100', integratedReceipt: false}, "
        "{transactionCompleteCallback() {}, questionCallback() {}, statusMessageCallback() {}});"
    )
    assert busy == {"error": {"name": "Error", "message": "Transaction already in progress."}}
    busy_pair = pms.attempt("client.pairTerminal(1, 1, () => {});")
    assert busy_pair["error"]["message"] == "Transaction already in progress."

    assert pms.call("answer", "ACCEPT") is True
    assert pms.wait()["response"]["result"] == "APPROVED"
    nothing = pms.attempt("client.cancelCurrentTransaction();")
    assert nothing == {
        "error": {"name": "Error", "message": "cancelCurrentTransaction: There is no in-progress transaction to cancel."}
    }


CALLBACKS = "{transactionCompleteCallback() {}, questionCallback() {}, statusMessageCallback() {}}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("new TYRO.IClient('', {posProductName: 'a', posProductVendor: 'b', posProductVersion: 'c'});",
         "API key needs to be provided"),
        ("new TYRO.IClient(undefined, {posProductName: 'a', posProductVendor: 'b', posProductVersion: 'c'});",
         "API key needs to be provided"),
        ("new TYRO.IClient('k');", "POS data needs to be provided"),
        ("new TYRO.IClient('k', {posProductName: 'a', posProductVendor: 'b'});", "POS data needs to be provided"),
        ("client.initiateHealthPointClaim({}, {transactionCompleteCallback() {}, statusMessageCallback() {}});",
         "initiateHealthPointClaim: questionCallback must be a function"),
        ("client.cancelHealthPointClaim({}, {questionCallback() {}, statusMessageCallback() {}});",
         "cancelHealthPointClaim: transactionCompleteCallback must be a function"),
        ("client.initiateHealthPointRebateEstimate({}, {transactionCompleteCallback() {}, questionCallback() {}});",
         "initiateHealthPointRebateEstimate: statusMessageCallback must be a function"),
        (f"client.initiatePurchase({{amount: '100'}}, {CALLBACKS});",
         "initiatePurchase: integratedReceipt must be a boolean"),
        (f"client.initiateRefund({{amount: '100'}}, {CALLBACKS});",
         "initiateRefund: integratedReceipt must be a boolean"),
        (f"client.initiatePurchase({{amount: '100', integratedReceipt: true}}, {CALLBACKS});",
         "initiatePurchase: receiptCallback must be a function"),
        (f"client.initiatePurchase({{amount: '0100', integratedReceipt: false}}, {CALLBACKS});",
         "initiatePurchase: amount must be a string of digits without a leading 0"),
        ("client.continueLastTransaction({});",
         "continueLastTransaction: transactionCompleteCallback must be a function"),
    ],
)
def test_constructor_and_callback_errors(pms: Pms, body: str, message: str) -> None:
    result = pms.attempt(body)

    assert result == {"error": {"name": "TypeError", "message": message}}
    assert pms.call("iframeCount") == 0


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        ("seventeen_items", "claimItems"),
        ("patient_id", "patientId"),
        ("bad_date", "serviceDate"),
    ],
)
def test_invalid_requests_are_not_started(pms: Pms, sim: Sim, mutate: str, field: str) -> None:
    terminal = pair(pms, sim)
    if mutate == "seventeen_items":
        request = claim_request([100] * 17, terminal)
    elif mutate == "patient_id":
        request = claim_request([1000, 10000], terminal)
        request["claimItems"][1]["patientId"] = "2"
    else:
        request = claim_request([1000, 10000], terminal)
        request["claimItems"][0]["serviceDate"] = "2026-11-23"
    outcome = pms.call("claim", request, {"answer": "ACCEPT"})

    assert outcome["questions"] == [{"text": "Invalid transaction details (400).", "options": ["OK"], "isError": True}]
    response = outcome["response"]
    assert response["result"] == "NOT STARTED"
    assert response["healthpointErrorCode"]
    assert field in response["healthpointErrorDescription"]
    assert sim.ledger() == []


def test_http_error_scenario_is_not_started(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    sim.scenario(httpError=503)
    outcome = pms.call("claim", claim_request([1000], terminal), {})

    assert outcome["questions"][0]["text"] == "Request failed (503)."
    assert outcome["response"]["result"] == "NOT STARTED"


# --------------------------------------------------------------------------- recovery


def test_continue_last_transaction_after_reload_mid_claim(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    pms.start("claim", claim_request([1000, 10000], terminal), {"answer": None})
    pms.wait_for_event("question")

    pms.reload()
    outcome = pms.call("continueLast", {"answer": "ACCEPT"})

    assert outcome["questions"][0]["options"] == ["ACCEPT", "REJECT"]
    assert outcome["response"]["result"] == "APPROVED"
    assert kinds(sim) == ["claim"]


def test_continue_last_transaction_resends_dropped_result(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    sim.scenario(dropResponse=True)
    pms.start("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})
    pms.page.wait_for_function(
        "window.pms.events.some(e => e.type === 'status' && e.value === 'Printing patient copy')"
    )
    pms.reload()
    outcome = pms.call("continueLast", {"answer": "ACCEPT"})

    assert outcome["response"]["result"] == "APPROVED"
    assert kinds(sim) == ["claim"]


def test_no_last_transaction_leaves_only_the_report(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    sim.scenario(dropResponse=True, noLastTransaction=True)
    pms.start("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})
    pms.page.wait_for_function(
        "window.pms.events.some(e => e.type === 'status' && e.value === 'Printing patient copy')"
    )
    for _ in range(500):  # the transaction ends (after the simulated print) and is forgotten
        if sim.http.get("/_sim/terminals").json()["terminals"][0]["transaction"] is None:
            break
        pms.page.wait_for_timeout(10)
    pms.reload()
    outcome = pms.call("continueLast", {"answer": "ACCEPT"})
    assert outcome["response"]["result"] == "NOT STARTED"
    report = pms.call("healthpointReconciliation", {"reportType": "claims", "reconDate": TODAY, **terminal})
    (ledger,) = sim.ledger()
    assert f"<ref-tag>{ledger['refTag']}</ref-tag><status>APP</status>" in report["data"]


def test_claims_report_lists_each_status_and_a_check_footer(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    kept = pms.call("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})["response"]
    voided = pms.call("claim", claim_request([2000], terminal), {"answer": "REJECT"})["response"]
    cancelled = pms.call("claim", claim_request([3000], terminal), {"answer": "ACCEPT"})["response"]
    undo = claim_request([3000], terminal, refTag=cancelled["healthpointRefTag"])
    assert pms.call("cancelClaim", undo, {"answer": "ACCEPT"})["response"]["result"] == "CANCELLED"
    autovoided = pms.call("claim", claim_request([99055], terminal), {"answer": "ACCEPT"})["response"]
    data = pms.call("healthpointReconciliation", {"reportType": "claims", "reconDate": TODAY, **terminal})["data"]
    for response, status in ((kept, "APP"), (voided, "VOID"), (cancelled, "CAN"), (autovoided, "AVOID")):
        assert f"<ref-tag>{response['healthpointRefTag']}</ref-tag><status>{status}</status>" in data
    assert "<check><total-number-claims>000004</total-number-claims>" in data
    empty = pms.call("healthpointReconciliation", {"reportType": "claims", "reconDate": "20261101", **terminal})["data"]
    assert "<claim-date>20261101</claim-date><unavailable>No report created.</unavailable>" in empty


def test_refund_sends_both_receipts(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    outcome = pms.call("run", "initiateRefund", {"amount": "4400", "integratedReceipt": True, **terminal}, {})
    assert outcome["response"]["result"] == "APPROVED"
    assert "MERCHANT COPY" in outcome["receipts"][0]["merchantReceipt"]
    assert "REFUND" in outcome["response"]["customerReceipt"] and "CUSTOMER COPY" in outcome["response"]["customerReceipt"]
    assert [(r["kind"], r["amount"]) for r in sim.ledger()] == [("refund", 4400)]


# --------------------------------------------------------------------------- wire and pages


def test_served_script_carries_the_base_url(sim: Sim) -> None:
    text = httpx.get(sim.base_url + "iclient-v1.js").text

    assert "__CLAIMBRIDGE_SIM_BASE_URL__" not in text
    assert f"'{sim.base_url}'" in text


def test_iframe_ignores_foreign_messages_and_pings_once(pms: Pms, sim: Sim) -> None:
    """Drive iclient.html by hand the way Tyro's library does (§2.1 of the reference)."""
    pair(pms, sim)
    result = pms.page.evaluate(
        """async (base) => {
          const seen = [];
          const frame = document.createElement('iframe');
          const origin = location.protocol + '//' + location.host;
          frame.src = base + 'iclient.html?apiKey=Test%20API%20Key&originOfPos=' + encodeURIComponent(origin);
          const done = new Promise((resolve) => {
            window.addEventListener('message', (event) => {
              if (event.source !== frame.contentWindow) return;
              seen.push({type: typeof event.data, data: event.data, origin: event.origin});
              if (typeof event.data === 'string' && event.data.includes('transactionComplete')) resolve();
            });
          });
          document.body.appendChild(frame);
          while (seen.length === 0) await new Promise(r => setTimeout(r, 20));
          const target = new URL(base).origin;
          frame.contentWindow.postMessage({method: 'tyroIclient::continueLastTransaction'}, target);
          frame.contentWindow.postMessage('not json', target);
          frame.contentWindow.postMessage(JSON.stringify({method: 'tyroIclient::__ready', params: 'pong'}), target);
          frame.contentWindow.postMessage(
            JSON.stringify({method: 'tyroIclient::continueLastTransaction'}), target);
          await done;
          frame.remove();
          return seen;
        }""",
        sim.base_url,
    )
    assert all(message["type"] == "string" for message in result)
    assert all(message["origin"] == sim.base_url.rstrip("/") for message in result)
    pings = [m for m in result if m["data"] == '{"method":"tyroIclient::__ready","params":"ping"}']
    assert len(pings) == 1
    assert result[0] == pings[0]
    last = json.loads(result[-1]["data"])
    assert last == {"method": "tyroIclient::transactionComplete", "params": last["params"]}
    assert last["params"]["result"] == "NOT STARTED"


def test_configuration_and_logs_pages(pms: Pms, sim: Sim) -> None:
    pair(pms, sim)
    page = pms.page.context.new_page()
    page.goto(sim.base_url + "logs.html")
    assert "tyroIclient::pairTerminal" in page.inner_text("#logs")
    page.goto(sim.base_url + "configuration.html")
    page.fill("#mid", str(MID))
    page.fill("#tid", "7")
    page.click("#pair")
    page.wait_for_selector("#progress li:has-text('inProgress')")
    assert sim.authorise(MID, 7).status_code < 300
    page.wait_for_selector("#progress li.success")
    assert page.inner_text("#current") == f"MID {MID}, TID 7"
    page.close()


def test_cancel_right_after_start_cancels_before_the_fund(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    pms.page.evaluate("req => { window.pms.start('claim', req, {answer: 'ACCEPT'}); window.pms.cancel(); }",
                      claim_request([1000, 10000], terminal))
    outcome = pms.wait()

    assert outcome["response"]["result"] == "CANCELLED"
    assert outcome["questions"] == []
    assert sim.ledger() == []


def test_iframe_holds_a_cancel_that_overtakes_its_request(pms: Pms, sim: Sim) -> None:
    """Tyro's library flushes early messages newest first (reference §2.1 item 4)."""
    terminal = pair(pms, sim)
    result = pms.page.evaluate(
        """async ([base, request]) => {
          const frame = document.createElement('iframe');
          const origin = location.protocol + '//' + location.host;
          frame.src = base + 'iclient.html?apiKey=Test%20API%20Key&originOfPos=' + encodeURIComponent(origin);
          const target = new URL(base).origin;
          const send = (message) => frame.contentWindow.postMessage(JSON.stringify(message), target);
          const complete = new Promise((resolve) => {
            window.addEventListener('message', (event) => {
              if (event.source !== frame.contentWindow) return;
              const message = JSON.parse(event.data);
              if (message.params === 'ping') {
                send({method: 'tyroIclient::__ready', params: 'pong'});
                send({method: 'tyroIclient::cancelTransaction'});
                send({method: 'tyroIclient::healthpointClaim', params: {...request, type: 'healthpointClaim'}});
              } else if (message.method === 'tyroIclient::transactionComplete') {
                resolve(message.params);
              }
            });
          });
          document.body.appendChild(frame);
          const response = await complete;
          frame.remove();
          return response;
        }""",
        [sim.base_url, claim_request([1000, 10000], terminal)],
    )

    assert result["result"] == "CANCELLED"
    assert sim.ledger() == []


def test_library_ignores_messages_not_from_its_iframe(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    pms.start("claim", claim_request([1000, 10000], terminal), {"answer": None})
    pms.wait_for_event("question")
    forged = '{"method":"tyroIclient::transactionComplete","params":{"result":"APPROVED"}}'
    pms.page.evaluate("text => window.postMessage(text, '*')", forged)
    pms.page.wait_for_timeout(200)
    assert pms.events("complete") == []
    assert pms.call("iframeCount") == 1

    pms.call("answer", "REJECT")
    assert pms.wait()["response"]["result"] == "CANCELLED"


def test_refund(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    outcome = pms.call("run", "initiateRefund", {"amount": "10000", "integratedReceipt": False, **terminal},
                       {"answer": "YES"})

    assert outcome["response"]["result"] == "APPROVED"
    assert kinds(sim) == ["refund"]


def _iclient_frame(pms: Pms) -> Any:
    frames = [frame for frame in pms.page.frames if "iclient.html" in frame.url]
    assert len(frames) == 1
    return frames[0]


def test_lost_link_reattaches_to_the_running_claim(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    pms.start("claim", claim_request([1000, 10000], terminal), {"answer": None})
    pms.wait_for_event("question")

    _iclient_frame(pms).evaluate("window.claimbridgeFrame.dropLink()")
    pms.page.wait_for_function("window.pms.events.filter(e => e.type === 'question').length >= 2")
    pms.call("answer", "ACCEPT")
    outcome = pms.wait()

    assert outcome["response"]["result"] == "APPROVED"
    assert outcome["questions"][0] == outcome["questions"][-1]
    assert kinds(sim) == ["claim"]


def test_lost_link_during_pairing_reports_failure(pms: Pms, sim: Sim) -> None:
    pms.start("pair", MID, TID)
    pms.wait_for_event("pairingStatus")
    _iclient_frame(pms).evaluate("window.claimbridgeFrame.dropLink()")
    result = pms.wait()

    assert result["statuses"][-1] == {"status": "failure", "message": "Connection to the terminal was lost."}
    assert pms.call("iframeCount") == 0


def test_unanswered_question_voids_after_120_seconds(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    sim.set_clock(scale=1000)
    outcome = pms.call("claim", claim_request([1000, 10000], terminal), {"answer": None})

    assert len(outcome["questions"]) >= 1
    assert "Voiding claim" in outcome["statuses"]
    assert outcome["response"]["result"] == "CANCELLED"
    assert kinds(sim) == ["claim", "void"]


def test_gap_purchase_above_the_gap_is_declined(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    claim = pms.call("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})["response"]
    purchase = {
        "amount": str(int(claim["healthpointGapAmount"]) + 1),
        "integratedReceipt": False,
        "healthpointTransactionId": claim["transactionId"],
        **terminal,
    }
    outcome = pms.call("purchase", purchase, {"answer": "YES"})

    assert outcome["response"]["result"] == "DECLINED"


def test_link_that_keeps_failing_ends_unknown(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    frames: list[str] = []

    def black_hole(ws: Any) -> None:
        def on_message(message: str | bytes) -> None:
            frames.append(str(message))
            ws.close()

        ws.on_message(on_message)

    pms.page.route_web_socket(re.compile(r".*/_term/ws.*"), black_hole)
    outcome = pms.call("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})

    assert outcome["response"] == {"result": "UNKNOWN"}
    assert '"method":"healthpointClaim"' in frames[0]
    assert all('"method":"continueLastTransaction"' in frame for frame in frames[1:])
    assert len(frames) == 6
    assert sim.ledger() == []

