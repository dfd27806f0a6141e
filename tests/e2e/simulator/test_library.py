"""The simulator through a real browser: pairing, stored terminals, and the library's own rules.

A PMS page on its own origin (fixtures/pms) loads ``iclient-v1.js`` from the simulator and is
driven through ``window.pms``; the control API sets scenarios, the clock and reads the ledger.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Pms, Sim
from tests.e2e.simulator.iclient_wire import MID, TID, TODAY, claim_request, pair

__all__: list[str] = []

pytestmark = pytest.mark.e2e


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
