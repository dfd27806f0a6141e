"""Tests for bridge.healthcode.members: required Find Member fields, the form, the answer."""

from __future__ import annotations

from datetime import date

from bridge.healthcode.fhir import MemberMatch
from bridge.healthcode.members import (
    bill_member_query,
    find_member_form,
    find_member_result,
    member_check_problems,
    missing_member_fields,
)
from bridge.clearing.reference import load_reference
from tests.unit.bridge.healthcode.bills import make

REF = load_reference()


def test_aviva_requires_last_name_first_initial_dob_postcode() -> None:
    problems = missing_member_fields("nuh", {"lastName": "X", "postcode": "  "}, REF, prefix="patient.")
    assert [(p.field, p.healthcode_field) for p in problems] == [
        ("patient.firstName", "firstName"), ("patient.dateOfBirth", "dateOfbirth"), ("patient.postcode", "postCode")]
    assert all("Aviva" in p.error for p in problems)
    assert [p.field for p in missing_member_fields("zzz", {}, REF)] == ["insurer"]
    assert missing_member_fields("wpa", {}, REF) == []  # no enquiry: nothing is required


def test_form_uses_healthcodes_names_and_the_bills_patient() -> None:
    form = find_member_form("bup", bill_member_query(make()), date(2026, 11, 20))
    assert form == {"insurerIdentifier": "bup", "policyActiveOn": "2026-11-20", "membershipNumber": "BUP1000001",
                    "firstName": "Alice", "lastName": "Testwell", "dateOfbirth": "1980-04-12", "postCode": "ZZ1 1AA"}


def test_answer_prefers_an_active_policy_and_pre_flight_problems() -> None:
    lapsed = MemberMatch(membership_number="A", policy_active=False)
    active = MemberMatch(membership_number="B", policy_active=True)
    result = find_member_result([lapsed, active], "Bupa")
    assert result["found"] and result["policyActive"] and result["member"]["membershipNumber"] == "B"
    assert member_check_problems(result) == []
    assert member_check_problems(find_member_result([lapsed], "Bupa"))[0].error == "Cover not in force"
    nobody = member_check_problems(find_member_result([], "Bupa"))
    assert [(p.field, p.healthcode_field) for p in nobody] == [("patient.membershipNumber", "RegistrationNo")]


def test_answers_without_a_member() -> None:
    from bridge.healthcode.bills import Problem
    from bridge.healthcode.members import missing_fields_answer, not_found_answer

    missing = missing_fields_answer([Problem(field="patient.postcode", error="Required", suggestion="Give it")])
    assert missing == {"found": False, "policyActive": False, "member": None,
                       "message": "Healthcode was not asked: fields are missing",
                       "problems": [{"field": "patient.postcode", "error": "Required", "suggestion": "Give it"}]}
    refused = not_found_answer("Bupa: bad form")
    assert refused == {"found": False, "policyActive": False, "member": None, "problems": [],
                       "message": "Bupa: bad form"}
    assert member_check_problems(refused)[0].error == "No matching membership details can be found"
