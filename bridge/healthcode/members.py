"""Healthcode membership enquiry, pure: what Find Member needs, and what its answer means.

Which Find Member fields an insurer requires is the insurer's rule (reference/healthcode.md
§2.3 item 3: Aviva wants last name, first initial, date of birth and postcode); ours are in
``bridge/clearing/data/insurers.json`` (``findMemberRequires``). The HTTP call is
:mod:`bridge.clearing.v2`; this module builds its form and reads its answer. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from bridge.healthcode.bills import Bill, Problem
from bridge.healthcode.fhir import MemberMatch
from bridge.healthcode.refdata import HealthcodeReference

__all__ = [
    "FIND_MEMBER_FIELDS",
    "bill_member_query",
    "find_member_form",
    "find_member_result",
    "member_check_problems",
    "missing_member_fields",
]

#: Our Find Member field -> (Healthcode's form parameter, how to fix it when missing).
FIND_MEMBER_FIELDS: Mapping[str, tuple[str, str]] = {
    "membershipNumber": ("membershipNumber", "Copy the number from the patient's insurance card"),
    "firstName": ("firstName", "Give the patient's first name (the insurer may match only its initial)"),
    "lastName": ("lastName", "Give the patient's last name"),
    "dateOfBirth": ("dateOfbirth", "Give the patient's date of birth as YYYY-MM-DD"),
    "postcode": ("postCode", "Give the patient's postcode"),
}


def missing_member_fields(
    insurer: str, given: Mapping[str, Any], reference: HealthcodeReference, *, prefix: str = ""
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


def find_member_form(insurer: str, given: Mapping[str, Any], active_on: date) -> dict[str, str]:
    """The Find Member form in Healthcode's parameter names (``policyActiveOn`` = ``active_on``)."""
    form = {"insurerIdentifier": insurer, "policyActiveOn": active_on.isoformat()}
    for name, (hc_name, _) in FIND_MEMBER_FIELDS.items():
        value = given.get(name)
        if value is not None and str(value).strip():
            form[hc_name] = value.isoformat() if isinstance(value, date) else str(value).strip()
    return form


def bill_member_query(bill: Bill) -> dict[str, Any]:
    """The Find Member fields of a bill's patient, by our names."""
    patient = bill.patient
    return {
        "membershipNumber": patient.membership_number, "firstName": patient.first_name,
        "lastName": patient.last_name, "dateOfBirth": patient.date_of_birth, "postcode": patient.postcode,
    }


def find_member_result(matches: Sequence[MemberMatch], insurer_name: str) -> dict[str, Any]:
    """The ``healthcode.findMember`` answer for what Find Member returned."""
    if not matches:
        return {"found": False, "policyActive": False, "member": None, "problems": [],
                "message": f"{insurer_name} has no member with these details"}
    best = next((m for m in matches if m.policy_active), matches[0])
    message = (f"{insurer_name} member found, policy active" if best.policy_active
               else f"{insurer_name} member found, but the policy is not active")
    return {"found": True, "policyActive": best.policy_active, "member": best.to_wire(),
            "problems": [], "message": message}


def member_check_problems(result: Mapping[str, Any]) -> list[Problem]:
    """Pre-flight (``member_check``): a member not found, or not covered, is a bill problem."""
    if not result.get("found"):
        # "No matching membership details can be found" (reference §3.2, §3.7 item 1).
        return [Problem(field="patient.membershipNumber", error="No matching membership details can be found",
                        suggestion="Check the membership number, name and date of birth with the patient's insurer",
                        healthcode_field="RegistrationNo")]
    if not result.get("policyActive"):
        return [Problem(field="patient.membershipNumber", error="Cover not in force",
                        suggestion="Ask the patient for their current policy", healthcode_field="RegistrationNo")]
    return []
