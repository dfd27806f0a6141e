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

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

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

_MAX_TEXT = 200
_MAX_LINES = 200
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class _Field:
    """How to read one leaf field: its kind, whether it is required, how to fix it."""

    key: str
    kind: str  # "text", "date", "fee", "quantity", "setting"
    required: bool
    suggestion: str


_TEXT_HINT = "Enter it as the patient's documents show it"

_PRACTITIONER = (
    _Field("healthcodeId", "text", True, "Use the clinician's Healthcode identifier, e.g. 0651978"),
    _Field("name", "text", False, "Give the clinician's name or leave it out"),
)
_PAYEE = (_Field("healthcodeId", "text", True, "Use the payee's Healthcode identifier"),)
_PATIENT = (
    _Field("title", "text", False, _TEXT_HINT),
    _Field("firstName", "text", True, "Enter the patient's first name"),
    _Field("lastName", "text", True, "Enter the patient's last name"),
    _Field("dateOfBirth", "date", True, "Enter the date of birth as YYYY-MM-DD"),
    _Field("gender", "text", False, _TEXT_HINT),
    _Field("postcode", "text", False, "Enter the patient's postcode, e.g. ZZ1 1AA"),
    _Field("membershipNumber", "text", True, "Copy the number from the patient's insurance card"),
    _Field("authorisationCode", "text", False, "Enter the pre-authorisation code as issued"),
    _Field("authorisationValidTo", "date", False, "Enter the date as YYYY-MM-DD"),
)
_LINE = (
    _Field("serviceDate", "date", True, "Enter the date of service as YYYY-MM-DD"),
    _Field("isc", "text", True, "Pick the Industry Standard Code (healthcode.codes kind 'isc')"),
    _Field("ccsd", "text", False, "Pick the CCSD code (healthcode.codes kind 'ccsd')"),
    _Field("description", "text", True, "Say what was done"),
    _Field("fee", "fee", True, "Give the fee per unit in whole pence, e.g. 6500 for £65.00"),
    _Field("quantity", "quantity", False, "Give the number of units, 1 to 999"),
)
_TOP = (
    _Field("invoiceNumber", "text", True, "Give the PMS's invoice number, e.g. INV-0001"),
    _Field("insurer", "text", True, "Pick the insurer (healthcode.codes kind 'insurer')"),
    _Field("setting", "setting", True, "Use I (inpatient), D (daycase) or O (outpatient)"),
)


