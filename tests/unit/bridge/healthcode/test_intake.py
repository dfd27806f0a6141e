"""Tests for bridge.healthcode.intake: every problem of a bill in one pass."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from bridge.healthcode.intake import check_bill
from bridge.clearing.reference import load_reference
from tests.unit.bridge.healthcode.bills import make, wire

REF = load_reference()
TODAY = date(2026, 11, 20)


def found(data: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    _, problems = check_bill(data, today=TODAY, reference=REF)
    return [(p.field, p.error, p.healthcode_field) for p in problems]


def test_a_clean_bill_gives_the_bill_and_no_problem() -> None:
    bill, problems = check_bill(wire(), today=TODAY, reference=REF)
    assert problems == [] and bill == make()


def test_three_mistakes_are_reported_at_once() -> None:
    # The documented example: empty membership number, future date of service, unknown insurer.
    data = wire()
    data["patient"]["membershipNumber"] = ""
    data["lines"][1]["serviceDate"] = "2026-12-01"
    data["insurer"] = "zzz"
    bill, problems = check_bill(data, today=TODAY, reference=REF)
    assert bill is None
    assert found(data) == [
        ("patient.membershipNumber", "Required", "RegistrationNo"),
        ("insurer", "Invalid Insurer", "Insurer"),
        ("lines[1].serviceDate", "May not be after Today", "FDOS"),
    ]
    assert all(p.suggestion for p in problems)


def test_missing_malformed_and_unknown_fields_each_named() -> None:
    data = wire()
    del data["invoiceNumber"]
    data["setting"] = "X"
    data["patient"]["dateOfBirth"] = "12/04/1980"
    data["lines"][0]["fee"] = "95.00"
    data["lines"][2]["quantity"] = 0
    data["payee"] = "0651978"
    data["colour"] = "blue"
    got = {(f, e) for f, e, _ in found(data)}
    assert got == {
        ("invoiceNumber", "Required"),
        ("setting", "Invalid Format"),
        ("patient.dateOfBirth", "Invalid Format"),
        ("lines[0].fee", "Invalid Format"),
        ("lines[2].quantity", "Invalid Format"),
        ("payee", "Must be an object"),
        ("colour", "Not a bill field"),
    }


def test_rules_still_run_beside_structural_problems_but_never_twice_for_a_field() -> None:
    data = wire()
    data["practitioner"]["healthcodeId"] = "   "
    data["lines"][0]["isc"] = "NOPE"
    data["lines"][1]["fee"] = None
    got = found(data)
    assert ("practitioner.healthcodeId", "Required", "ProviderNo") in got
    assert ("lines[0].isc", "Invalid Code", "ServiceCode") in got
    assert [f for f, _, _ in got].count("practitioner.healthcodeId") == 1
    assert all(f != "lines" for f, _, _ in got), "NetTotal is not judged on an unreadable fee"


def test_no_lines_and_empty_bill_do_not_raise() -> None:
    assert ("lines", "Required", "NetTotal") in found({**wire(), "lines": []})
    fields = {f for f, _, _ in found({})}
    assert {"invoiceNumber", "insurer", "setting", "practitioner", "payee", "patient", "lines"} <= fields


def test_optional_field_empty_is_a_problem_absent_is_not() -> None:
    data = copy.deepcopy(wire())
    data["patient"]["postcode"] = " "
    assert found(data) == [("patient.postcode", "May not be empty", None)]
    del data["patient"]["postcode"]
    assert found(data) == []
