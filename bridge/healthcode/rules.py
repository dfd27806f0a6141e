"""Healthcode pre-flight validation, pure: every rule a bill must pass before it is sent.

Nothing here does I/O: time comes in as ``today``, reference data as a
:class:`~bridge.healthcode.refdata.HealthcodeReference`. Problems use Healthcode's
Field / Error / Suggestion triple (reference/healthcode.md §3.2, VEDA invoice errors).

Every rule cites its source beside the check. "ASSUMPTION" marks a rule we chose where no
public rule exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date

from bridge.healthcode.bills import Bill, BillLine, Problem
from bridge.healthcode.refdata import CodeFormat, HealthcodeReference, InsurerRules, Registration

__all__ = ["validate_bill"]


# ASSUMPTION: Healthcode practitioner / payee identifiers are short alphanumerics (GMC number
# with a leading 0 such as 0651978, SP/HP numbers, "600" numbers, P162345: reference §3.3, §3.5).
_PROVIDER_ID = re.compile(r"[A-Za-z0-9]{3,15}")

# CCSD formats: one letter + 4 digits, or 4 digits + a letter (reference §5.1).
_CCSD_FORMAT = re.compile(r"[A-Z][0-9]{4}|[0-9]{4}[A-Z]")

# ICD-10 (WHO): letter, two digits, optional dot and one or two more characters (reference §5.3).
_ICD10_FORMAT = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,2})?")


# --------------------------------------------------------------------------------------------
# Pre-flight validation
# --------------------------------------------------------------------------------------------


def validate_bill(
    bill: Bill,
    *,
    today: date,
    reference: HealthcodeReference,
    registrations: Mapping[str, Registration] | None = None,
    insurer_codes: Mapping[str, Mapping[str, str]] | None = None,
) -> list[Problem]:
    """Check a bill the way Healthcode would, before sending it.

    Checks that need Healthcode's own data (membership database, provider mapping, duplicate
    invoice numbers) are left to Healthcode: see the server dry run in
    :meth:`bridge.clearing.transport.HealthcodeTransport.validate`.

    Args:
        bill: The bill.
        today: The local date of submission (the UK clinic's date).
        reference: Insurers and codes, from :func:`bridge.clearing.reference.load_reference`.
        registrations: Healthcode ID -> the practitioner's (or payee's) registrations with
            insurers (``[healthcode.practitioners]``); None or empty: not checked here.
        insurer_codes: The bill's insurer's own lists (``"isc"`` / ``"ccsd"`` -> code ->
            description, ``claimbridge codes import``): a code outside one is "Code not valid
            for insurer", a code in it is accepted even when our reference lacks it.

    Returns:
        Every problem found, in bill order; empty when the bill may be submitted.
    """
    insurer = reference.insurers.get(bill.insurer)
    problems: list[Problem] = []
    problems += _check_insurer(bill, reference)
    problems += _check_invoice_number(bill, insurer)
    problems += _check_providers(bill)
    if registrations:
        problems += _check_registrations(bill, registrations)
    problems += _check_patient(bill, today, insurer, reference)
    problems += _check_diagnoses(bill, insurer, reference)
    for index, line in enumerate(bill.lines):
        problems += _check_line(index, line, bill, today, insurer, reference, insurer_codes or {})
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


def _check_invoice_number(bill: Bill, insurer: InsurerRules | None) -> Iterator[Problem]:
    number = bill.invoice_number
    wrong: list[str] = []
    # An insurer's own rule applies to that insurer only: AXA's "at most 10 characters, no full
    # stops" (reference §3.6 "Invoice rules") is AXA's, in its insurers.json entry.
    if insurer is not None and insurer.invoice_number_max_length is not None:
        if len(number) > insurer.invoice_number_max_length:
            wrong.append(f"at most {insurer.invoice_number_max_length} characters for {insurer.name} "
                         f"(this has {len(number)})")
    if insurer is not None and insurer.invoice_number_no_full_stops and "." in number:
        wrong.append(f"no full stops for {insurer.name}")
    # ASSUMPTION: no spaces, for every insurer.
    if any(char.isspace() for char in number):
        wrong.append("no spaces")
    if wrong:
        yield _problem(
            "invoiceNumber", "Invalid Format", "Use " + ", ".join(wrong), "InvoiceNo"
        )


def _check_registrations(bill: Bill, registrations: Mapping[str, Registration]) -> Iterator[Problem]:
    """The practitioner, and a payee, registered with the bill's insurer (reference §3.5, §3.7
    item 2: "Provider not mapped"); a payee set up as a payee provider ("Payee Provider – Must
    be M", reference §3.5)."""
    practitioner = registrations.get(bill.practitioner.healthcode_id)
    if practitioner is None or bill.insurer not in practitioner.insurers:
        yield _problem(
            "practitioner.healthcodeId", "Provider not mapped",
            f"Register {bill.practitioner.healthcode_id} with {bill.insurer} at Healthcode and add its "
            f"provider number to [healthcode.practitioners.{bill.practitioner.healthcode_id}] insurers",
            "ProviderNo",
        )
    payee_id = bill.payee.healthcode_id
    payee = practitioner if payee_id == bill.practitioner.healthcode_id else registrations.get(payee_id)
    if payee_id != bill.practitioner.healthcode_id and (payee is None or bill.insurer not in payee.insurers):
        yield _problem(
            "payee.healthcodeId", "Provider not mapped",
            f"Register the payee {payee_id} with {bill.insurer} at Healthcode and add it to "
            f"[healthcode.practitioners.{payee_id}] insurers",
            "PayeeNo",
        )
    elif payee is not None and not payee.payee:
        yield _problem(
            "payee.healthcodeId", "Payee Provider – Must be M",
            f"{payee_id} is not set up as a payee provider: send Healthcode the data-processing "
            "consent form, or bill with the clinic as payee",
            "PayeeNo",
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
    if valid_to is not None and bill.lines and valid_to < bill.last_service_date:
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
    insurer_codes: Mapping[str, Mapping[str, str]],
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
    for kind, code, hc_field in (("isc", line.isc, "ServiceCode"), ("ccsd", line.ccsd, "ProcCode")):
        listed = insurer_codes.get(kind)
        if listed is not None and code is not None and code not in listed:
            # ServiceCode / ProcCode "Code not valid for insurer": outside the insurer's own list
            # (reference §3.2; the lists come from the insurers' contracts teams, seeds/001).
            yield _problem(f"{prefix}.{kind}", "Code not valid for insurer",
                           f"{bill.insurer} does not list {code}: pick one of its codes "
                           f"(healthcode.codes kind '{kind}')", hc_field)
    if "isc" not in insurer_codes or line.isc in reference.isc:
        yield from _check_isc(prefix, line, bill, insurer, reference, "isc" in insurer_codes)
    if "ccsd" not in insurer_codes:
        yield from _check_ccsd(prefix, line, reference)


def _check_isc(
    prefix: str,
    line: BillLine,
    bill: Bill,
    insurer: InsurerRules | None,
    reference: HealthcodeReference,
    insurer_listed: bool = False,
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
    if insurer is not None and not insurer_listed and not isc.allowed_for(insurer.code):
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
