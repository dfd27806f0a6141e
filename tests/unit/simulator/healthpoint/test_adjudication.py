"""Unit tests for simulator/healthpoint/adjudication.py: decisions, responses, receipts."""

from __future__ import annotations

from datetime import datetime

from simulator.healthpoint.funds import load_reference
from simulator.healthpoint.adjudication import (
    adjudicate,
    approval_question,
    claim_receipt_lines,
    claim_response,
)
from simulator.healthpoint.requests import parse_claim_request
from tests.unit.simulator.healthpoint.claims import one_item, params

REF = load_reference()
CARD = REF.test_card
ISOFT = REF.fund_for(CARD)




# ---------------------------------------------------------------- adjudication


def test_isoft_pays_sixty_percent_floor() -> None:
    request = parse_claim_request(params(), REF)
    result = adjudicate(request, CARD, ISOFT, REF)
    assert result.approved and result.phf_code == "00"
    assert [o.benefit for o in result.items] == [600, 6000]
    assert (result.total_benefit, result.gap) == (6600, 4400)
    odd = adjudicate(parse_claim_request(one_item(999), REF), CARD, ISOFT, REF)
    assert odd.total_benefit == 599  # floor(999 * 60 / 100)
    assert approval_question(result)["text"] == (
        "Claim approved. Benefit $66.00, gap $44.00. Patient accepts?"
    )


def test_item_magic_and_rejections() -> None:
    magic = adjudicate(parse_claim_request(one_item(1105), REF), CARD, ISOFT, REF)
    assert not magic.approved and magic.phf_code == "21"  # no item approved
    assert magic.items[0].response_code == "05"
    plain_1100 = adjudicate(parse_claim_request(one_item(1100), REF), CARD, ISOFT, REF)
    assert plain_1100.approved
    not_covered = adjudicate(parse_claim_request(one_item(1000, patientId="07"), REF), CARD, ISOFT, REF)
    assert not_covered.items[0].response_code == "19"
    unknown_provider = parse_claim_request(params(providerId="9999999X"), REF)
    assert {o.response_code for o in adjudicate(unknown_provider, CARD, ISOFT, REF).items} == {"03"}


def test_partly_approved_claim_is_approved() -> None:
    request = parse_claim_request(params(), REF)
    result = adjudicate(request, CARD, ISOFT, REF, item_codes=[None, "07"])
    assert result.approved
    assert [(o.response_code, o.benefit) for o in result.items] == [("00", 600), ("07", 0)]
    assert result.gap == 10400


def test_claim_level_declines() -> None:
    request = parse_claim_request(params(), REF)
    declined = adjudicate(request, CARD, ISOFT, REF, phf_code="92")
    assert not declined.approved and declined.phf_code == "92" and declined.total_benefit == 0
    assert {o.response_code for o in declined.items} == {"13"}
    closed = REF.fund_by_id("PHF00260")
    assert closed is not None and not closed.accepting_claims
    assert adjudicate(request, CARD, closed, REF).phf_code == "58"
    forced = adjudicate(request, CARD, ISOFT, REF, force_result="DECLINED")
    assert forced.phf_code == "21"


def test_loyalty_bonus_item_capped_at_gap() -> None:
    request = parse_claim_request(params(), REF)
    result = adjudicate(request, CARD, ISOFT, REF, loyalty_bonus=500)
    bonus = result.items[-1]
    assert bonus.bonus and bonus.item.service_code == "00992" and bonus.item.claim_amount == 0
    assert bonus.item.patient_id == "02" and bonus.benefit == 500
    assert (result.total_benefit, result.gap, result.free_text) == (7100, 3900, "Limit Boost")
    capped = adjudicate(request, CARD, ISOFT, REF, loyalty_bonus=999999)
    assert capped.gap == 0 and capped.items[-1].benefit == 4400


def test_claim_response_shape() -> None:
    request = parse_claim_request(params(), REF)
    result = adjudicate(request, CARD, ISOFT, REF)
    now = datetime.fromisoformat("2026-11-27T10:00:00+11:00")  # a Friday
    response = claim_response(result="APPROVED", request=request, adjudication=result, reference=REF,
                              fund=ISOFT, card=CARD, ref_tag="2120601", transaction_id="a" * 36, now=now)
    assert response["healthpointSettlementDateTime"] == "20261130140000"  # Monday
    assert response["healthpointTerminalDateTime"] == "20261127100000"
    assert response["healthpointHealthFundIdentifyingDigits"] == "0099"
    item = response["healthpointClaimItems"][1]
    assert item == {"claimAmount": "10000", "serviceCode": "00520", "description": "Extended Consul",
                    "patientId": "02", "serviceDate": "20261123", "rebateAmount": "6000",
                    "responseCode": "00", "responseCodeDescription": "APPROVED"}
    assert any("GAP" in line for line in claim_receipt_lines("claim", response))
