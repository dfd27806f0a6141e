"""bridge/healthpoint/iclient.py: iClient's JSON shapes are exactly what the conversions build."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bridge.healthpoint import (
    ClaimCall,
    ClaimItem,
    ClaimItemCall,
    ClaimRequest,
    Pairing,
    PairCall,
    PairingKeys,
    PurchaseCall,
    RefundCall,
    ReportCall,
    pairing_call,
    report_call,
    terminal_info_call,
    to_iclient_cancel,
    to_iclient_claim,
    to_iclient_gap_purchase,
    to_iclient_refund,
)

KEYS = Pairing(mid=100, tid=200, integrationKey="k-secret")
ITEM = ClaimItem(claimAmount=5000, serviceCode="500", description="Consult", patientId="01", serviceDate=date(2026, 3, 2))
CLAIM = ClaimRequest(providerId="2159081W", serviceType="1", items=(ITEM, ITEM.model_copy(update={"serviceReference": "11"})))


def _fits(shape: type, value: dict[str, object]) -> bool:
    keys = set(value)
    return shape.__required_keys__ <= keys <= shape.__required_keys__ | shape.__optional_keys__


@pytest.mark.parametrize(
    ("shape", "value"),
    [
        (ClaimCall, to_iclient_claim(CLAIM, KEYS, transaction_id="job-1")),
        (ClaimCall, to_iclient_claim(CLAIM, None)),
        (ClaimCall, to_iclient_cancel(CLAIM, "RT-1", KEYS)),
        (PurchaseCall, to_iclient_gap_purchase(4400, "claim-tx", KEYS)),
        (PurchaseCall, to_iclient_gap_purchase(4400, "claim-tx", None)),
        (RefundCall, to_iclient_refund(100, KEYS)),
        (PairCall, pairing_call(100, 200).request),
        (PairingKeys, terminal_info_call(KEYS).request),
        (ReportCall, report_call(KEYS, "2026-03-02", "claims").request),
    ],
)
def test_every_request_is_exactly_its_shape(shape: type, value: dict[str, object]) -> None:
    assert _fits(shape, value), (shape.__name__, sorted(value))


def test_claim_items_keep_the_seed_examples_member_order() -> None:
    # seeds/004 "Example request": serviceReference between description and patientId.
    plain, referenced = to_iclient_claim(CLAIM, None)["claimItems"]
    assert all(_fits(ClaimItemCall, dict(item)) for item in (plain, referenced))
    assert list(plain) == ["claimAmount", "serviceCode", "description", "patientId", "serviceDate"]
    assert list(referenced) == ["claimAmount", "serviceCode", "description", "serviceReference", "patientId", "serviceDate"]


def test_a_claims_request_is_the_same_json_as_before_typing() -> None:
    # The bytes the page hands to iClient: the pairing keys after the items, in mid/tid/key order.
    sent = to_iclient_claim(CLAIM, KEYS, transaction_id="job-1")
    assert json.dumps(sent, separators=(",", ":")) == (
        '{"providerId":"2159081W","serviceType":"1","claimItemsCount":"2","totalClaimAmount":"10000",'
        '"claimItems":[{"claimAmount":"5000","serviceCode":"500","description":"Consult","patientId":"01",'
        '"serviceDate":"20260302"},{"claimAmount":"5000","serviceCode":"500","description":"Consult",'
        '"serviceReference":"11","patientId":"01","serviceDate":"20260302"}],'
        '"mid":100,"tid":200,"integrationKey":"k-secret","transactionId":"job-1"}'
    )
