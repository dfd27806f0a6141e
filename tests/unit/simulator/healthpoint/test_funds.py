"""Unit tests for simulator/healthpoint/funds.py (reads the fixtures only)."""

from __future__ import annotations

from simulator.healthpoint.funds import Card, load_reference


def test_every_seed_fund_present() -> None:
    ref = load_reference()
    digits = {f.identifying_digits for f in ref.funds}
    assert len(ref.funds) == 38 and len(digits) == 38
    closed = {f.fund_id for f in ref.funds if not f.accepting_claims}
    assert closed == {"PHF00260", "PHF00370", "PHF00110", "PHF00500"}


def test_isoft_fund_and_test_card() -> None:
    ref = load_reference()
    fund = ref.fund_for(ref.test_card)
    assert fund is not None
    assert (fund.fund_id, fund.name, fund.identifying_digits, fund.benefit_percent) == (
        "PHF00999", "ISOFT FUND", "0099", 60)
    assert ref.test_card.patients == {"00": "John Citizen", "01": "Judy Citizen", "02": "Jack Citizen"}
    assert ref.test_card.member == "12345678"


def test_lookups() -> None:
    ref = load_reference()
    assert ref.provider("2159081W") is not None and ref.provider("1455813F") is not None
    assert ref.provider("4237955J") is None
    rt = ref.fund_for(Card(fundId="PHF00350", identifyingDigits="0084", member="1", patients={}))
    assert rt is not None and rt.identifying_digits == "0084"
    assert ref.fund_for(Card(fundId="PHF12345", member="1", patients={})) is None
    assert ref.claim_text("76") == "NOT SAME DAY AS CLAIM"
    assert ref.claim_text("P0") == "DECLINED"
    assert ref.item_text("19") == "PATIENT NOT COVERED"
    assert set(ref.modalities) >= {"P", "D", "Y", "0"}
    assert set(ref.autovoid_errors) == {"1015", "1016", "1017", "1018", "1019"}
