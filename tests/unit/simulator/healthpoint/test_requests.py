"""Unit tests for simulator/healthpoint/requests.py: request validation and refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from simulator.errors import HttpRefused, InvalidRequest, NotPaired, TerminalBusy
from simulator.healthpoint.funds import load_reference
from simulator.healthpoint.requests import (
    parse_claim_request,
    parse_purchase_request,
    refusal_answer,
)
from tests.unit.simulator.healthpoint.claims import one_item, params

REF = load_reference()




def fields(error: InvalidRequest) -> set[str]:
    return {p.field for p in error.problems}


# ---------------------------------------------------------------- validation


def test_valid_request_parses_with_string_items() -> None:
    raw = params()
    raw["claimItems"] = json.dumps(raw["claimItems"])
    request = parse_claim_request(raw, REF)
    assert request.total_claim_amount == 11000
    assert [i.claim_amount for i in request.items] == [1000, 10000]
    assert request.items[0].service_reference == "01"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"providerId": "1455813"}, "providerId"),
        ({"serviceType": "X"}, "serviceType"),
        ({"totalClaimAmount": "11001"}, "totalClaimAmount"),
        ({"claimItemsCount": "3"}, "claimItemsCount"),
        ({"claimItems": []}, "claimItems"),
    ],
)
def test_claim_level_rules(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_claim_request(params(**change), REF)
    assert field in fields(caught.value)


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"patientId": "2"}, "claimItems[0].patientId"),
        ({"patientId": "0a"}, "claimItems[0].patientId"),
        ({"serviceDate": "2026-11-23"}, "claimItems[0].serviceDate"),
        ({"serviceDate": "20261131"}, "claimItems[0].serviceDate"),
        ({"description": "x" * 33}, "claimItems[0].description"),
        ({"serviceCode": "123456"}, "claimItems[0].serviceCode"),
        ({"serviceReference": "ABCD"}, "claimItems[0].serviceReference"),
        ({"claimAmount": "12345678901"}, "claimItems[0].claimAmount"),
        ({"claimAmount": "-5"}, "claimItems[0].claimAmount"),
    ],
)
def test_item_rules(item: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_claim_request(one_item(1000, **item), REF)
    assert field in fields(caught.value)


def test_seventeen_items_refused_sixteen_accepted() -> None:
    item = {"claimAmount": "100", "serviceCode": "500", "description": "C", "patientId": "00",
            "serviceDate": "20261123"}
    ok = params(claimItems=[item] * 16, claimItemsCount="16", totalClaimAmount="1600")
    assert len(parse_claim_request(ok, REF).items) == 16
    with pytest.raises(InvalidRequest) as caught:
        parse_claim_request(params(claimItems=[item] * 17, claimItemsCount="17",
                                   totalClaimAmount="1700"), REF)
    assert "claimItems" in fields(caught.value)


def test_cancel_needs_ref_tag() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_claim_request(params(), REF, cancel=True)
    assert fields(caught.value) == {"refTag"}
    assert parse_claim_request(params(refTag="2120601"), REF, cancel=True).ref_tag == "2120601"


def test_purchase_rules() -> None:
    assert parse_purchase_request({"amount": "4400", "integratedReceipt": True}).amount == 4400
    with pytest.raises(InvalidRequest):
        parse_purchase_request({"amount": "0440", "integratedReceipt": False})
    with pytest.raises(InvalidRequest):
        parse_purchase_request({"amount": "4400", "integratedReceipt": "yes"})


def test_refusal_answers() -> None:
    invalid = refusal_answer(InvalidRequest([]))
    assert invalid.question == "Invalid transaction details (400)."
    assert refusal_answer(NotPaired(1, 2)).question == "POS is not paired with a terminal."
    assert refusal_answer(TerminalBusy(1, 2)).question == "Terminal is busy."
    assert refusal_answer(HttpRefused(503)).question == "Request failed (503)."
    assert refusal_answer(HttpRefused(503)).error_code == "503"
