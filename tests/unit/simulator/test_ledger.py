"""Unit tests for simulator/ledger.py."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

from simulator.healthpoint.funds import load_reference
from simulator.healthpoint import OriginalClaim, adjudicate, parse_claim_request
from simulator.ledger import Ledger, LedgerRecord, items_json

REF = load_reference()
REQUEST = parse_claim_request(
    json.loads((Path(__file__).resolve().parents[3] / "fixtures" / "healthpoint" / "requests"
                / "claim_two_items.json").read_text()), REF)
ADJ = adjudicate(REQUEST, REF.test_card, REF.fund_for(REF.test_card), REF)
MONDAY = datetime.fromisoformat("2026-11-23T10:00:00+11:00")


def claim(ref_tag: str, standing: str = "pending", at: datetime = MONDAY) -> OriginalClaim:
    return OriginalClaim(REQUEST, standing, at, REF.test_card, ADJ, "t" + ref_tag, ref_tag)  # type: ignore[arg-type]


def test_record_json_has_interface_fields() -> None:
    record = LedgerRecord("2120601", "x" * 36, 2187, 1, "claim", "APPROVED", 11000, 6600,
                          items_json(ADJ), MONDAY, {"fundId": "PHF00999"})
    out = record.to_json()
    assert {"refTag", "transactionId", "mid", "tid", "kind", "status", "totalClaimAmount",
            "totalBenefit", "items", "at"} <= set(out)
    assert out["items"][0] == {"serviceCode": "00500", "claimAmount": 1000, "benefit": 600,
                               "responseCode": "00", "patientId": "02", "serviceDate": "20261123",
                               "bonus": False}
    assert out["fundId"] == "PHF00999"


def test_standing_and_reports() -> None:
    ledger = Ledger()
    ledger.remember(2187, 1, claim("1"), "ISOFT FUND")
    ledger.remember(2187, 1, claim("2"), "ISOFT FUND")
    ledger.remember(2187, 1, claim("3"), "ISOFT FUND")
    ledger.remember(2187, 2, claim("4", "accepted"), "ISOFT FUND")
    ledger.set_standing(2187, 1, "1", "accepted")
    ledger.set_standing(2187, 1, "2", "cancelled")
    assert ledger.claim(2187, 1, "1") is not None
    assert ledger.claim(2187, 1, "1").standing == "accepted"  # type: ignore[union-attr]
    assert ledger.claim_by_transaction(2187, 1, "t2") is not None
    assert ledger.claim_by_transaction(2187, 2, "t2") is None
    recon = ledger.recon_claims(2187, 1, date(2026, 11, 23))
    assert [(c.ref_tag, c.status) for c in recon] == [("1", "APP"), ("2", "CAN")]  # pending omitted
    assert ledger.recon_claims(2187, 1, date(2026, 11, 24)) == []
    payments = ledger.payments(2187, 1, date(2026, 11, 24), REF)
    assert [(p.fund_id, p.claims, p.amount) for p in payments] == [("PHF00999", 1, 6600)]
    ledger.clear()
    assert ledger.records == () and ledger.claim(2187, 1, "1") is None


def test_gap_paid_sums_linked_approved_purchases() -> None:
    ledger = Ledger()
    for status, amount in (("APPROVED", 1000), ("DECLINED", 500), ("APPROVED", 400)):
        ledger.add(LedgerRecord(None, "p", 2187, 1, "purchase", status, 0, 0, (), MONDAY,
                                {"amount": amount, "healthpointTransactionId": "t1"}))
    assert ledger.gap_paid(2187, 1, "t1") == 1400
    assert ledger.gap_paid(2187, 1, "t9") == 0
