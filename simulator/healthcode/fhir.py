"""Simulated Healthcode V2 APIs, pure part: Find Member and remittances as FHIR resources.

No I/O and no clock reads: :mod:`simulator.healthcode.v2` passes ``now`` in. Healthcode's V2
conventions are public (reference/healthcode.md §2.3): FHIR JSON, decimal pounds, Find Member's
form parameters (``insurerIdentifier``, ``firstName``, ``lastName``, ``dateOfbirth``,
``postCode``, ``membershipNumber``, ``policyActiveOn``), remittance summaries as
``PaymentReconciliation`` and details as ``ClaimResponse``. The exact resource contents are not
public: the shapes here are our own reading of FHIR R4, described in README-healthcode.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from simulator.healthcode.rules import Member

__all__ = [
    "FORM_NAMES",
    "INSURER_SYSTEM",
    "Remittance",
    "claim_response",
    "find_members",
    "missing_for_find",
    "member_bundle",
    "operation_outcome",
    "payment_reconciliation",
    "pounds",
]

#: Our field name (healthcode.findMember) -> Healthcode's Find Member form parameter.
FORM_NAMES: Mapping[str, str] = {
    "membershipNumber": "membershipNumber",
    "firstName": "firstName",
    "lastName": "lastName",
    "dateOfBirth": "dateOfbirth",
    "postcode": "postCode",
}

#: The identifier system of insurer codes (reference §2.3 item 4).
INSURER_SYSTEM = "https://ref.api.healthcode.co.uk/insurer-id"


def pounds(pence: int) -> float:
    """Pence as a JSON number of pounds (1500 -> 15.0): exact for two decimals."""
    return float(Decimal(pence).scaleb(-2))


def operation_outcome(code: str, diagnostics: str) -> dict[str, Any]:
    """A FHIR ``OperationOutcome`` with one error issue."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


def missing_for_find(form: Mapping[str, str], required: Sequence[str]) -> list[str]:
    """Healthcode's names of the required Find Member parameters that are absent or blank."""
    return [FORM_NAMES[name] for name in required if not form.get(FORM_NAMES[name], "").strip()]


def find_members(form: Mapping[str, str], insurer: str, members: Sequence[Member]) -> list[Member]:
    """The insurer's members matching every parameter given.

    First names match on the first initial (Aviva asks only for it, reference §2.3 item 3);
    names and postcodes ignore case and spaces.
    """
    found = []
    for member in members:
        if member.insurer != insurer:
            continue
        number = form.get("membershipNumber", "").strip()
        if number and number != member.membership_id:
            continue
        last = form.get("lastName", "").strip()
        if last and _squash(last) != _squash(member.family_name):
            continue
        first = form.get("firstName", "").strip()
        if first and _squash(first)[:1] != _squash(member.given_name)[:1]:
            continue
        born = form.get("dateOfbirth", "").strip()
        if born and born != member.date_of_birth.isoformat():
            continue
        postcode = form.get("postCode", "").strip()
        if postcode and member.postcode is not None and _squash(postcode) != _squash(member.postcode):
            continue
        found.append(member)
    return found


def _active_on(member: Member, day: date) -> bool:
    started = member.cover_start is None or member.cover_start <= day
    ended = member.cover_end is not None and member.cover_end < day
    return started and not ended and not member.lapsed


def member_bundle(found: Sequence[Member], insurer: str, active_on: date) -> dict[str, Any]:
    """A ``searchset`` Bundle of ``Coverage`` resources, each with its ``Patient`` contained."""
    entries = []
    for member in found:
        patient = {
            "resourceType": "Patient",
            "id": "p1",
            "name": [{"family": member.family_name, "given": [member.given_name]}],
            "birthDate": member.date_of_birth.isoformat(),
        }
        if member.postcode:
            patient["address"] = [{"postalCode": member.postcode}]
        period = {}
        if member.cover_start:
            period["start"] = member.cover_start.isoformat()
        if member.cover_end:
            period["end"] = member.cover_end.isoformat()
        entries.append({"resource": {
            "resourceType": "Coverage",
            "status": "active" if _active_on(member, active_on) else "cancelled",
            "subscriberId": member.membership_id,
            "payor": [{"identifier": {"system": INSURER_SYSTEM, "value": insurer}}],
            "beneficiary": {"reference": "#p1"},
            "period": period,
            "contained": [patient],
        }})
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


