"""Healthcode reference data, pure: the models of insurers, their rules and the code lists.

The data itself is in fixtures/healthcode/*.json, read by :mod:`bridge.clearing.reference`;
validation (:mod:`bridge.healthcode.rules`) and code search (:mod:`bridge.healthcode.search`)
take it as an argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "CcsdCode",
    "CodeFormat",
    "HealthcodeReference",
    "Icd10Code",
    "InsurerRules",
    "IscCode",
    "Registration",
    "WrongNumberHint",
]


class _Ref(BaseModel):
    """Reference data: frozen, camelCase in the fixture files, tolerant of extra keys."""

    model_config = ConfigDict(
        frozen=True, populate_by_name=True, alias_generator=to_camel, extra="ignore"
    )


# --------------------------------------------------------------------------------------------
# Reference data (fixtures/healthcode/*.json, loaded by bridge.clearing.reference)
# --------------------------------------------------------------------------------------------


class CodeFormat(_Ref):
    """One accepted format: a regular expression matched in full, and an example."""

    pattern: str
    example: str


class WrongNumberHint(_Ref):
    """A number that matches this pattern is a known mix-up; ``hint`` says what to use."""

    pattern: str
    hint: str


class InsurerRules(_Ref):
    """What Healthcode checks for one insurer.

    Attributes:
        membership_formats: Accepted ``RegistrationNo`` formats; None when not public (the
            generic format applies).
        auth_formats: Accepted ``AuthCode`` formats; None when the insurer does not validate
            it or its formats are not public.
        max_submission_months: Bills must reach Healthcode within this many months of
            treatment; None when no limit is published.
        invoice_number_max_length: The insurer's longest invoice number (AXA: 10); None when
            it publishes none.
        invoice_number_no_full_stops: The insurer refuses a full stop in an invoice number (AXA).
    """

    code: str
    name: str
    accepts_edi: bool = True
    has_member_database: bool = False
    requires_diagnosis: bool = False
    auth_required: bool = False
    max_submission_months: int | None = None
    invoice_number_max_length: int | None = None
    invoice_number_no_full_stops: bool = False
    membership_formats: tuple[CodeFormat, ...] | None = None
    wrong_number_hints: tuple[WrongNumberHint, ...] = ()
    auth_formats: tuple[CodeFormat, ...] | None = None
    #: Fields Find Member requires for this insurer (our names); None: no membership enquiry.
    find_member_requires: tuple[str, ...] | None = None
    source: str = ""


class IscCode(_Ref):
    """An Industry Standard Code (reference §5.2; our list is SYNTHETIC, §5.3)."""

    code: str
    description: str
    kind: Literal["service", "expense"] = "service"
    requires_procedure_code: bool = False
    insurers: tuple[str, ...] = ("*",)
    agreed_fees: Mapping[str, int] = Field(default_factory=dict)
    active_from: date | None = None
    active_to: date | None = None

    def allowed_for(self, insurer: str | None) -> bool:
        """Whether the insurer accepts this code (``None``: no insurer chosen yet)."""
        return insurer is None or "*" in self.insurers or insurer in self.insurers


class CcsdCode(_Ref):
    """A CCSD procedure code (reference §5.1; a sample, not the licensed schedule)."""

    code: str
    description: str
    active_from: date | None = None
    active_to: date | None = None


class Icd10Code(_Ref):
    """An ICD-10 diagnosis code; ``not_valid_for`` lists insurers that refuse it."""

    code: str
    description: str
    not_valid_for: tuple[str, ...] = ()


class Registration(_Ref):
    """A practitioner's or payee's registrations with insurers (``[healthcode.practitioners.<id>]``).

    Attributes:
        insurers: Insurer identifier -> the provider number that insurer knows them by.
        payee: Set up as a payee provider (the data-processing consent done, reference §3.5);
            False: the insurer pays someone else for their bills.
    """

    insurers: Mapping[str, str] = Field(default_factory=dict)
    payee: bool = True


class HealthcodeReference(_Ref):
    """All reference data validation and code search need.

    Attributes:
        ccsd_authoritative: When False a CCSD code missing from ``ccsd`` is only
            format-checked (our list is a sample; the schedule is licensed, reference §5.1).
        icd10_authoritative: The same for ``icd10``.
    """

    insurers: Mapping[str, InsurerRules]
    generic_membership_format: CodeFormat
    isc: Mapping[str, IscCode]
    ccsd: Mapping[str, CcsdCode]
    ccsd_authoritative: bool = False
    icd10: Mapping[str, Icd10Code]
    icd10_authoritative: bool = False
