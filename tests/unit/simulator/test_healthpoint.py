"""Unit tests for simulator/healthpoint.py (pure: no loop, no I/O besides fixtures)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from simulator.errors import HttpRefused, InvalidRequest, NotPaired, TerminalBusy
from simulator.funds import Card, load_reference
from simulator.healthpoint import (
    SYDNEY,
    OriginalClaim,
    ReconClaim,
    adjudicate,
    approval_question,
    can_cancel_same_day,
    cancel_outcome,
    claim_receipt_lines,
    claim_response,
    claims_report_xml,
    format_terminal_datetime,
    parse_claim_request,
    parse_purchase_request,
    payments_report_xml,
    PaymentLine,
    refusal_answer,
    settlement_datetime,
    unavailable_report_xml,
)

REF = load_reference()
CARD = REF.test_card
ISOFT = REF.fund_for(CARD)
REQUESTS = Path(__file__).resolve().parents[3] / "fixtures" / "healthpoint" / "requests"


def params(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REQUESTS / "claim_two_items.json").read_text())
    data.update(changes)
    return data


def one_item(amount: int, **item: Any) -> dict[str, Any]:
    base = {"claimAmount": str(amount), "serviceCode": "500", "description": "Consult",
            "patientId": "00", "serviceDate": "20261123"}
    base.update(item)
    return params(claimItems=[base], claimItemsCount="1", totalClaimAmount=str(amount))


def fields(error: InvalidRequest) -> set[str]:
    return {p.field for p in error.problems}


def sydney(text: str, fold: int = 0) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SYDNEY, fold=fold)


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


# ---------------------------------------------------------------- dates


def test_settlement_next_business_day_at_two_pm_sydney() -> None:
    friday_night = datetime.fromisoformat("2026-11-27T23:30:00+11:00")
    assert settlement_datetime(friday_night) == datetime(2026, 11, 30, 14, 0, tzinfo=SYDNEY)
    # late evening UTC that is already the next Sydney day
    utc = datetime.fromisoformat("2026-11-24T14:30:00+00:00")  # Wed 01:30 AEDT
    assert settlement_datetime(utc).date() == date(2026, 11, 26)
    assert format_terminal_datetime(utc) == "20261125013000"


def test_cancel_cut_off_when_dst_ends() -> None:
    # 2026-04-05 03:00 AEDT -> 02:00 AEST: that Sydney day lasts 25 hours.
    claim_at = sydney("2026-04-05T01:30:00")  # AEDT, before the change
    assert claim_at.utcoffset() == timedelta(hours=11)
    last = sydney("2026-04-05T23:59:59")
    assert last.utcoffset() == timedelta(hours=10)
    assert can_cancel_same_day(claim_at, last)
    assert not can_cancel_same_day(claim_at, last + timedelta(seconds=1))
    # the hour a fixed +11:00 offset would wrongly refuse
    assert can_cancel_same_day(claim_at, datetime.fromisoformat("2026-04-05T13:30:00+00:00"))
    # the day before: cut-off at 23:59:59 AEDT
    before = sydney("2026-04-04T10:00:00")
    assert can_cancel_same_day(before, datetime.fromisoformat("2026-04-04T12:59:59+00:00"))
    assert not can_cancel_same_day(before, datetime.fromisoformat("2026-04-04T13:00:00+00:00"))


def test_cancel_cut_off_when_dst_starts() -> None:
    # 2026-10-04 02:00 AEST -> 03:00 AEDT: that Sydney day lasts 23 hours.
    claim_at = sydney("2026-10-04T01:30:00")
    assert claim_at.utcoffset() == timedelta(hours=10)
    last = sydney("2026-10-04T23:59:59")
    assert last.utcoffset() == timedelta(hours=11)
    assert can_cancel_same_day(claim_at, last)
    assert not can_cancel_same_day(claim_at, last + timedelta(seconds=1))
    # a fixed +10:00 offset would wrongly allow this moment (00:30 AEDT next day)
    assert not can_cancel_same_day(claim_at, datetime.fromisoformat("2026-10-04T13:30:00+00:00"))
    before = sydney("2026-10-03T09:00:00")
    assert can_cancel_same_day(before, datetime.fromisoformat("2026-10-03T13:59:59+00:00"))
    assert not can_cancel_same_day(before, datetime.fromisoformat("2026-10-03T14:00:00+00:00"))


# ---------------------------------------------------------------- cancels


def original(standing: str = "accepted", at: str = "2026-11-23T10:00:00+11:00") -> OriginalClaim:
    request = parse_claim_request(params(), REF)
    return OriginalClaim(request, standing, datetime.fromisoformat(at), CARD,  # type: ignore[arg-type]
                         adjudicate(request, CARD, ISOFT, REF), "b" * 36, "2120601")


def cancel_request(**changes: Any) -> Any:
    return parse_claim_request(params(refTag="2120601", **changes), REF, cancel=True)


NOON = datetime.fromisoformat("2026-11-23T12:00:00+11:00")


def test_cancel_outcomes() -> None:
    assert cancel_outcome(cancel_request(), original(), CARD, NOON).cancelled
    assert cancel_outcome(cancel_request(), None, CARD, NOON).phf_code == "81"
    assert cancel_outcome(cancel_request(), original("estimate"), CARD, NOON).phf_code == "58"
    assert cancel_outcome(cancel_request(), original("cancelled"), CARD, NOON).phf_code == "94"
    assert cancel_outcome(cancel_request(), original("voided"), CARD, NOON).phf_code == "25"
    tomorrow = NOON + timedelta(days=1)
    assert cancel_outcome(cancel_request(), original(), CARD, tomorrow).phf_code == "76"
    different = cancel_request(providerId="2159081W")
    assert cancel_outcome(different, original(), CARD, NOON).phf_code == "30"
    other_card = Card(fundId="PHF00999", member="87654321", patients=CARD.patients)
    assert cancel_outcome(cancel_request(), original(), other_card, NOON).phf_code == "81"


def test_cancel_magic_wins() -> None:
    item = {"claimAmount": "5702", "serviceCode": "1", "description": "X", "patientId": "00",
            "serviceDate": "20261123"}
    magic = parse_claim_request(params(refTag="9", claimItems=[item], claimItemsCount="1",
                                       totalClaimAmount="5702"), REF, cancel=True)
    assert cancel_outcome(magic, None, CARD, NOON).cancelled
    item["claimAmount"] = "90093"
    declined = parse_claim_request(params(refTag="9", claimItems=[item], claimItemsCount="1",
                                          totalClaimAmount="90093"), REF, cancel=True)
    outcome = cancel_outcome(declined, original(), CARD, NOON)
    assert not outcome.cancelled and outcome.phf_code == "93"


# ---------------------------------------------------------------- reports


def test_claims_report_xml() -> None:
    at = datetime.fromisoformat("2026-11-23T10:00:00+11:00")
    claims = [
        ReconClaim("2120601", "APP", "1455813F", "PHF00999", 11000, 6600, "00", "", at,
                   settlement_datetime(at)),
        ReconClaim("2120602", "AVOID", "1455813F", "PHF00999", 99055, 0, "00", "", at,
                   settlement_datetime(at)),
    ]
    root = ET.fromstring(claims_report_xml("SIM00001", date(2026, 11, 23), claims))
    assert root.tag == "claims-reconciliation-response"
    body = root.find("claims-reconciliation")
    assert body is not None
    assert body.findtext("healthpoint-terminal-id") == "SIM00001"
    assert body.findtext("claim-date") == "20261123"
    assert [c.findtext("status") for c in body.iter("claim")] == ["APP", "AVOID"]
    assert body.findtext("check/total-number-claims") == "000002"
    assert int(body.findtext("check/sum-claim-amount") or "0") == 110055
    assert ET.fromstring(unavailable_report_xml()).text == "No report created."


def test_payments_report_xml() -> None:
    at = datetime(2026, 11, 24, 14, 0, tzinfo=SYDNEY)
    root = ET.fromstring(payments_report_xml("SIM00001", date(2026, 11, 24),
                                             [PaymentLine("PHF00999", "ISOFT FUND", at, 2, 13200)]))
    assert root.findtext("payments-reconciliation/payment/payment-amount") == "13200"
    assert root.findtext("payments-reconciliation/check/sum-payment-amount") == "000000013200"


def test_gap_payment_limits() -> None:
    from simulator.healthpoint import gap_payment_allowed

    accepted = original()
    assert accepted.adjudication is not None and accepted.adjudication.gap == 4400
    assert gap_payment_allowed(accepted, 4400, 0)
    assert not gap_payment_allowed(accepted, 4401, 0)
    assert gap_payment_allowed(accepted, 400, 4000)
    assert not gap_payment_allowed(accepted, 401, 4000)
    assert not gap_payment_allowed(original("voided"), 100, 0)
    assert not gap_payment_allowed(None, 100, 0)
