"""bridge/healthpoint/purchases.py: the gap purchase to iClient and back."""

from __future__ import annotations

import pytest

from bridge.healthpoint import Pairing, UnfitAnswer, normalise_purchase, to_iclient_gap_purchase

PAIRING = Pairing(mid=100, tid=200, integrationKey="k-123-secret")


def test_gap_purchase() -> None:
    out = to_iclient_gap_purchase(4400, "6dbdaffd58adac4e89387f2c9d2c0cdd7c1e", PAIRING)
    assert out == {
        "amount": "4400",
        "integratedReceipt": True,
        "healthpointTransactionId": "6dbdaffd58adac4e89387f2c9d2c0cdd7c1e",
        "mid": 100,
        "tid": 200,
        "integrationKey": "k-123-secret",
    }
    assert "mid" not in to_iclient_gap_purchase(1, "x", None)


@pytest.mark.parametrize(("amount", "txn"), [(0, "x"), (-5, "x"), (True, "x"), (100, "")])
def test_gap_purchase_rejects(amount: int, txn: str) -> None:
    with pytest.raises(ValueError):
        to_iclient_gap_purchase(amount, txn, None)


def test_purchase_outcome_has_integer_cents_and_drops_undefined() -> None:
    out = normalise_purchase({"result": "APPROVED", "transactionId": "t", "amount": "8040",
                              "authorisationCode": "undefined", "healthpointTransactionId": "c"})
    assert out == {"result": "APPROVED", "transactionId": "t", "amount": 8040, "healthpointTransactionId": "c"}


def test_purchase_amount_from_transaction_amount_and_non_digits_ignored() -> None:
    assert normalise_purchase({"result": "DECLINED", "transactionAmount": "120"})["amount"] == 120
    assert "amount" not in normalise_purchase({"result": "DECLINED", "amount": "12.00"})


def test_purchase_outcome_keeps_the_answers_order_and_nulls() -> None:
    out = normalise_purchase({"rrn": None, "result": "APPROVED", "baseAmount": "9", "healthpointTransactionId": None})
    assert list(out.items()) == [("result", "APPROVED"), ("rrn", None), ("amount", 9), ("healthpointTransactionId", None)]


@pytest.mark.parametrize("member", ["result", "rrn", "elidedPan", "healthpointTransactionId"])
@pytest.mark.parametrize("value", [123456, True, 1.5, {"a": 1}, ["x"]])
def test_purchase_member_of_an_undocumented_type_is_unfit_not_guessed(member: str, value: object) -> None:
    with pytest.raises(UnfitAnswer) as raised:
        normalise_purchase({"result": "APPROVED", member: value, "amount": "10"})
    assert raised.value.problems == 1 and raised.value.kept[member] == value and raised.value.kept["amount"] == 10
