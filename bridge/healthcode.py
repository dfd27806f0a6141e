"""Healthcode bills, pure: the bill model, pre-flight validation, bill statuses, code search.

Nothing here does I/O (no asyncio, httpx, sqlite, files): time comes in as ``today``, reference
data as a :class:`HealthcodeReference` (read by :mod:`bridge.healthcode_reference`). The HTTP
adapter is :mod:`bridge.healthcode_transport`.

Healthcode's PMS web-service wire format is not public (reference/healthcode.md §2.1); what is
public is the set of field names and error texts PMS vendors quote back (§3.2). Problems
therefore name our own camelCase field path (``field``) and, where Healthcode has its own name
for it, that name too (``healthcodeField``: ``RegistrationNo``, ``AuthCode``, ``FDOS`` ...),
with Healthcode's Field / Error / Suggestion triple (§3.2, VEDA invoice errors).

Every rule cites its source beside the check. "ASSUMPTION" marks a rule we chose where no
public rule exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError
from pydantic.alias_generators import to_camel

from bridge.errors import FieldError, InvalidParams

__all__ = [
    "BILL_TRANSITIONS",
    "FINAL_STATUSES",
    "Bill",
    "BillLine",
    "BillStatus",
    "CcsdCode",
    "CodeFormat",
    "CodeKind",
    "CodeMatch",
    "CredentialsCheck",
    "HealthcodeReference",
    "Icd10Code",
    "InsurerRules",
    "IscCode",
    "Patient",
    "Payee",
    "PayeeKind",
    "Practitioner",
    "Problem",
    "Setting",
    "StatusReport",
    "SubmitReceipt",
    "WrongNumberHint",
    "can_reach",
    "can_transition",
    "is_final",
    "parse_bill",
    "search_codes",
    "validate_bill",
]

#: Longest provider reference Healthcode returns (Semble's cap, reference §2.1).
MAX_REFERENCE_LENGTH = 25

#: Invoice numbers: at most 10 characters, no full stops (AXA's rule, used as the safe global
#: default: reference §3.6 "Invoice rules", §7.1).
_MAX_INVOICE_LENGTH = 10

# ASSUMPTION: Healthcode practitioner / payee identifiers are short alphanumerics (GMC number
# with a leading 0 such as 0651978, SP/HP numbers, "600" numbers, P162345: reference §3.3, §3.5).
_PROVIDER_ID = re.compile(r"[A-Za-z0-9]{3,15}")

# CCSD formats: one letter + 4 digits, or 4 digits + a letter (reference §5.1).
_CCSD_FORMAT = re.compile(r"[A-Z][0-9]{4}|[0-9]{4}[A-Z]")

# ICD-10 (WHO): letter, two digits, optional dot and one or two more characters (reference §5.3).
_ICD10_FORMAT = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,2})?")

_DEFAULT_SEARCH_LIMIT = 20
_MAX_SEARCH_LIMIT = 100


class _Wire(BaseModel):
    """Frozen, camelCase on the wire, snake_case in Python; unknown fields refused."""

    model_config = ConfigDict(
        frozen=True,
        populate_by_name=True,
        alias_generator=to_camel,
        extra="forbid",
        str_strip_whitespace=True,
    )


class _Ref(BaseModel):
    """Reference data: frozen, camelCase in the fixture files, tolerant of extra keys."""

    model_config = ConfigDict(
        frozen=True, populate_by_name=True, alias_generator=to_camel, extra="ignore"
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
            field, e.g. ``bill.lines.0.fee``: "Input should be a valid integer" (-32602).
    """
    try:
        return Bill.model_validate(data)
    except ValidationError as exc:
        errors = tuple(
            FieldError(".".join([prefix, *(str(part) for part in error["loc"])]), error["msg"])
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
# Statuses (reference §4) and the one transition table
# --------------------------------------------------------------------------------------------


class BillStatus(StrEnum):
    """A bill's clearing status: exactly the values of INTERFACES.md (reference §4)."""

    UNPROCESSED = "Unprocessed"
    IN_PROCESS = "In-process"
    AWAITING_CORRECTION = "AwaitingCorrection"
    VALIDATED = "Validated"
    AWAITING_COLLECTION = "AwaitingCollection"
    COLLECTED = "Collected"
    CANCELLED = "Cancelled"
    NOT_FOUND = "NotFound"


_S = BillStatus

#: Allowed moves, the whole state machine (reference §4 "Observed lifecycle"). A failed bill is
#: amended and re-validated (VEDA, reference §4), hence AwaitingCorrection -> In-process. Any
#: state before collection may be cancelled. NotFound is what a lookup of an unknown bill
#: yields: nothing moves into or out of it. Collected means the insurer picked the bill up;
#: payment is a separate channel (§2.4).
BILL_TRANSITIONS: Mapping[BillStatus, frozenset[BillStatus]] = MappingProxyType(
    {
        _S.UNPROCESSED: frozenset({_S.IN_PROCESS, _S.CANCELLED}),
        _S.IN_PROCESS: frozenset({_S.VALIDATED, _S.AWAITING_CORRECTION, _S.CANCELLED}),
        _S.AWAITING_CORRECTION: frozenset({_S.IN_PROCESS, _S.CANCELLED}),
        _S.VALIDATED: frozenset({_S.AWAITING_COLLECTION, _S.CANCELLED}),
        _S.AWAITING_COLLECTION: frozenset({_S.COLLECTED, _S.CANCELLED}),
        _S.COLLECTED: frozenset(),
        _S.CANCELLED: frozenset(),
        _S.NOT_FOUND: frozenset(),
    }
)

#: Statuses after which polling stops.
FINAL_STATUSES: frozenset[BillStatus] = frozenset(
    status for status, targets in BILL_TRANSITIONS.items() if not targets
)


def can_transition(current: BillStatus, new: BillStatus) -> bool:
    """Whether ``current -> new`` is one step of :data:`BILL_TRANSITIONS`."""
    return new in BILL_TRANSITIONS[current]


def can_reach(current: BillStatus, new: BillStatus) -> bool:
    """Whether ``new`` follows ``current`` in one or more steps.

    Polling sees only some of the states a bill passes through (``Unprocessed`` then
    ``Validated``); a poller accepts a report when this is true, or when it equals ``current``.
    """
    seen: set[BillStatus] = set()
    frontier = set(BILL_TRANSITIONS[current])
    while frontier:
        status = frontier.pop()
        if status == new:
            return True
        seen.add(status)
        frontier |= BILL_TRANSITIONS[status] - seen
    return False


def is_final(status: BillStatus) -> bool:
    """Whether nothing can follow ``status`` (Collected, Cancelled, NotFound)."""
    return status in FINAL_STATUSES


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
    """

    model_config = ConfigDict(extra="ignore")

    status: BillStatus
    at: datetime | None = None
    reference: str | None = None
    invoice_number: str | None = None
    problems: tuple[Problem, ...] = ()


# --------------------------------------------------------------------------------------------
# Reference data (fixtures/healthcode/*.json, loaded by bridge.healthcode_reference)
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
    """

    code: str
    name: str
    accepts_edi: bool = True
    has_member_database: bool = False
    requires_diagnosis: bool = False
    auth_required: bool = False
    max_submission_months: int | None = None
    membership_formats: tuple[CodeFormat, ...] | None = None
    wrong_number_hints: tuple[WrongNumberHint, ...] = ()
    auth_formats: tuple[CodeFormat, ...] | None = None
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
# Pre-flight validation
# --------------------------------------------------------------------------------------------


def validate_bill(bill: Bill, *, today: date, reference: HealthcodeReference) -> list[Problem]:
    """Check a bill the way Healthcode would, before sending it.

    Checks that need Healthcode's own data (membership database, provider mapping, duplicate
    invoice numbers) are left to Healthcode: see the server dry run in
    :meth:`bridge.healthcode_transport.HealthcodeTransport.validate`.

    Args:
        bill: The bill.
        today: The local date of submission (the UK clinic's date).
        reference: Insurers and codes, from :func:`bridge.healthcode_reference.load_reference`.

    Returns:
        Every problem found, in bill order; empty when the bill may be submitted.
    """
    insurer = reference.insurers.get(bill.insurer)
    problems: list[Problem] = []
    problems += _check_insurer(bill, reference)
    problems += _check_invoice_number(bill)
    problems += _check_providers(bill)
    problems += _check_patient(bill, today, insurer, reference)
    problems += _check_diagnoses(bill, insurer, reference)
    for index, line in enumerate(bill.lines):
        problems += _check_line(index, line, bill, today, insurer, reference)
    problems += _check_totals(bill)
    return problems


def _problem(field: str, error: str, suggestion: str, hc: str | None) -> Problem:
    return Problem(field=field, error=error, suggestion=suggestion, healthcode_field=hc)


def _check_insurer(bill: Bill, reference: HealthcodeReference) -> Iterator[Problem]:
    insurer = reference.insurers.get(bill.insurer)
    if insurer is None:
        # Insurer: "Invalid Insurer" for a wrong 3-letter code (reference §3.2, §3.7 item 3).
        lowered = bill.insurer.lower()
        if lowered in reference.insurers:
            hint = f"Healthcode identifiers are lower case: use {lowered!r}"
        else:
            known = ", ".join(sorted(reference.insurers))
            hint = f"Use the insurer's Healthcode identifier, one of: {known}"
        yield _problem("insurer", "Invalid Insurer", hint, "Insurer")
    elif not insurer.accepts_edi:
        # Only insurers that accept EDI claims can be billed electronically (ePractice's
        # acceptEdiClaims, reference §3.3).
        yield _problem(
            "insurer",
            "Insurer does not accept electronic bills",
            f"Send this bill to {insurer.name} directly",
            "Insurer",
        )


def _check_invoice_number(bill: Bill) -> Iterator[Problem]:
    number = bill.invoice_number
    # At most 10 characters, no full stops (AXA's published rule, our global default:
    # reference §3.6 "Invoice rules", §7.1). ASSUMPTION: no spaces either.
    wrong: list[str] = []
    if len(number) > _MAX_INVOICE_LENGTH:
        wrong.append(f"at most {_MAX_INVOICE_LENGTH} characters (this has {len(number)})")
    if "." in number:
        wrong.append("no full stops")
    if any(char.isspace() for char in number):
        wrong.append("no spaces")
    if wrong:
        yield _problem(
            "invoiceNumber", "Invalid Format", "Use " + ", ".join(wrong), "InvoiceNo"
        )


def _check_providers(bill: Bill) -> Iterator[Problem]:
    # ProviderNo / Payee No "Invalid Code" (reference §3.2); the format is an ASSUMPTION
    # (see _PROVIDER_ID).
    checks = (
        ("practitioner.healthcodeId", bill.practitioner.healthcode_id, "ProviderNo"),
        ("payee.healthcodeId", bill.payee.healthcode_id, "PayeeNo"),
    )
    for field, value, hc_field in checks:
        if not _PROVIDER_ID.fullmatch(value):
            yield _problem(
                field,
                "Invalid Code",
                "Use the Healthcode identifier exactly as Healthcode issued it (letters and "
                "digits, e.g. 0651978)",
                hc_field,
            )


def _check_patient(
    bill: Bill, today: date, insurer: InsurerRules | None, reference: HealthcodeReference
) -> Iterator[Problem]:
    patient = bill.patient
    # ASSUMPTION: a date of birth in the future is a keying error (DOB is part of the
    # demographic match, reference §3.2, §3.7 item 1).
    if patient.date_of_birth > today:
        yield _problem(
            "patient.dateOfBirth", "May not be after Today", "Check the date of birth", None
        )
    if insurer is not None:
        yield from _check_membership(patient.membership_number, insurer, reference)
        yield from _check_authorisation(patient.authorisation_code, insurer)
    # ValidToDate: "May not be before the latest date of service" (reference §3.2, §3.6).
    valid_to = patient.authorisation_valid_to
    if valid_to is not None and valid_to < bill.last_service_date:
        yield _problem(
            "patient.authorisationValidTo",
            "May not be before the latest date of service",
            f"The authorisation ends {valid_to.isoformat()} but the bill has service on "
            f"{bill.last_service_date.isoformat()}: ask the insurer to extend it, or bill "
            "only the covered dates",
            "ValidToDate",
        )


def _check_membership(
    number: str, insurer: InsurerRules, reference: HealthcodeReference
) -> Iterator[Problem]:
    # Per-insurer RegistrationNo formats (reference §3.6); insurers whose formats are not
    # public get the generic ASSUMPTION format from the fixture.
    formats = insurer.membership_formats or (reference.generic_membership_format,)
    if _matches_any(number, formats):
        return
    for hint in insurer.wrong_number_hints:
        # Vitality: a 10-digit number starting 12 is the membership number, rejected on
        # Healthcode; the 8-digit policy number is wanted (reference §3.6).
        if re.fullmatch(hint.pattern, number):
            yield _problem(
                "patient.membershipNumber", "Invalid Format", hint.hint, "RegistrationNo"
            )
            return
    if _matches_any(number.upper(), formats):
        suggestion = f"Use capital letters: {number.upper()}"
    else:
        examples = ", ".join(f.example for f in formats[:4])
        suggestion = f"Enter the {insurer.name} membership number as on the card, e.g. {examples}"
    yield _problem("patient.membershipNumber", "Invalid Format", suggestion, "RegistrationNo")


def _check_authorisation(code: str | None, insurer: InsurerRules) -> Iterator[Problem]:
    if code is None:
        # "Optional unless stated" (reference §3.6 authorisation numbers; seeds/002).
        if insurer.auth_required:
            yield _problem(
                "patient.authorisationCode",
                "Required by insurer",
                f"{insurer.name} needs the pre-authorisation code for this bill",
                "AuthCode",
            )
        return
    # AuthCode "Invalid Format" against per-insurer formats (reference §3.2, §3.6); None means
    # not validated (AXA) or not public.
    formats = insurer.auth_formats
    if formats is None or _matches_any(code, formats):
        return
    examples = ", ".join(f.example for f in formats[:3])
    yield _problem(
        "patient.authorisationCode",
        "Invalid Format",
        f"Enter the {insurer.name} authorisation exactly as issued, e.g. {examples}",
        "AuthCode",
    )


def _check_diagnoses(
    bill: Bill, insurer: InsurerRules | None, reference: HealthcodeReference
) -> Iterator[Problem]:
    # Diagnosis required where the insurer demands it (ePractice requiresDiagnosisCode,
    # AXA invoicing rules: reference §3.3, §3.6).
    if not bill.diagnoses and insurer is not None and insurer.requires_diagnosis:
        yield _problem(
            "diagnoses",
            "Required by insurer",
            f"{insurer.name} needs at least one ICD-10 diagnosis code",
            "Diagnosis",
        )
    for index, code in enumerate(bill.diagnoses):
        field = f"diagnoses[{index}]"
        # ICD-10 format (reference §5.3).
        if not _ICD10_FORMAT.fullmatch(code):
            yield _problem(
                field,
                "Invalid Format",
                f"Use an ICD-10 code with its dot, e.g. {_icd10_hint(code)}",
                "Diagnosis",
            )
            continue
        known = reference.icd10.get(code)
        if known is None:
            # Diagnosis "Code not Mapped" (reference §3.2), only when our list is complete.
            if reference.icd10_authoritative:
                yield _problem(
                    field, "Code not Mapped", "Pick the code from the ICD-10 list", "Diagnosis"
                )
        elif insurer is not None and insurer.code in known.not_valid_for:
            # Diagnosis "Not Valid for Insurer" (reference §3.2).
            yield _problem(
                field,
                "Not Valid for Insurer",
                f"{insurer.name} does not accept {code}; use a more specific code",
                "Diagnosis",
            )


def _icd10_hint(code: str) -> str:
    compact = code.replace(".", "").replace(" ", "").upper()
    if re.fullmatch(r"[A-Z][0-9]{2}[0-9A-Z]{1,2}", compact):
        return f"{compact[:3]}.{compact[3:]}"
    return "M54.5"


def _check_line(
    index: int,
    line: BillLine,
    bill: Bill,
    today: date,
    insurer: InsurerRules | None,
    reference: HealthcodeReference,
) -> Iterator[Problem]:
    prefix = f"lines[{index}]"
    # FDOS "May not be after Today" (reference §3.2, §3.6 "first date of service not in the
    # future"); applied to every line, as a later line in the future is as wrong.
    if line.service_date > today:
        yield _problem(
            f"{prefix}.serviceDate",
            "May not be after Today",
            "Bill a service only after it has taken place",
            "FDOS",
        )
    # Submission age limits: Vitality 3 months, AXA 6 months (reference §3.6).
    if insurer is not None and insurer.max_submission_months is not None:
        deadline = _add_months(line.service_date, insurer.max_submission_months)
        if today > deadline:
            yield _problem(
                f"{prefix}.serviceDate",
                "Too old for insurer",
                f"{insurer.name} accepts bills within {insurer.max_submission_months} months "
                f"of treatment (by {deadline.isoformat()}); contact the insurer",
                "FDOS",
            )
    yield from _check_isc(prefix, line, bill, insurer, reference)
    yield from _check_ccsd(prefix, line, reference)


def _check_isc(
    prefix: str,
    line: BillLine,
    bill: Bill,
    insurer: InsurerRules | None,
    reference: HealthcodeReference,
) -> Iterator[Problem]:
    isc = reference.isc.get(line.isc)
    if isc is None:
        # ServiceCode / ProcCode "Invalid Code": wrong or missing ISC (reference §3.2).
        yield _problem(
            f"{prefix}.isc",
            "Invalid Code",
            "Pick the Industry Standard Code from the list (healthcode.codes kind 'isc')",
            "ServiceCode",
        )
        return
    if not _active_on(line.service_date, isc.active_from, isc.active_to):
        # Codes must be active on the date of service (reference §3.2 ProcCode, §3.6).
        yield _problem(
            f"{prefix}.isc",
            "Invalid Code",
            f"{isc.code} is not active on {line.service_date.isoformat()}; pick a current code",
            "ServiceCode",
        )
    if insurer is not None and not isc.allowed_for(insurer.code):
        # ServiceCode "Code not valid for insurer" (reference §3.2, §5.2 allow-lists).
        yield _problem(
            f"{prefix}.isc",
            "Code not valid for insurer",
            f"{insurer.name} does not accept {isc.code}; ask their contracts team for the "
            "codes they accept",
            "ServiceCode",
        )
    if insurer is not None and insurer.code in isc.agreed_fees:
        agreed = isc.agreed_fees[insurer.code]
        if line.fee != agreed:
            # ServiceCode "Insurer requires agreed fee for service" (reference §3.2, §3.7 item 4).
            yield _problem(
                f"{prefix}.fee",
                "Insurer requires agreed fee for service",
                f"Charge the agreed fee of {_pounds(agreed)} for {isc.code}",
                "ServiceCode",
            )
    if isc.requires_procedure_code and line.ccsd is None:
        # Some ISCs need a CCSD procedure code too (ePractice requiresProcedureCode, seeds/001);
        # ProcCode "Invalid Code" covers a missing one (reference §3.2).
        yield _problem(
            f"{prefix}.ccsd",
            "Invalid Code",
            f"{isc.code} needs a CCSD procedure code; add one (healthcode.codes kind 'ccsd')",
            "ProcCode",
        )


def _check_ccsd(prefix: str, line: BillLine, reference: HealthcodeReference) -> Iterator[Problem]:
    if line.ccsd is None:
        return
    code = line.ccsd
    # CCSD format: letter + 4 digits or 4 digits + letter (reference §5.1).
    if not _CCSD_FORMAT.fullmatch(code):
        yield _problem(
            f"{prefix}.ccsd",
            "Invalid Format",
            "A CCSD code is a letter and 4 digits (W9220) or 4 digits and a letter (0001T)",
            "ProcCode",
        )
        return
    known = reference.ccsd.get(code)
    if known is None:
        if reference.ccsd_authoritative:
            yield _problem(
                f"{prefix}.ccsd", "Invalid Code", "Pick the code from the CCSD schedule", "ProcCode"
            )
    elif not _active_on(line.service_date, known.active_from, known.active_to):
        # ProcCode "Invalid Code" when not active on the date of service (reference §3.2).
        yield _problem(
            f"{prefix}.ccsd",
            "Invalid Code",
            f"{code} is not active on {line.service_date.isoformat()}; use the current code",
            "ProcCode",
        )


def _check_totals(bill: Bill) -> Iterator[Problem]:
    # NetTotal: the net total is checked (reference §3.2, message cut off in the source).
    # ASSUMPTION: a bill must ask for money.
    if bill.net_total <= 0:
        yield _problem(
            "lines",
            "Must be greater than zero",
            "A bill must have at least one line with a fee",
            "NetTotal",
        )


def _matches_any(value: str, formats: tuple[CodeFormat, ...]) -> bool:
    return any(re.fullmatch(f.pattern, value) for f in formats)


def _active_on(day: date, start: date | None, end: date | None) -> bool:
    return (start is None or start <= day) and (end is None or day <= end)


def _add_months(day: date, months: int) -> date:
    """``day`` plus whole months, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def _pounds(pence: int) -> str:
    return f"£{pence // 100}.{pence % 100:02d}"


# --------------------------------------------------------------------------------------------
# Code search (the pick-list behind healthcode.codes)
# --------------------------------------------------------------------------------------------


CodeKind = Literal["isc", "ccsd", "icd10"]


class CodeMatch(_Wire):
    """One pick-list entry ``{code, description, allowed}`` (INTERFACES.md ``healthcode.codes``)."""

    code: str
    description: str
    allowed: bool


def search_codes(
    kind: CodeKind,
    query: str,
    insurer: str | None,
    limit: int | None,
    reference: HealthcodeReference,
) -> list[CodeMatch]:
    """Find codes as a PMS user types: by code prefix or by words of the description.

    Args:
        kind: ``"isc"``, ``"ccsd"`` or ``"icd10"``.
        query: What was typed; empty lists the first codes. Case, dots and spaces in a code
            do not matter ("m545" finds M54.5).
        insurer: Marks each match ``allowed`` for this insurer; None allows all.
        limit: At most this many matches (default 20, at most 100).
        reference: The reference data.

    Returns:
        Exact code first, then code-prefix matches, then description matches, each by code.
    """
    size = _DEFAULT_SEARCH_LIMIT if limit is None else max(1, min(limit, _MAX_SEARCH_LIMIT))
    entries: list[tuple[str, str, bool]]
    if kind == "isc":
        entries = [(c.code, c.description, c.allowed_for(insurer)) for c in reference.isc.values()]
    elif kind == "ccsd":
        entries = [(c.code, c.description, True) for c in reference.ccsd.values()]
    else:
        entries = [
            (c.code, c.description, insurer is None or insurer not in c.not_valid_for)
            for c in reference.icd10.values()
        ]
    wanted = _compact(query)
    words = [w for w in re.split(r"[^0-9a-z]+", query.casefold()) if w]
    ranked: list[tuple[int, str, CodeMatch]] = []
    for code, description, allowed in entries:
        rank = _rank(code, description, wanted, words)
        if rank is not None:
            match = CodeMatch(code=code, description=description, allowed=allowed)
            ranked.append((rank, code, match))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [match for _, _, match in ranked[:size]]


def _compact(text: str) -> str:
    return re.sub(r"[\s.\-]", "", text).casefold()


def _rank(code: str, description: str, wanted: str, words: list[str]) -> int | None:
    compact_code = _compact(code)
    if not wanted:
        return 2
    if compact_code == wanted:
        return 0
    if compact_code.startswith(wanted):
        return 1
    if not words:
        return None
    vocabulary = re.split(r"[^0-9a-z]+", f"{code} {description}".casefold())
    if all(any(term.startswith(word) for term in vocabulary) for word in words):
        return 2
    return None
