"""Healthcode bills, pure: the bill model and the models the transport returns.

Nothing here does I/O (no asyncio, httpx, sqlite, files). Pre-flight validation is
:mod:`bridge.healthcode.rules`, statuses :mod:`bridge.healthcode.status`, reference data models
:mod:`bridge.healthcode.refdata` (read by :mod:`bridge.clearing.reference`), code search
:mod:`bridge.healthcode.search`. The HTTP adapter is :mod:`bridge.clearing.transport`.

Healthcode's PMS web-service wire format is not public (reference/healthcode.md §2.1); what is
public is the set of field names and error texts PMS vendors quote back (§3.2). Problems
therefore name our own camelCase field path (``field``) and, where Healthcode has its own name
for it, that name too (``healthcodeField``: ``RegistrationNo``, ``AuthCode``, ``FDOS`` ...),
with Healthcode's Field / Error / Suggestion triple (§3.2, VEDA invoice errors).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic.alias_generators import to_camel

from bridge.errors import FieldError, InvalidParams, field_path
from bridge.healthcode.status import BillStatus

__all__ = [
    "MAX_REFERENCE_LENGTH",
    "Bill",
    "BillLine",
    "CodeKind",
    "CodeMatch",
    "CredentialsCheck",
    "Patient",
    "Payee",
    "PayeeKind",
    "Practitioner",
    "Problem",
    "Setting",
    "StatusReport",
    "SubmitReceipt",
    "parse_bill",
]

#: Longest provider reference Healthcode returns (Semble's cap, reference §2.1).
MAX_REFERENCE_LENGTH = 25


class _Wire(BaseModel):
    """Frozen, camelCase on the wire, snake_case in Python; unknown fields refused."""

    model_config = ConfigDict(
        frozen=True,
        populate_by_name=True,
        alias_generator=to_camel,
        extra="forbid",
        str_strip_whitespace=True,
    )



_Text = Annotated[str, Field(min_length=1, max_length=200)]


# --------------------------------------------------------------------------------------------
# The bill (INTERFACES.md "A Healthcode bill")
# --------------------------------------------------------------------------------------------


class Setting(StrEnum):
    """Type of care: Healthcode accepts I, D or O (reference §3.2 ``Setting``)."""

    INPATIENT = "I"
    DAYCASE = "D"
    OUTPATIENT = "O"


class PayeeKind(StrEnum):
    """Who the insurer pays (seeds/002 "Setting the Practitioner ID and Payee")."""

    INDIVIDUAL = "individual"
    CLINIC = "clinic"


class Practitioner(_Wire):
    """The treating clinician (the Controlling Specialist, seeds/002).

    Attributes:
        healthcode_id: The clinician's Healthcode identifier, often the GMC number with a
            leading 0 (seeds/001).
        name: Display name, optional.
    """

    healthcode_id: _Text
    name: _Text | None = None


class Payee(_Wire):
    """Who receives the payment: the clinician (individual) or a clinic (seeds/002).

    Attributes:
        healthcode_id: The payee's Healthcode identifier.
    """

    healthcode_id: _Text


class Patient(_Wire):
    """The patient and their cover.

    Attributes:
        membership_number: Healthcode ``RegistrationNo`` (reference §3.3).
        authorisation_code: Pre-authorisation, ``AuthCode``; optional unless the insurer
            requires it (reference §3.6, seeds/002).
        authorisation_valid_to: ``ValidToDate`` of the authorisation.
    """

    title: _Text | None = None
    first_name: _Text
    last_name: _Text
    date_of_birth: date
    gender: _Text | None = None
    postcode: _Text | None = None
    membership_number: _Text
    authorisation_code: _Text | None = None
    authorisation_valid_to: date | None = None


class BillLine(_Wire):
    """One charge line. Expenses are lines of their own with an expense ISC (seeds/000 step 5).

    Attributes:
        service_date: Date of service.
        isc: Industry Standard Code (the service or charge type).
        ccsd: CCSD procedure code, where the ISC needs one.
        description: What was done.
        fee: Fee per unit in pence.
        quantity: Units, at least 1.
    """

    service_date: date
    isc: _Text
    ccsd: _Text | None = None
    description: _Text
    fee: Annotated[StrictInt, Field(ge=0)]
    quantity: Annotated[StrictInt, Field(ge=1, le=999)] = 1

    @property
    def total(self) -> int:
        """Line total in pence."""
        return self.fee * self.quantity


class Bill(_Wire):
    """A bill to one insurer, as a PMS sends it in ``healthcode.validate`` / ``healthcode.submit``.

    The site is not part of the bill: it is the transport's credential (reference §2.1).
    """

    invoice_number: _Text
    insurer: _Text
    practitioner: Practitioner
    payee: Payee
    patient: Patient
    diagnoses: tuple[_Text, ...] = ()
    setting: Setting
    lines: Annotated[tuple[BillLine, ...], Field(min_length=1, max_length=200)]

    @property
    def net_total(self) -> int:
        """Sum of the line totals in pence (Healthcode's ``NetTotal``, reference §3.2)."""
        return sum(line.total for line in self.lines)

    @property
    def first_service_date(self) -> date:
        """The first date of service (``FDOS``)."""
        return min(line.service_date for line in self.lines)

    @property
    def last_service_date(self) -> date:
        """The latest date of service."""
        return max(line.service_date for line in self.lines)

    @property
    def payee_kind(self) -> PayeeKind:
        """Individual when the payee is the practitioner, else a clinic (seeds/002 cases 1, 2)."""
        if self.payee.healthcode_id == self.practitioner.healthcode_id:
            return PayeeKind.INDIVIDUAL
        return PayeeKind.CLINIC

    def to_wire(self) -> dict[str, object]:
        """The JSON object of INTERFACES.md (camelCase, ISO dates, absent optionals left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def parse_bill(data: object, *, prefix: str = "bill") -> Bill:
    """Build a :class:`Bill` from JSON params, naming every bad field.

    Args:
        data: The ``bill`` param as decoded from JSON.
        prefix: Path of the bill inside the params, put before each field name.

    Returns:
        The bill.

    Raises:
        InvalidParams: The bill is malformed; one :class:`~bridge.errors.FieldError` per bad
            field, e.g. ``bill.lines[0].fee``: "Input should be a valid integer" (-32602).
    """
    try:
        return Bill.model_validate(data)
    except ValidationError as exc:
        errors = tuple(
            FieldError(field_path((prefix, *error["loc"])), error["msg"])
            for error in exc.errors()
        )
        raise InvalidParams(errors) from exc


class Problem(_Wire):
    """One thing wrong with a bill, as VEDA shows it: Field / Error / Suggestion (reference §3.2).

    Attributes:
        field: Our field path, e.g. ``patient.membershipNumber`` or ``lines[0].isc``.
        error: What is wrong, in Healthcode's words where it has them ("Invalid Format").
        suggestion: How to fix it.
        healthcode_field: Healthcode's own name for the field, when it has one.
    """

    model_config = ConfigDict(extra="ignore")

    field: str
    error: str
    suggestion: str
    healthcode_field: str | None = None


# --------------------------------------------------------------------------------------------
# What the transport returns (pure models, so the worker and journal can hold them)
# --------------------------------------------------------------------------------------------


class CredentialsCheck(_Wire):
    """Result of a credentials check: ``{ok, message}`` (INTERFACES.md)."""

    model_config = ConfigDict(extra="ignore")

    ok: bool
    message: str


class SubmitReceipt(_Wire):
    """What a submit returns: the provider reference (at most 25 characters, reference §2.1).

    Attributes:
        duplicate: True when Healthcode already held a bill with this invoice number: the
            reference is that bill's and no second bill was created.
    """

    model_config = ConfigDict(extra="ignore")

    reference: Annotated[str, Field(min_length=1, max_length=MAX_REFERENCE_LENGTH)]
    status: BillStatus
    duplicate: bool = False


class StatusReport(_Wire):
    """A bill's status as last reported.

    Attributes:
        status: ``NotFound`` when Healthcode knows no such bill (then ``reference`` is None).
        at: When the bill entered ``status`` (Healthcode's clock), if known.
        problems: Why the bill is ``AwaitingCorrection``.
        bill: The bill's content, when Healthcode gives it (found by invoice number); None
            when absent or unreadable.
    """

    model_config = ConfigDict(extra="ignore")

    status: BillStatus
    at: datetime | None = None
    reference: str | None = None
    invoice_number: str | None = None
    problems: tuple[Problem, ...] = ()
    bill: Bill | None = None

    @field_validator("bill", mode="wrap")
    @classmethod
    def _readable_bill(cls, value: object, handler: ValidatorFunctionWrapHandler) -> Bill | None:
        try:
            found: Bill | None = handler(value)
        except ValidationError:
            return None  # content we cannot read proves nothing; the status still counts
        return found


# --------------------------------------------------------------------------------------------
# Code search results (the pick-list behind healthcode.codes, see bridge.healthcode.search)
# --------------------------------------------------------------------------------------------


CodeKind = Literal["isc", "ccsd", "icd10", "insurer"]


class CodeMatch(_Wire):
    """One pick-list entry ``{code, description, allowed}`` (INTERFACES.md ``healthcode.codes``)."""

    code: str
    description: str
    allowed: bool