def check_bill(
    data: Mapping[str, Any],
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


def _from_pydantic(error: Any) -> Problem:
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

    def _report(self, path: str, error: str, suggestion: str) -> None:
        self._bad.append(path)
        self.problems.append(
            Problem(field=path, error=error, suggestion=suggestion, healthcode_field=_hc_name(path))
        )

    # --- leaves -----------------------------------------------------------------------------

    def _leaf(self, data: Mapping[str, Any], spec: _Field, path: str) -> Any:
        value = data.get(spec.key)
        if value is None:
            if spec.required:
                self._report(path, "Required", spec.suggestion)
                return self._placeholder(spec)
            return None
        reader: Callable[[Any], Any] = {
            "text": _text, "date": _date, "fee": _fee, "quantity": _quantity, "setting": _setting,
        }[spec.kind]
        try:
            return reader(value)
        except _Empty:
            if spec.required:
                self._report(path, "Required", spec.suggestion)
            else:
                self._report(path, "May not be empty", spec.suggestion + ", or leave it out")
        except ValueError:
            self._report(path, "Invalid Format", spec.suggestion)
        return self._placeholder(spec)

    def _placeholder(self, spec: _Field) -> Any:
        # Values the rules can read without raising; whatever they say of them is dropped.
        return {"text": "", "date": self.today, "fee": 0, "quantity": 1,
                "setting": Setting.OUTPATIENT}[spec.kind]

    def _fields(self, data: Any, specs: tuple[_Field, ...], path: str) -> dict[str, Any]:
        prefix = f"{path}." if path else ""
        if not isinstance(data, Mapping):
            error = "Required" if data is None else "Must be an object"
            self._report(path, error, "Give " + ", ".join(s.key for s in specs if s.required))
            # Its fields are covered by this one problem: placeholders, nothing more said.
            return {_snake(spec.key): self._placeholder(spec) if spec.required else None for spec in specs}
        known = {spec.key for spec in specs}
        for key in data:
            if key not in known and key not in _CHILDREN.get(path, ()):
                self._report(f"{prefix}{key}", "Not a bill field", "Remove it, or check its spelling")
        return {_snake(spec.key): self._leaf(data, spec, prefix + spec.key) for spec in specs}

    # --- the bill ---------------------------------------------------------------------------

    def bill(self, data: Mapping[str, Any]) -> Bill:
        top = self._fields(data, _TOP, "")
        practitioner = Practitioner.model_construct(**self._fields(data.get("practitioner"), _PRACTITIONER, "practitioner"))
        payee = Payee.model_construct(**self._fields(data.get("payee"), _PAYEE, "payee"))
        patient = Patient.model_construct(**self._fields(data.get("patient"), _PATIENT, "patient"))
        return Bill.model_construct(
            **top, practitioner=practitioner, payee=payee, patient=patient,
            diagnoses=self._diagnoses(data.get("diagnoses")), lines=self._lines(data.get("lines")),
        )

    def _diagnoses(self, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self._report("diagnoses", "Invalid Format", "Give a list of ICD-10 codes, e.g. [\"M54.5\"]")
            return ()
        codes: list[str] = []
        for index, item in enumerate(value):
            try:
                codes.append(_text(item))
            except (_Empty, ValueError):
                self._report(f"diagnoses[{index}]", "Invalid Format", "Give an ICD-10 code, e.g. M54.5")
                codes.append("M54.5")  # a placeholder the rules accept
        return tuple(codes)

    def _lines(self, value: Any) -> tuple[BillLine, ...]:
        if value is None or value == []:
            self._report("lines", "Required", "Give at least one charge line")
            return ()
        if not isinstance(value, list):
            self._report("lines", "Invalid Format", "Give a list of charge lines")
            return ()
        if len(value) > _MAX_LINES:
            self._report("lines", "Too many lines", f"Split the bill: at most {_MAX_LINES} lines")
        lines = []
        for index, item in enumerate(value[:_MAX_LINES]):
            fields = self._fields(item, _LINE, f"lines[{index}]")
            if fields["quantity"] is None:
                fields["quantity"] = 1
            lines.append(BillLine.model_construct(**fields))
        return tuple(lines)


_CHILDREN: Mapping[str, tuple[str, ...]] = {"": ("practitioner", "payee", "patient", "diagnoses", "lines")}


class _Empty(ValueError):
    """A text field that holds only spaces, or nothing."""


@functools.lru_cache(maxsize=256)  # the keys are the field table's: a few dozen, named once
def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not text")
    text = value.strip()
    if not text:
        raise _Empty
    if len(text) > _MAX_TEXT:
        raise ValueError("too long")
    return text


def _date(value: Any) -> date:
    if not isinstance(value, str):
        raise ValueError("not a date")
    if not value.strip():
        raise _Empty
    if not _ISO_DATE.fullmatch(value.strip()):
        raise ValueError("not YYYY-MM-DD")
    return date.fromisoformat(value.strip())


def _whole(value: Any, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not a whole number")
    if value < low or (high is not None and value > high):
        raise ValueError("out of range")
    return value


def _fee(value: Any) -> int:
    return _whole(value, 0, None)


def _quantity(value: Any) -> int:
    return _whole(value, 1, 999)


def _setting(value: Any) -> Setting:
    if isinstance(value, str) and not value.strip():
        raise _Empty
    try:
        return Setting(value)
    except ValueError as exc:
        raise ValueError("not I, D or O") from exc
