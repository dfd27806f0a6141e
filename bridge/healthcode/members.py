"""Healthcode membership enquiry, pure: what Find Member needs, and what its answer means.

Which Find Member fields an insurer requires is the insurer's rule (reference/healthcode.md
§2.3 item 3: Aviva wants last name, first initial, date of birth and postcode); ours are in
``bridge/clearing/data/insurers.json`` (``findMemberRequires``). The HTTP call is
:mod:`bridge.clearing.v2`; this module builds its form and reads its answer. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TypedDict

from bridge.healthcode.bills import Bill, Problem
from bridge.healthcode.fhir import MemberMatch
from bridge.healthcode.jobs import ProblemData, problem_to_wire
from bridge.healthcode.refdata import HealthcodeReference

__all__ = [
    "FIND_MEMBER_FIELDS",
    "MemberAnswer",
    "MemberQuery",
    "bill_member_query",
    "find_member_form",
    "find_member_result",
    "member_check_problems",
    "missing_fields_answer",
    "missing_member_fields",
    "not_found_answer",
]

#: Our Find Member field -> (Healthcode's form parameter, how to fix it when missing).
FIND_MEMBER_FIELDS: Mapping[str, tuple[str, str]] = {
    "membershipNumber": ("membershipNumber", "Copy the number from the patient's insurance card"),
    "firstName": ("firstName", "Give the patient's first name (the insurer may match only its initial)"),
    "lastName": ("lastName", "Give the patient's last name"),
    "dateOfBirth": ("dateOfbirth", "Give the patient's date of birth as YYYY-MM-DD"),
    "postcode": ("postCode", "Give the patient's postcode"),
}


class MemberQuery(TypedDict, total=False):
    """The Find Member fields we were given, by our names (None or blank: not given)."""

    membershipNumber: str | None
    firstName: str | None
    lastName: str | None
    dateOfBirth: date | None
    postcode: str | None


class MemberAnswer(TypedDict):
    """The ``healthcode.findMember`` answer (INTERFACES.md)."""

    found: bool
    policyActive: bool
    #: ``{firstName, lastName, dateOfBirth, membershipNumber}`` as Healthcode holds them.
    member: Mapping[str, object] | None
    message: str
    #: The fields the insurer requires that are missing (then Healthcode is not asked).
    problems: list[ProblemData]


def missing_member_fields(
    insurer: str, given: MemberQuery, reference: HealthcodeReference, *, prefix: str = ""
) -> list[Problem]:
    """Problems for an unknown insurer, or for each field the insurer requires that is missing.

    Args:
        insurer: The Healthcode identifier.
        given: Our field names -> values (None or blank: missing).
        reference: Insurers and their ``findMemberRequires``.
        prefix: Put before each field name (``patient.`` for a bill).
    """
    rules = reference.insurers.get(insurer)
    if rules is None:
        return [Problem(field="insurer", error="Invalid Insurer",
                        suggestion="Use the insurer's Healthcode identifier (healthcode.codes kind 'insurer')",
                        healthcode_field="Insurer")]
    problems = []
    for name in rules.find_member_requires or ():
        value = given.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            hc_name, suggestion = FIND_MEMBER_FIELDS[name]
            problems.append(Problem(
                field=prefix + name, error=f"Required by {rules.name} for membership enquiry",
                suggestion=suggestion, healthcode_field=hc_name,
            ))
    return problems


def find_member_form(insurer: str, given: MemberQuery, active_on: date) -> dict[str, str]:
    """The Find Member form in Healthcode's parameter names (``policyActiveOn`` = ``active_on``)."""
    form = {"insurerIdentifier": insurer, "policyActiveOn": active_on.isoformat()}
    for name, (hc_name, _) in FIND_MEMBER_FIELDS.items():
        value = given.get(name)
        if value is not None and str(value).strip():
            form[hc_name] = value.isoformat() if isinstance(value, date) else str(value).strip()
    return form


def bill_member_query(bill: Bill) -> MemberQuery:
    """The Find Member fields of a bill's patient, by our names."""
    patient = bill.patient
    return MemberQuery(
        membershipNumber=patient.membership_number, firstName=patient.first_name,
        lastName=patient.last_name, dateOfBirth=patient.date_of_birth, postcode=patient.postcode,
    )


def missing_fields_answer(problems: Sequence[Problem]) -> MemberAnswer:
    """The answer when the insurer's required fields are missing: Healthcode is not asked."""
    return {"found": False, "policyActive": False, "member": None,
            "message": "Healthcode was not asked: fields are missing",
            "problems": [problem_to_wire(p) for p in problems]}


def not_found_answer(message: str) -> MemberAnswer:
    """An answer without a member (no enquiry offered, or Healthcode refused the form)."""
    return {"found": False, "policyActive": False, "member": None, "problems": [], "message": message}


def find_member_result(matches: Sequence[MemberMatch], insurer_name: str) -> MemberAnswer:
    """The ``healthcode.findMember`` answer for what Find Member returned."""
    if not matches:
        return {"found": False, "policyActive": False, "member": None, "problems": [],
                "message": f"{insurer_name} has no member with these details"}
    best = next((m for m in matches if m.policy_active), matches[0])
    message = (f"{insurer_name} member found, policy active" if best.policy_active
               else f"{insurer_name} member found, but the policy is not active")
    return {"found": True, "policyActive": best.policy_active, "member": best.to_wire(),
            "problems": [], "message": message}


def member_check_problems(result: MemberAnswer) -> list[Problem]:
    """Pre-flight (``member_check``): a member not found, or not covered, is a bill problem."""
    if not result["found"]:
        # "No matching membership details can be found" (reference §3.2, §3.7 item 1).
        return [Problem(field="patient.membershipNumber", error="No matching membership details can be found",
                        suggestion="Check the membership number, name and date of birth with the patient's insurer",
                        healthcode_field="RegistrationNo")]
    if not result["policyActive"]:
        return [Problem(field="patient.membershipNumber", error="Cover not in force",
                        suggestion="Ask the patient for their current policy", healthcode_field="RegistrationNo")]
    return []
