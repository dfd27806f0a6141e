"""Healthcode bill intake, pure: the one-pass check of a bill as a PMS sent it.

A PMS's pre-flight must list every mistake at once (INTERFACES.md ``healthcode.validate``), so
the bill is read leniently: every field is optional at this stage, and each missing, empty or
malformed one becomes a :class:`~bridge.healthcode.bills.Problem` (Field / Error / Suggestion,
Healthcode's name for the field where it has one, reference/healthcode.md §3.2). The business
rules of :mod:`bridge.healthcode.rules` then run over the same bill, with a placeholder in each
bad field; the problems those placeholders would raise are dropped, as the field is already
reported. Nothing here does I/O; ``today`` comes in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bridge.errors import field_path
from bridge.healthcode.bills import (
    Bill,
    BillLine,
    Patient,
    Payee,
    Practitioner,
    Problem,
    Setting,
)
from bridge.healthcode.refdata import HealthcodeReference, Registration
from bridge.healthcode.rules import validate_bill

__all__ = ["HEALTHCODE_FIELDS", "check_bill"]

#: Our field path -> Healthcode's own name for it (reference §3.2). Line fields are keyed by
#: their name after ``lines[i].``.
HEALTHCODE_FIELDS: Mapping[str, str] = {
    "invoiceNumber": "InvoiceNo",
    "insurer": "Insurer",
    "practitioner.healthcodeId": "ProviderNo",
    "payee.healthcodeId": "PayeeNo",
    "patient.membershipNumber": "RegistrationNo",
    "patient.authorisationCode": "AuthCode",
    "patient.authorisationValidTo": "ValidToDate",
    "setting": "Setting",
    "diagnoses": "Diagnosis",
    "lines": "NetTotal",
    "serviceDate": "FDOS",
    "isc": "ServiceCode",
    "ccsd": "ProcCode",
}

_T = TypeVar("_T")

_MAX_TEXT = 200
_MAX_LINES = 200
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class _Field:
    """One leaf field: whether it is required, how to fix it (its reader names its kind)."""

    key: str
    required: bool
    suggestion: str


def _table(*fields: _Field) -> Mapping[str, _Field]:
    return {spec.key: spec for spec in fields}


_TEXT_HINT = "Enter it as the patient's documents show it"

_PRACTITIONER = _table(
    _Field("healthcodeId", True, "Use the clinician's Healthcode identifier, e.g. 0651978"),
    _Field("name", False, "Give the clinician's name or leave it out"),
)
_PAYEE = _table(_Field("healthcodeId", True, "Use the payee's Healthcode identifier"))
_PATIENT = _table(
    _Field("title", False, _TEXT_HINT),
    _Field("firstName", True, "Enter the patient's first name"),
    _Field("lastName", True, "Enter the patient's last name"),
    _Field("dateOfBirth", True, "Enter the date of birth as YYYY-MM-DD"),
    _Field("gender", False, _TEXT_HINT),
    _Field("postcode", False, "Enter the patient's postcode, e.g. ZZ1 1AA"),
    _Field("membershipNumber", True, "Copy the number from the patient's insurance card"),
    _Field("authorisationCode", False, "Enter the pre-authorisation code as issued"),
    _Field("authorisationValidTo", False, "Enter the date as YYYY-MM-DD"),
)
_LINE = _table(
    _Field("serviceDate", True, "Enter the date of service as YYYY-MM-DD"),
    _Field("isc", True, "Pick the Industry Standard Code (healthcode.codes kind 'isc')"),
    _Field("ccsd", False, "Pick the CCSD code (healthcode.codes kind 'ccsd')"),
    _Field("description", True, "Say what was done"),
    _Field("fee", True, "Give the fee per unit in whole pence, e.g. 6500 for £65.00"),
    _Field("quantity", False, "Give the number of units, 1 to 999"),
)
_TOP = _table(
    _Field("invoiceNumber", True, "Give the PMS's invoice number, e.g. INV-0001"),
    _Field("insurer", True, "Pick the insurer (healthcode.codes kind 'insurer')"),
    _Field("setting", True, "Use I (inpatient), D (daycase) or O (outpatient)"),
)


def check_bill(
    data: Mapping[str, object],
    *,
    today: date,
    reference: HealthcodeReference,
    registrations: Mapping[str, Registration] | None = None,
    insurer_codes: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[Bill | None, list[Problem]]:
    """Every problem of a bill in one pass: structure first, then Healthcode's rules.

    Args:
        data: The ``bill`` object as decoded from JSON.
        today: The clinic's date (Europe/London).
        reference: Insurers and codes.
        registrations: The practitioners' and payees' registrations with insurers (config).
        insurer_codes: The bill's insurer's own ISC / CCSD lists, if imported.

    Returns:
        The bill (None when a field is missing or malformed) and every problem, structural
        ones first in bill order, then the rules' ones.
    """
    reader = _Reader(today)
    draft = reader.bill(data)
    ruled = validate_bill(draft, today=today, reference=reference, registrations=registrations,
                          insurer_codes=insurer_codes)
    problems = reader.problems + [p for p in ruled if not reader.covers(p.field)]
    if reader.problems:
        return None, problems
    try:
        bill = Bill.model_validate(data)
    except ValidationError as exc:  # a rule the reader does not know of: still a problem
        extra = [_from_pydantic(error) for error in exc.errors()]
        return None, problems + extra
    return bill, problems


def _hc_name(path: str) -> str | None:
    name = HEALTHCODE_FIELDS.get(path)
    if name is None and path.startswith("lines["):
        name = HEALTHCODE_FIELDS.get(path.split(".", 1)[-1])
    return name


def _from_pydantic(error: ErrorDetails) -> Problem:
    path = field_path(error["loc"])
    return Problem(field=path, error="Invalid Format", suggestion=str(error["msg"]),
                   healthcode_field=_hc_name(path))


class _Reader:
    """Reads a bill field by field, noting a problem (and a placeholder) for each bad one."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.problems: list[Problem] = []
        self._bad: list[str] = []

    def covers(self, field: str) -> bool:
        """Whether a rule's problem on ``field`` is already said by a structural one."""
        for bad in self._bad:
            if field == bad or field.startswith(bad + ".") or field.startswith(bad + "["):
                return True
            if bad.startswith(field + ".") or bad.startswith(field + "["):
                return True  # e.g. NetTotal on ``lines`` when one line's fee is unreadable
        return False

    def report(self, path: str, error: str, suggestion: str) -> None:
        self._bad.append(path)
        self.problems.append(
            Problem(field=path, error=error, suggestion=suggestion, healthcode_field=_hc_name(path))
        )

    def read_object(self, data: object, specs: Mapping[str, _Field], path: str) -> _Object:
        """One object of the bill, its shape and its unknown keys reported (its leaves are read
        one by one, in bill order, by the caller)."""
        prefix = f"{path}." if path else ""
        if not isinstance(data, Mapping):
            error = "Required" if data is None else "Must be an object"
            self.report(path, error, "Give " + ", ".join(s.key for s in specs.values() if s.required))
            # Its fields are covered by this one problem: placeholders, nothing more said.
            return _Object(self, None, specs, prefix)
        for key in data:
            if key not in specs and key not in _CHILDREN.get(path, ()):
                self.report(f"{prefix}{key}", "Not a bill field", "Remove it, or check its spelling")
        return _Object(self, data, specs, prefix)

    # --- the bill ---------------------------------------------------------------------------

    def bill(self, data: Mapping[str, object]) -> Bill:
        top = self.read_object(data, _TOP, "")
        invoice_number, insurer = top.value("invoiceNumber", _text, ""), top.value("insurer", _text, "")
        setting = top.value("setting", _setting, Setting.OUTPATIENT)
        found = self.read_object(data.get("practitioner"), _PRACTITIONER, "practitioner")
        practitioner = Practitioner.model_construct(
            healthcode_id=found.value("healthcodeId", _text, ""), name=found.optional("name", _text, ""),
        )
        found = self.read_object(data.get("payee"), _PAYEE, "payee")
        payee = Payee.model_construct(healthcode_id=found.value("healthcodeId", _text, ""))
        found = self.read_object(data.get("patient"), _PATIENT, "patient")
        patient = Patient.model_construct(
            title=found.optional("title", _text, ""),
            first_name=found.value("firstName", _text, ""),
            last_name=found.value("lastName", _text, ""),
            date_of_birth=found.value("dateOfBirth", _date, self.today),
            gender=found.optional("gender", _text, ""),
            postcode=found.optional("postcode", _text, ""),
            membership_number=found.value("membershipNumber", _text, ""),
            authorisation_code=found.optional("authorisationCode", _text, ""),
            authorisation_valid_to=found.optional("authorisationValidTo", _date, self.today),
        )
        return Bill.model_construct(
            invoice_number=invoice_number, insurer=insurer, setting=setting,
            practitioner=practitioner, payee=payee, patient=patient,
            diagnoses=self._diagnoses(data.get("diagnoses")), lines=self._lines(data.get("lines")),
        )

    def _diagnoses(self, value: object) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.report("diagnoses", "Invalid Format", "Give a list of ICD-10 codes, e.g. [\"M54.5\"]")
            return ()
        codes: list[str] = []
        for index, item in enumerate(value):
            try:
                codes.append(_text(item))
            except (_Empty, ValueError):
                self.report(f"diagnoses[{index}]", "Invalid Format", "Give an ICD-10 code, e.g. M54.5")
                codes.append("M54.5")  # a placeholder the rules accept
        return tuple(codes)

    def _lines(self, value: object) -> tuple[BillLine, ...]:
        if value is None or value == []:
            self.report("lines", "Required", "Give at least one charge line")
            return ()
        if not isinstance(value, list):
            self.report("lines", "Invalid Format", "Give a list of charge lines")
            return ()
        if len(value) > _MAX_LINES:
            self.report("lines", "Too many lines", f"Split the bill: at most {_MAX_LINES} lines")
        lines = []
        for index, item in enumerate(value[:_MAX_LINES]):
            line = self.read_object(item, _LINE, f"lines[{index}]")
            lines.append(BillLine.model_construct(
                service_date=line.value("serviceDate", _date, self.today),
                isc=line.value("isc", _text, ""),
                ccsd=line.optional("ccsd", _text, ""),
                description=line.value("description", _text, ""),
                fee=line.value("fee", _fee, 0),
                quantity=line.value("quantity", _quantity, 1),
            ))
        return tuple(lines)


