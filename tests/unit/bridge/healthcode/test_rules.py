"""Tests for bridge.healthcode.rules: every pre-flight rule."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bridge.healthcode import Bill, Problem
from bridge.healthcode.refdata import HealthcodeReference, Registration
from bridge.clearing.reference import load_reference
from bridge.healthcode.rules import validate_bill
from tests.unit.bridge.healthcode.bills import DELETE, make

REF = load_reference()
TODAY = date(2026, 11, 20)




def problems(bill: Bill, today: date = TODAY, reference: HealthcodeReference = REF) -> list[tuple[str, str, str | None]]:
    return [(p.field, p.error, p.healthcode_field) for p in validate_bill(bill, today=today, reference=reference)]


def only(bill: Bill, today: date = TODAY, reference: HealthcodeReference = REF) -> Problem:
    found = validate_bill(bill, today=today, reference=reference)
    assert len(found) == 1, found
    return found[0]


def with_insurer(code: str, **changes: Any) -> HealthcodeReference:
    insurers = dict(REF.insurers)
    insurers[code] = insurers[code].model_copy(update=changes)
    return REF.model_copy(update={"insurers": insurers})


# --- the model ------------------------------------------------------------------------------


def test_fixture_bills_are_valid() -> None:
    assert problems(make()) == []
    assert problems(make("clinic_payee_axa.json")) == []


def test_problem_serialises_with_healthcode_field() -> None:
    problem = only(make(invoiceNumber="INV 1"))
    assert problem.model_dump(by_alias=True) == {
        "field": "invoiceNumber",
        "error": "Invalid Format",
        "suggestion": "Use no spaces",
        "healthcodeField": "InvoiceNo",
    }


# --- insurer --------------------------------------------------------------------------------


def test_unknown_insurer() -> None:
    problem = only(make(insurer="zzz"))
    assert (problem.field, problem.error, problem.healthcode_field) == ("insurer", "Invalid Insurer", "Insurer")
    assert "bup" in problem.suggestion


def test_insurer_in_capitals_gets_a_hint() -> None:
    problem = only(make(insurer="BUP"))
    assert problem.error == "Invalid Insurer"
    assert "'bup'" in problem.suggestion


def test_insurer_without_edi() -> None:
    reference = with_insurer("bup", accepts_edi=False)
    assert problems(make(), reference=reference) == [
        ("insurer", "Insurer does not accept electronic bills", "Insurer")
    ]


# --- invoice number, providers, patient -----------------------------------------------------


@pytest.mark.parametrize(
    ("number", "fragment"),
    [("INV-000001X", "at most 10 characters for AXA"), ("INV.1", "full stops for AXA"), ("INV 1", "spaces")],
)
def test_invoice_number_rules(number: str, fragment: str) -> None:
    problem = only(make("clinic_payee_axa.json", invoiceNumber=number))
    assert (problem.field, problem.error, problem.healthcode_field) == ("invoiceNumber", "Invalid Format", "InvoiceNo")
    assert fragment in problem.suggestion


def test_axa_s_invoice_number_rule_is_axa_s_only() -> None:
    assert problems(make(invoiceNumber="INV-2026-00042")) == []  # Bupa
    assert problems(make(invoiceNumber="INV.2026.1")) == []
    assert only(make("clinic_payee_axa.json", invoiceNumber="INV-2026-00042")).field == "invoiceNumber"


REGISTERED = {"0651978": Registration(insurers={"bup": "P1", "ppp": "P2"}),
              "600123": Registration(insurers={"ppp": "P6"}),
              "0777777": Registration(insurers={"bup": "P7"}, payee=False)}


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, []),
    ({"insurer": "nuh", "patient.membershipNumber": "12345678"},
     [("practitioner.healthcodeId", "Provider not mapped")]),
    ({"practitioner.healthcodeId": "0999999", "payee.healthcodeId": "0999999"},
     [("practitioner.healthcodeId", "Provider not mapped")]),
    ({"payee.healthcodeId": "600123"}, [("payee.healthcodeId", "Provider not mapped")]),
    ({"practitioner.healthcodeId": "0777777", "payee.healthcodeId": "0777777"},
     [("payee.healthcodeId", "Payee Provider \u2013 Must be M")]),
])
def test_registrations_per_insurer(changes: dict[str, str], expected: list[tuple[str, str]]) -> None:
    found = validate_bill(make(**changes), today=TODAY, reference=REF, registrations=REGISTERED)
    assert [(p.field, p.error) for p in found if p.field.endswith("healthcodeId")] == expected
    assert validate_bill(make(**changes), today=TODAY, reference=REF) == validate_bill(
        make(**changes), today=TODAY, reference=REF, registrations={})


def test_invoice_number_of_ten_characters_is_fine() -> None:
    assert problems(make(invoiceNumber="A234567890")) == []


@pytest.mark.parametrize(
    ("path", "field", "hc"),
    [
        ("practitioner.healthcodeId", "practitioner.healthcodeId", "ProviderNo"),
        ("payee.healthcodeId", "payee.healthcodeId", "PayeeNo"),
    ],
)
def test_provider_identifiers(path: str, field: str, hc: str) -> None:
    assert problems(make(**{path: "06-51978"})) == [(field, "Invalid Code", hc)]


def test_date_of_birth_in_future() -> None:
    assert problems(make(**{"patient.dateOfBirth": "2026-11-21"})) == [
        ("patient.dateOfBirth", "May not be after Today", None)
    ]


# --- membership numbers (reference §3.6) ----------------------------------------------------


@pytest.mark.parametrize(
    "number",
    ["AXA-AB123456", "AB1234567C", "1234567A", "AXA/A1234567", "HOL/A1234567", "AB123456", "ABC12345",
     "12345678AB12", "AB12345678", "1234567", "123456", "AXI12345678", "INTL71234567"],
)
def test_axa_membership_formats_accepted(number: str) -> None:
    assert problems(make("clinic_payee_axa.json", **{"patient.membershipNumber": number})) == []


@pytest.mark.parametrize("number", ["AXA-A123456", "12345", "XYZ12345678", "INTL7123"])
def test_axa_membership_formats_refused(number: str) -> None:
    problem = only(make("clinic_payee_axa.json", **{"patient.membershipNumber": number}))
    assert (problem.field, problem.error, problem.healthcode_field) == (
        "patient.membershipNumber", "Invalid Format", "RegistrationNo")
    assert "AXA-AB123456" in problem.suggestion


def test_membership_in_lower_case_gets_a_hint() -> None:
    problem = only(make("clinic_payee_axa.json", **{"patient.membershipNumber": "axa-ab123456"}))
    assert problem.suggestion == "Use capital letters: AXA-AB123456"


def test_vitality_membership_number_instead_of_policy_number() -> None:
    bill = make(insurer="slh", **{"patient.membershipNumber": "1234567890", "lines.1.fee": 6500})
    problem = only(bill)
    assert problem.healthcode_field == "RegistrationNo"
    assert "8-digit policy number" in problem.suggestion


def test_vitality_policy_number_accepted() -> None:
    assert problems(make(insurer="slh", **{"patient.membershipNumber": "87654321"})) == []


def test_bupa_global_format() -> None:
    assert problems(make(insurer="bui", **{"patient.membershipNumber": "BI-1234-5678-9012"})) == []
    assert problems(make(insurer="bui", **{"patient.membershipNumber": "BI12345678901"})) == [
        ("patient.membershipNumber", "Invalid Format", "RegistrationNo")
    ]


def test_generic_format_for_insurers_without_public_format() -> None:
    assert problems(make(**{"patient.membershipNumber": "AB!12"})) == [
        ("patient.membershipNumber", "Invalid Format", "RegistrationNo")
    ]


# --- authorisation (reference §3.6) ---------------------------------------------------------


@pytest.mark.parametrize("code", ["123456/01/2026/001", "123456\\01\\2026\\001", "123456/01"])
def test_aviva_authorisation_formats_accepted(code: str) -> None:
    assert problems(make(insurer="nuh", **{"patient.authorisationCode": code})) == []


def test_aviva_authorisation_format_refused() -> None:
    problem = only(make(insurer="nuh", **{"patient.authorisationCode": "123456-01"}))
    assert (problem.field, problem.error, problem.healthcode_field) == (
        "patient.authorisationCode", "Invalid Format", "AuthCode")
    assert "123456/01/2026/001" in problem.suggestion


def test_axa_does_not_validate_authorisation() -> None:
    bill = make("clinic_payee_axa.json", **{"patient.authorisationCode": "anything goes"})
    assert problems(bill) == []


def test_authorisation_optional_unless_insurer_requires_it() -> None:
    bill = make(**{"patient.authorisationCode": DELETE})
    assert problems(bill) == []
    assert problems(bill, reference=with_insurer("bup", auth_required=True)) == [
        ("patient.authorisationCode", "Required by insurer", "AuthCode")
    ]


def test_authorisation_valid_to_before_last_date_of_service() -> None:
    problem = only(make(**{"patient.authorisationValidTo": "2026-11-16"}))
    assert (problem.field, problem.error, problem.healthcode_field) == (
        "patient.authorisationValidTo", "May not be before the latest date of service", "ValidToDate")
    assert "2026-11-17" in problem.suggestion


def test_authorisation_valid_to_on_last_date_of_service_is_fine() -> None:
    assert problems(make(**{"patient.authorisationValidTo": "2026-11-17"})) == []


# --- diagnoses ------------------------------------------------------------------------------


def test_diagnosis_required_by_axa() -> None:
    assert problems(make("clinic_payee_axa.json", diagnoses=[])) == [
        ("diagnoses", "Required by insurer", "Diagnosis")
    ]


def test_diagnosis_not_required_by_bupa() -> None:
    assert problems(make(diagnoses=[])) == []


def test_diagnosis_format_with_hint() -> None:
    problem = only(make(diagnoses=["M545"]))
    assert (problem.field, problem.error, problem.healthcode_field) == ("diagnoses[0]", "Invalid Format", "Diagnosis")
    assert "M54.5" in problem.suggestion


def test_diagnosis_not_valid_for_insurer() -> None:
    assert problems(make("clinic_payee_axa.json", diagnoses=["S83.2", "R51"])) == [
        ("diagnoses[1]", "Not Valid for Insurer", "Diagnosis")
    ]


def test_unknown_diagnosis_only_flagged_when_list_is_authoritative() -> None:
    bill = make(diagnoses=["M54.99"])
    assert problems(bill) == [("diagnoses[0]", "Code not Mapped", "Diagnosis")]  # WHO's list in full
    lenient = REF.model_copy(update={"icd10_authoritative": False})
    assert problems(bill, reference=lenient) == []
    assert problems(make(diagnoses=["M54.3", "M51.1"])) == []  # real codes


# --- dates of service -----------------------------------------------------------------------


def test_service_date_in_future() -> None:
    assert problems(make(**{"lines.2.serviceDate": "2026-11-21", "patient.authorisationValidTo": DELETE})) == [
        ("lines[2].serviceDate", "May not be after Today", "FDOS")
    ]


def test_service_today_is_fine() -> None:
    assert problems(make(**{"lines.2.serviceDate": "2026-11-20"})) == []


def test_vitality_three_month_limit() -> None:
    bill = make(insurer="slh", **{"patient.membershipNumber": "87654321",
                                  "lines.0.serviceDate": "2026-08-31"})
    assert problems(bill, today=date(2026, 11, 30)) == []
    problem = only(bill, today=date(2026, 12, 1))
    assert (problem.field, problem.error, problem.healthcode_field) == (
        "lines[0].serviceDate", "Too old for insurer", "FDOS")
    assert "3 months" in problem.suggestion and "2026-11-30" in problem.suggestion


def test_axa_six_month_limit_clamps_month_end() -> None:
    bill = make("clinic_payee_axa.json", **{"lines.0.serviceDate": "2026-08-31"})
    # 31 August + 6 months = 28 February 2027.
    assert problems(bill, today=date(2027, 2, 28)) == []
    assert problems(bill, today=date(2027, 3, 1)) == [("lines[0].serviceDate", "Too old for insurer", "FDOS")]


def test_no_age_limit_where_none_is_published() -> None:
    bill = make(**{"patient.authorisationValidTo": DELETE})
    assert problems(bill, today=date(2029, 1, 1)) == []


# --- ISC and CCSD ---------------------------------------------------------------------------


def test_unknown_isc() -> None:
    assert problems(make(**{"lines.0.isc": "ISC-NOPE"})) == [("lines[0].isc", "Invalid Code", "ServiceCode")]


def test_isc_not_active_on_date_of_service() -> None:
    problem = only(make(**{"lines.0.isc": "ISC-CONS-OLD"}))
    assert (problem.field, problem.error) == ("lines[0].isc", "Invalid Code")
    assert "not active on 2026-11-10" in problem.suggestion


def test_isc_not_valid_for_insurer() -> None:
    bill = make(insurer="pzo", **{"lines.0.isc": "ISC-PSY-SESS"})
    assert problems(bill) == [("lines[0].isc", "Code not valid for insurer", "ServiceCode")]


def test_agreed_fee_required() -> None:
    bill = make(insurer="slh", **{"patient.membershipNumber": "87654321", "lines.1.fee": 7000})
    problem = only(bill)
    assert (problem.field, problem.error, problem.healthcode_field) == (
        "lines[1].fee", "Insurer requires agreed fee for service", "ServiceCode")
    assert "£65.00" in problem.suggestion


def test_ccsd_required_where_isc_needs_it() -> None:
    bill = make("clinic_payee_axa.json", **{"lines.0.ccsd": DELETE})
    problem = only(bill)
    assert (problem.field, problem.error, problem.healthcode_field) == ("lines[0].ccsd", "Invalid Code", "ProcCode")
    assert "needs a CCSD procedure code" in problem.suggestion


@pytest.mark.parametrize("code", ["W92200", "92201", "w9220", "WW220"])
def test_ccsd_format(code: str) -> None:
    assert problems(make("clinic_payee_axa.json", **{"lines.0.ccsd": code})) == [
        ("lines[0].ccsd", "Invalid Format", "ProcCode")
    ]


def test_ccsd_four_digits_and_letter_accepted() -> None:
    assert problems(make("clinic_payee_axa.json", **{"lines.0.ccsd": "0001T"})) == []


def test_ccsd_not_active() -> None:
    assert problems(make("clinic_payee_axa.json", **{"lines.0.ccsd": "Z9903"})) == [
        ("lines[0].ccsd", "Invalid Code", "ProcCode")
    ]


def test_unknown_ccsd_only_flagged_when_schedule_is_authoritative() -> None:
    bill = make("clinic_payee_axa.json", **{"lines.0.ccsd": "Q1234"})
    assert problems(bill) == []
    strict = REF.model_copy(update={"ccsd_authoritative": True})
    assert problems(bill, reference=strict) == [("lines[0].ccsd", "Invalid Code", "ProcCode")]


# --- totals, and several problems at once ---------------------------------------------------


def test_net_total_must_be_positive() -> None:
    bill = make(**{"lines.0.fee": 0, "lines.1.fee": 0, "lines.2.fee": 0})
    assert problems(bill) == [("lines", "Must be greater than zero", "NetTotal")]


def test_every_problem_is_reported_in_bill_order() -> None:
    bill = make(
        "clinic_payee_axa.json",
        invoiceNumber="TOO.LONG.NUMBER",
        diagnoses=[],
        **{"patient.membershipNumber": "??", "lines.0.ccsd": DELETE, "lines.0.serviceDate": "2026-12-01"},
    )
    assert problems(bill) == [
        ("invoiceNumber", "Invalid Format", "InvoiceNo"),
        ("patient.membershipNumber", "Invalid Format", "RegistrationNo"),
        ("diagnoses", "Required by insurer", "Diagnosis"),
        ("lines[0].serviceDate", "May not be after Today", "FDOS"),
        ("lines[0].ccsd", "Invalid Code", "ProcCode"),
    ]


def test_every_problem_has_all_three_parts() -> None:
    bill = make(insurer="zzz", invoiceNumber="A B", **{"lines.0.isc": "NOPE"})
    found = validate_bill(bill, today=TODAY, reference=REF)
    assert len(found) == 3
    assert all(p.field and p.error and p.suggestion for p in found)


# --- statuses -------------------------------------------------------------------------------
