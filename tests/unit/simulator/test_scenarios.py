"""Unit tests for simulator/scenarios.py."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from simulator.scenarios import (
    Scenario,
    ScenarioBook,
    cancel_magic,
    claim_magic,
    item_magic,
    purchase_magic,
)


def test_claim_magic() -> None:
    assert claim_magic(90021).phf_code == "21"
    assert claim_magic(99055).fund_delay_s == 60.0
    for total in range(1015, 1020):
        magic = claim_magic(total)
        assert magic.fund_silent and magic.autovoid_error == total
    assert claim_magic(11000) == claim_magic(1014)


def test_item_magic() -> None:
    assert item_magic(1107) == "07"
    assert item_magic(1199) == "99"
    assert item_magic(1100) is None and item_magic(1200) is None


def test_cancel_magic() -> None:
    cancelled = cancel_magic(5702)
    assert cancelled is not None and cancelled.declined_code is None
    declined = cancel_magic(90076)
    assert declined is not None and declined.declined_code == "76"
    assert cancel_magic(11000) is None


@pytest.mark.parametrize(
    ("amount", "result", "card", "signature"),
    [
        (10000, "APPROVED", "EFTPOS", False),
        (10001, "DECLINED", "EFTPOS", False),
        (10208, "APPROVED", "Visa", True),
        (10301, "DECLINED", "MasterCard", False),
        (10251, "DECLINED", "Visa", False),
        (3500, "APPROVED", "Visa", False),
        (4400, "APPROVED", "Visa", False),
    ],
)
def test_purchase_magic(amount: int, result: str, card: str, signature: bool) -> None:
    magic = purchase_magic(amount)
    assert (magic.result, magic.card_type, magic.signature) == (result, card, signature)


def test_purchase_http_errors() -> None:
    assert purchase_magic(503).http_error == 503
    assert purchase_magic(400).result is None


def test_scenario_model() -> None:
    scenario = Scenario.model_validate({"mid": 1, "itemResponseCodes": ["00", None, "07"], "loyalty": True})
    assert scenario.loyalty_bonus() == 500
    assert Scenario.model_validate({"loyalty": 250}).loyalty_bonus() == 250
    assert Scenario().loyalty_bonus() is None
    for bad in ({"result": "MAYBE"}, {"itemResponseCodes": ["7"]}, {"unknown": 1},
                {"autovoidError": 1020}, {"phfResponseCode": "1"}, {"loyalty": -1}):
        with pytest.raises(ValidationError):
            Scenario.model_validate(bad)


def test_scenario_book_applies_once_per_terminal() -> None:
    book = ScenarioBook()
    book.add(Scenario(mid=1, tid=2, result="DECLINED"))
    book.add(Scenario(result="APPROVED"))
    assert book.take(9, 9) == Scenario(result="APPROVED")
    assert book.take(9, 9) is None
    taken = book.take(1, 2)
    assert taken is not None and taken.result == "DECLINED"
    assert len(book) == 0
    book.add(Scenario())
    book.clear()
    assert len(book) == 0


def test_plan_fund_combines_magic_and_scenario() -> None:
    from simulator.scenarios import plan_fund

    plain = plan_fund(11000, Scenario())
    assert (plain.delay_s, plain.silent, plain.autovoid_error) == (0.8, False, None)
    assert not plain.autovoids(55)
    late = plan_fund(99055, Scenario())
    assert late.delay_s == 60 and late.autovoids(55) and late.autovoid_error is None
    failed = plan_fund(1016, Scenario())
    assert failed.silent and failed.autovoid_error == 1016
    assert plan_fund(11000, Scenario(result="UNKNOWN")).autovoid_error == 1015
    assert plan_fund(11000, Scenario(result="REVERSED")).autovoid_error is None
    assert plan_fund(11000, Scenario(result="REVERSED")).silent
    assert plan_fund(99055, Scenario(fundDelayMs=10)).delay_s == 0.01
    assert plan_fund(90021, Scenario()).phf_code == "21"
    assert plan_fund(90021, Scenario(phfResponseCode="93")).phf_code == "93"
    assert plan_fund(11000, Scenario(result="DECLINED")).force_result == "DECLINED"
    assert plan_fund(11000, Scenario(result="SYSTEM ERROR")).system_error
