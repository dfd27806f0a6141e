"""Unit tests for simulator/healthpoint/cancels.py: cancel decisions and gap payments."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from simulator.healthpoint.funds import Card, load_reference
from simulator.healthpoint.adjudication import adjudicate
from simulator.healthpoint.cancels import OriginalClaim, cancel_outcome, gap_payment_allowed
from simulator.healthpoint.requests import parse_claim_request

REF = load_reference()
CARD = REF.test_card
ISOFT = REF.fund_for(CARD)
REQUESTS = Path(__file__).resolve().parents[4] / "fixtures" / "healthpoint" / "requests"


def params(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REQUESTS / "claim_two_items.json").read_text())
    data.update(changes)
    return data


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



def test_gap_payment_limits() -> None:
    accepted = original()
    assert accepted.adjudication is not None and accepted.adjudication.gap == 4400
    assert gap_payment_allowed(accepted, 4400, 0)
    assert not gap_payment_allowed(accepted, 4401, 0)
    assert gap_payment_allowed(accepted, 400, 4000)
    assert not gap_payment_allowed(accepted, 401, 4000)
    assert not gap_payment_allowed(original("voided"), 100, 0)
    assert not gap_payment_allowed(None, 100, 0)