class _Object:
    """One object of a bill as a PMS sent it (None: missing or not an object, already said).

    Each leaf is read with its parser; a missing, empty or malformed one is reported and gives
    its placeholder (a value the rules can read without raising; whatever they say of it is
    dropped).
    """

    def __init__(self, reader: _Reader, data: Mapping[object, object] | None, specs: Mapping[str, _Field],
                 prefix: str) -> None:
        self._reader, self._data, self._specs, self._prefix = reader, data, specs, prefix

    def optional(self, key: str, parse: Callable[[object], _T], placeholder: _T) -> _T | None:
        """The field's value; None when an optional field is left out."""
        spec = self._specs[key]
        if self._data is None:
            return placeholder if spec.required else None
        value = self._data.get(key)
        path = self._prefix + key
        if value is None:
            if spec.required:
                self._reader.report(path, "Required", spec.suggestion)
                return placeholder
            return None
        try:
            return parse(value)
        except _Empty:
            if spec.required:
                self._reader.report(path, "Required", spec.suggestion)
            else:
                self._reader.report(path, "May not be empty", spec.suggestion + ", or leave it out")
        except ValueError:
            self._reader.report(path, "Invalid Format", spec.suggestion)
        return placeholder

    def value(self, key: str, parse: Callable[[object], _T], placeholder: _T) -> _T:
        """The field's value; ``placeholder`` for an optional field left out too."""
        value = self.optional(key, parse, placeholder)
        return placeholder if value is None else value


_CHILDREN: Mapping[str, tuple[str, ...]] = {"": ("practitioner", "payee", "patient", "diagnoses", "lines")}


class _Empty(ValueError):
    """A text field that holds only spaces, or nothing."""


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("not text")
    text = value.strip()
    if not text:
        raise _Empty
    if len(text) > _MAX_TEXT:
        raise ValueError("too long")
    return text


def _date(value: object) -> date:
    if not isinstance(value, str):
        raise ValueError("not a date")
    if not value.strip():
        raise _Empty
    if not _ISO_DATE.fullmatch(value.strip()):
        raise ValueError("not YYYY-MM-DD")
    return date.fromisoformat(value.strip())


def _whole(value: object, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not a whole number")
    if value < low or (high is not None and value > high):
        raise ValueError("out of range")
    return value


def _fee(value: object) -> int:
    return _whole(value, 0, None)


def _quantity(value: object) -> int:
    return _whole(value, 1, 999)


def _setting(value: object) -> Setting:
    if not isinstance(value, str):
        raise ValueError("not I, D or O")
    if not value.strip():
        raise _Empty
    try:
        return Setting(value)
    except ValueError as exc:
        raise ValueError("not I, D or O") from exc