@dataclass(frozen=True, slots=True)
class Remittance:
    """One payment by an insurer for one collected bill (``POST /_sim/healthcode/remit``)."""

    remittance_id: str
    claim_response_id: str
    payment_reference: str
    insurer: str
    site_id: str
    invoice_number: str
    invoiced: int
    paid: int
    created: datetime
    #: The insurer's reason for paying less than invoiced (or nothing): (code, text).
    reason: tuple[str, str] | None = None

    @property
    def shortfall(self) -> int:
        """Pence the insurer did not pay (never negative)."""
        return max(0, self.invoiced - self.paid)


def payment_reconciliation(remittance: Remittance) -> dict[str, Any]:
    """The remittance summary: a FHIR ``PaymentReconciliation`` (amounts in decimal pounds)."""
    return {
        "resourceType": "PaymentReconciliation",
        "id": remittance.remittance_id,
        "status": "active",
        "created": remittance.created.isoformat(),
        "paymentDate": remittance.created.date().isoformat(),
        "paymentAmount": {"value": pounds(remittance.paid), "currency": "GBP"},
        "paymentIdentifier": {"value": remittance.payment_reference},
        "paymentIssuer": {"identifier": {"system": INSURER_SYSTEM, "value": remittance.insurer}},
        "outcome": "complete",
        "detail": [{
            "identifier": {"value": remittance.invoice_number},
            "type": {"coding": [{"code": "payment"}]},
            "response": {"reference": f"ClaimResponse/{remittance.claim_response_id}"},
            "amount": {"value": pounds(remittance.paid), "currency": "GBP"},
        }],
    }


def claim_response(remittance: Remittance) -> dict[str, Any]:
    """The remittance detail of one bill: a FHIR ``ClaimResponse`` with the shortfall."""
    def money(pence: int) -> dict[str, Any]:
        return {"value": pounds(pence), "currency": "GBP"}

    response: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": remittance.claim_response_id,
        "status": "active",
        "use": "claim",
        "outcome": "complete" if remittance.shortfall == 0 else "partial",
        "created": remittance.created.isoformat(),
        "identifier": [{"system": "invoiceNumber", "value": remittance.invoice_number}],
        "insurer": {"identifier": {"system": INSURER_SYSTEM, "value": remittance.insurer}},
        "total": [
            {"category": {"coding": [{"code": "submitted"}]}, "amount": money(remittance.invoiced)},
            {"category": {"coding": [{"code": "benefit"}]}, "amount": money(remittance.paid)},
            {"category": {"coding": [{"code": "shortfall"}]}, "amount": money(remittance.shortfall)},
        ],
        "payment": {
            "date": remittance.created.date().isoformat(),
            "amount": money(remittance.paid),
            "identifier": {"value": remittance.payment_reference},
        },
    }
    # The bill as one item; the insurer's reason on what it decided to pay (FHIR R4
    # ClaimResponse.item.adjudication.reason, a CodeableConcept).
    benefit: dict[str, Any] = {"category": {"coding": [{"code": "benefit"}]}, "amount": money(remittance.paid)}
    if remittance.reason is not None:
        code, text = remittance.reason
        benefit["reason"] = {"coding": [{"code": code, "display": text}], "text": text}
        response["disposition"] = text
    response["item"] = [{
        "itemSequence": 1,
        "adjudication": [
            {"category": {"coding": [{"code": "submitted"}]}, "amount": money(remittance.invoiced)},
            benefit,
        ],
    }]
    return response
