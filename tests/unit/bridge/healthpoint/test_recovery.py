"""bridge/healthpoint/recovery.py: proving a re-attached answer is the job we sent."""

from __future__ import annotations

from bridge.healthpoint import is_same_transaction, same_claim, same_purchase

SENT = {
    "transactionId": "job-1",
    "providerId": "2159081W",
    "claimItems": [{"claimAmount": "10000", "patientId": "02"}, {"claimAmount": "10100", "patientId": "02"}],
}
ECHO = {
    "healthpointProviderId": "2159081W",
    "healthpointClaimItems": [
        {"claimAmount": "10000", "patientId": "02", "serviceCode": "00500"},
        {"claimAmount": "10100", "patientId": "02", "serviceCode": "00505"},
        {"claimAmount": "0", "patientId": "02", "serviceCode": "992"},
    ],
}


def test_same_claim_matches_echoed_items_and_ignores_the_loyalty_bonus() -> None:
    assert same_claim(SENT, ECHO)


def test_a_charged_00992_item_is_not_a_bonus() -> None:
    charged = {"healthpointClaimItems": [*ECHO["healthpointClaimItems"][:2],
                                         {"claimAmount": "500", "patientId": "02", "serviceCode": "00992"}]}
    assert not same_claim(SENT, charged)


def test_another_claim_is_not_ours() -> None:
    other_provider = {**ECHO, "healthpointProviderId": "1455813F"}
    other_amounts = {"healthpointClaimItems": [{"claimAmount": "10000", "patientId": "02"}]}
    other_patient = {"healthpointClaimItems": [{"claimAmount": "10000", "patientId": "02"},
                                               {"claimAmount": "10100", "patientId": "03"}]}
    assert not same_claim(SENT, other_provider)
    assert not same_claim(SENT, other_amounts)
    assert not same_claim(SENT, other_patient)
    assert not same_claim(SENT, {"result": "NOT STARTED"})


def test_purchase_is_ours_when_linked_to_the_same_claim() -> None:
    sent = {"healthpointTransactionId": "claim-t"}
    assert same_purchase(sent, {"healthpointTransactionId": "claim-t"})
    assert same_purchase(sent, {})
    assert not same_purchase(sent, {"healthpointTransactionId": "other"})


def test_an_echoed_transaction_id_decides_alone() -> None:
    assert is_same_transaction(SENT, {**ECHO, "transactionId": "job-1"})
    assert not is_same_transaction(SENT, {**ECHO, "transactionId": "job-2"})
    assert not is_same_transaction({"transactionId": "g"}, {"transactionId": "h"})


def test_without_a_transaction_id_the_echoed_fields_decide() -> None:
    assert is_same_transaction(SENT, {**ECHO, "transactionId": "undefined"})
    assert not is_same_transaction(SENT, {"transactionId": ""})
    assert is_same_transaction({"healthpointTransactionId": "c"}, {"healthpointTransactionId": "c"})


def test_a_purchase_or_refund_of_another_amount_is_not_ours() -> None:
    gap = {"amount": "8040", "healthpointTransactionId": "claim-t"}
    assert same_purchase(gap, {"amount": "8040", "healthpointTransactionId": "claim-t"})
    assert same_purchase(gap, {"amount": 8040})
    assert not same_purchase(gap, {"amount": "8041", "healthpointTransactionId": "claim-t"})
    refund = {"amount": "500"}
    assert same_purchase(refund, {"result": "APPROVED", "amount": "500"})
    assert same_purchase(refund, {"result": "APPROVED", "healthpointTransactionId": "undefined"})
    assert not same_purchase(refund, {"amount": "500", "healthpointTransactionId": "claim-t"})  # the gap payment
    assert not same_purchase(refund, {"amount": "1000"})


def test_the_requests_shape_says_claim_or_purchase() -> None:
    # A refund's request has no claimItems: its answer is judged as a purchase, by amount.
    refund = {"amount": "500", "integratedReceipt": True, "transactionId": "job-9"}
    assert is_same_transaction(refund, {"result": "APPROVED", "amount": "500"})
    assert not is_same_transaction(refund, {"result": "APPROVED", "amount": "501"})


def test_echoed_items_that_are_not_objects_are_not_ours() -> None:
    assert not same_claim(SENT, {"healthpointClaimItems": "[{...}]"})
    assert not same_claim(SENT, {"healthpointClaimItems": [*ECHO["healthpointClaimItems"], "x"]})
