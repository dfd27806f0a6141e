"""Healthcode V2 resources, pure: decimal pounds <-> pence, and FHIR JSON read tolerantly.

Healthcode's V2 APIs answer FHIR JSON with amounts in decimal pounds (reference/healthcode.md
§2.3); our interfaces carry integer pence. The conversion happens here and only here, with
:class:`~decimal.Decimal` (the adapter parses JSON numbers as Decimal, never as float).

Healthcode counts new attributes and enum values as backward compatible (§2.3 "Headers"), so
every reader here is a tolerant one: unknown keys are ignored, unknown codes kept as text, and
a resource missing what we need is skipped with the reason, never fatal.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = [
    "MemberMatch",
    "Remittance",
    "RemittanceLine",
    "pence_from_pounds",
    "pounds_from_pence",
    "read_members",
    "read_remittance",
    "resources",
]

_HUNDRED = Decimal(100)


def pence_from_pounds(value: object) -> int:
    """Decimal pounds as Healthcode sends them (``1500.00``) -> integer pence (150000).

    Args:
        value: A :class:`~decimal.Decimal` (what the adapter's JSON parser yields), an int, or
            a numeric string.

    Raises:
        ValueError: Not a finite amount in whole pence (``12.345``, ``NaN``, a float, text).
    """
    if isinstance(value, bool) or isinstance(value, float):
        # A float has already lost exactness: the JSON must be parsed with Decimal.
        raise ValueError(f"not an exact amount: {value!r}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    pence = amount * _HUNDRED
    if pence != pence.to_integral_value():
        raise ValueError(f"not whole pence: {value!r}")
    return int(pence)


def pounds_from_pence(pence: int) -> Decimal:
    """Integer pence -> decimal pounds with two places (150000 -> ``Decimal("1500.00")``)."""
    return (Decimal(pence) / _HUNDRED).quantize(Decimal("0.01"))


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, alias_generator=to_camel)


class MemberMatch(_Model):
    """One member Find Member returned: ``member{firstName, lastName, dateOfBirth,
    membershipNumber}`` of ``healthcode.findMember``, and whether the policy is active."""

    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: date | None = None
    membership_number: str | None = None
    policy_active: bool = False

    def to_wire(self) -> dict[str, Any]:
        """``{firstName, lastName, dateOfBirth, membershipNumber}`` (no policy flag)."""
        return self.model_dump(mode="json", by_alias=True, exclude={"policy_active"})


class RemittanceLine(_Model):
    """One bill paid in a remittance; amounts in pence. ``job_id``: the bill's job, once matched.
    ``reason``: the insurer's reason for paying less than invoiced (or nothing), when it gives one.
    """

    invoice_number: str
    amount_invoiced: int | None = None
    amount_paid: int
    shortfall: int
    reason: str | None = None
    job_id: str | None = None


class Remittance(_Model):
    """One remittance (a ``PaymentReconciliation`` with its ``ClaimResponse`` details).

    ``remittance_id`` is Healthcode's resource id: the key that keeps a remittance from being
    ingested twice.
    """

    remittance_id: str
    payment_reference: str
    date_paid: date | None = None
    insurer: str
    total: int
    lines: tuple[RemittanceLine, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        """The ``healthcode.remittances`` entry (INTERFACES.md), amounts in pence."""
        return {
            "paymentReference": self.payment_reference,
            "datePaid": self.date_paid.isoformat() if self.date_paid else None,
            "insurer": self.insurer,
            "total": self.total,
            "lines": [line.model_dump(mode="json", by_alias=True, exclude_none=True) for line in self.lines],
        }


# --- tolerant readers ------------------------------------------------------------------------


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _day(value: Any) -> date | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _money(value: Any) -> int | None:
    amount = _dict(value).get("value")
    if amount is None:
        return None
    try:
        return pence_from_pounds(amount)
    except ValueError:
        return None


def resources(bundle: Any, kind: str) -> Iterator[Mapping[str, Any]]:
    """The resources of type ``kind`` in a FHIR Bundle (anything else skipped)."""
    for entry in _list(_dict(bundle).get("entry")):
        resource = _dict(_dict(entry).get("resource"))
        if resource.get("resourceType") == kind:
            yield resource


def read_members(bundle: Any) -> list[MemberMatch]:
    """The members of a Find Member answer: ``Coverage`` resources with their ``Patient``."""
    found = []
    for coverage in resources(bundle, "Coverage"):
        patients = [r for r in _list(coverage.get("contained")) if _dict(r).get("resourceType") == "Patient"]
        patient = _dict(patients[0]) if patients else {}
        name = _dict((_list(patient.get("name")) or [{}])[0])
        given = [g for g in _list(name.get("given")) if isinstance(g, str)]
        found.append(MemberMatch(
            first_name=given[0] if given else None,
            last_name=_text(name.get("family")),
            date_of_birth=_day(patient.get("birthDate")),
            membership_number=_text(coverage.get("subscriberId")),
            policy_active=coverage.get("status") == "active",
        ))
    return found


def _identifier_value(resource: Mapping[str, Any]) -> str | None:
    identifier = resource.get("identifier")
    if isinstance(identifier, list):
        identifier = identifier[0] if identifier else {}
    return _text(_dict(identifier).get("value"))


def _totals(response: Mapping[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for total in _list(response.get("total")):
        coding = _list(_dict(_dict(total).get("category")).get("coding"))
        code = _text(_dict(coding[0]).get("code")) if coding else None
        amount = _money(_dict(total).get("amount"))
        if code is not None and amount is not None:
            out[code] = amount
    return out


def _concept_text(concept: Any) -> str | None:
    """A CodeableConcept as words: its text, else its first coding's display, else its code."""
    concept = _dict(concept)
    text = _text(concept.get("text"))
    if text is not None:
        return text
    for coding in _list(concept.get("coding")):
        found = _text(_dict(coding).get("display")) or _text(_dict(coding).get("code"))
        if found is not None:
            return found
    return None


def _reason(response: Mapping[str, Any]) -> str | None:
    """The insurer's reason in a ``ClaimResponse``: the first ``item[].adjudication[].reason``,
    else its ``disposition``."""
    for item in _list(response.get("item")):
        for adjudication in _list(_dict(item).get("adjudication")):
            found = _concept_text(_dict(adjudication).get("reason"))
            if found is not None:
                return found
    return _text(response.get("disposition"))


def read_remittance(summary: Mapping[str, Any], details: Any) -> Remittance | None:
    """A remittance from its summary (``PaymentReconciliation``) and details (Bundle of
    ``ClaimResponse``); None when the summary lacks its id or amount.

    Each detail line of the summary is a bill; its ``ClaimResponse`` (by invoice number) gives
    the amount invoiced, the shortfall and, for a line not paid in full, the insurer's reason. A line with no ``ClaimResponse`` keeps what the
    summary says (shortfall 0 when nothing tells otherwise).
    """
    remittance_id = _text(summary.get("id"))
    total = _money(summary.get("paymentAmount"))
    if remittance_id is None or total is None:
        return None
    by_invoice: dict[str, Mapping[str, Any]] = {}
    for response in resources(details, "ClaimResponse"):
        number = _identifier_value(response)
        if number is not None:
            by_invoice[number] = response
    lines = []
    for detail in _list(summary.get("detail")):
        detail = _dict(detail)
        number = _identifier_value(detail)
        if number is None:
            continue
        response = by_invoice.get(number, {})
        totals = _totals(response)
        paid = totals.get("benefit", _money(detail.get("amount")))
        if paid is None:
            continue
        invoiced = totals.get("submitted")
        shortfall = totals.get("shortfall", max(0, invoiced - paid) if invoiced is not None else 0)
        lines.append(RemittanceLine(
            invoice_number=number, amount_invoiced=invoiced, amount_paid=paid, shortfall=shortfall,
            reason=_reason(response) if shortfall or not paid else None,
        ))
    issuer = _dict(_dict(summary.get("paymentIssuer")).get("identifier"))
    return Remittance(
        remittance_id=remittance_id,
        payment_reference=_text(_dict(summary.get("paymentIdentifier")).get("value")) or remittance_id,
        date_paid=_day(summary.get("paymentDate")),
        insurer=_text(issuer.get("value")) or "",
        total=total,
        lines=tuple(lines),
    )
