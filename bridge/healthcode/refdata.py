"""Healthcode reference data, pure: the models of insurers, their rules and the code lists.

The data itself is package data (bridge/clearing/data/*.json), read by :mod:`bridge.clearing.reference`;
validation (:mod:`bridge.healthcode.rules`) and code search (:mod:`bridge.healthcode.search`)
take it as an argument.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from bridge.errors import FieldError, InvalidParams

__all__ = [
    "INSURER_ID",
    "CcsdCode",
    "CodeFormat",
    "HealthcodeReference",
    "Icd10Code",
    "InsurerRules",
    "IscCode",
    "Registration",
    "WrongNumberHint",
    "parse_code_list",
]


class _Ref(BaseModel):
    """Reference data: frozen, camelCase in the fixture files, tolerant of extra keys."""

    model_config = ConfigDict(
        frozen=True, populate_by_name=True, alias_generator=to_camel, extra="ignore"
    )


# --------------------------------------------------------------------------------------------
# Reference data (bridge/clearing/data/*.json, loaded by bridge.clearing.reference)
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
    """An ICD-10 diagnosis code; ``not_valid_for`` lists insurers that refuse it; ``terms`` are
    everyday words it is also found by ("tennis elbow" for M77.1)."""

    code: str
    description: str
    not_valid_for: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()


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


# --------------------------------------------------------------------------------------------
# An insurer's own ISC or CCSD list (claimbridge codes import)
# --------------------------------------------------------------------------------------------

#: CCSD formats: one letter + 4 digits, or 4 digits + a letter (reference §5.1).
_CCSD = re.compile(r"[A-Z][0-9]{4}|[0-9]{4}[A-Z]")
#: ISC values are not public (reference §5.2): letters, digits and - _ / . up to 20 characters.
_ISC = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,19}")
#: Healthcode insurer identifiers: lower-case letters and digits (reference §3.4: "bup", "ppp").
INSURER_ID = re.compile(r"[a-z0-9]{2,10}")


def parse_code_list(text: str, kind: Literal["isc", "ccsd"]) -> dict[str, str]:
    """An insurer's ISC or CCSD list, as the CSV file insurers' contracts teams give clinics
    (seeds/001): a header ``code,description``, then one code a row.

    Args:
        text: The file's text (a leading byte-order mark is ignored).
        kind: ``"isc"`` or ``"ccsd"`` (CCSD codes must have a CCSD format).

    Returns:
        Code -> description, in file order.

    Raises:
        InvalidParams: Every bad row named (``line N``: what is wrong), or the header.
    """
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    errors: list[FieldError] = []
    if not rows or [cell.strip().casefold() for cell in rows[0]] != ["code", "description"]:
        raise InvalidParams((FieldError("line 1", "the header must be: code,description"),))
    codes: dict[str, str] = {}
    pattern = _CCSD if kind == "ccsd" else _ISC
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        where = f"line {number}"
        if len(row) != 2:
            errors.append(FieldError(where, f"expected 2 columns (code,description), found {len(row)}"))
            continue
        code, description = row[0].strip(), row[1].strip()
        if not pattern.fullmatch(code):
            shape = "a letter and 4 digits, or 4 digits and a letter" if kind == "ccsd" else "letters and digits"
            errors.append(FieldError(where, f"{code!r} is not a {kind.upper()} code ({shape})"))
        elif code in codes:
            errors.append(FieldError(where, f"{code} is listed twice"))
        elif not description or len(description) > 200:
            errors.append(FieldError(where, f"{code}: the description must be 1 to 200 characters"))
        else:
            codes[code] = description
    if not codes and not errors:
        errors.append(FieldError("file", "no codes: one code a row after the header"))
    if errors:
        raise InvalidParams(tuple(errors))
    return codes
