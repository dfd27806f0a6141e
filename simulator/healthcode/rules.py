"""Simulated Healthcode clearing service, pure part: credentials, bill checks, status timeline.

No I/O and no clock reads: :mod:`simulator.healthcode` passes ``now`` in. The simulator never
imports ``bridge``: these checks are written independently of the bridge's pre-flight
validation, and deliberately minimal (required fields, insurer, date of service, the member
database, duplicate invoices).

Healthcode's PMS web-service wire format is not public (reference/healthcode.md §2.1); the
JSON-over-HTTP shape here is our own. Texts are Healthcode's where public (§3.2, §7.2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

__all__ = [
    "FaultPlan",
    "TEST_SITES",
    "CredentialOutcome",
    "HcStatus",
    "Member",
    "Provider",
    "StoredBill",
    "TestSite",
    "Timings",
    "check_credentials",
    "check_required",
    "check_rules",
    "make_reference",
    "status_at",
]


class HcStatus(StrEnum):
    """Bill statuses as Healthcode PMSs show them (reference §4)."""

    UNPROCESSED = "Unprocessed"
    IN_PROCESS = "In-process"
    AWAITING_CORRECTION = "AwaitingCorrection"
    VALIDATED = "Validated"
    AWAITING_COLLECTION = "AwaitingCollection"
    COLLECTED = "Collected"
    CANCELLED = "Cancelled"
    NOT_FOUND = "NotFound"


# --------------------------------------------------------------------------------------------
# Credentials (reference §2.1: Site ID + Web Services User ID + password; failures reported
# separately, §7.2 A)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TestSite:
    """A simulated billing site with its web-service users."""

    site_id: str
    users: Mapping[str, str]
    subscribed: bool


#: Documented in simulator/README-healthcode.md. SIM002 has no Clearing Service plan.
TEST_SITES: Mapping[str, TestSite] = MappingProxyType(
    {
        "SIM001": TestSite("SIM001", MappingProxyType({"claimbridge": "healthcode-test"}), True),
        "SIM002": TestSite("SIM002", MappingProxyType({"claimbridge": "healthcode-test"}), False),
    }
)


@dataclass(frozen=True, slots=True)
class CredentialOutcome:
    """``code`` is ``OK`` or the failure's name; ``status`` the HTTP status to answer with."""

    ok: bool
    code: str
    message: str
    status: int


def check_credentials(
    site_id: str | None, user_id: str | None, password: str | None, *, expired: bool = False
) -> CredentialOutcome:
    """Check a (site, user, password) triple; texts follow reference §2.1 and §7.2 A.

    Args:
        site_id: The ``X-Site-Id`` header.
        user_id: The Basic-auth user (Web Services User ID).
        password: The Basic-auth password (the "API key").
        expired: The control API's ``expiredCredentials`` fault is active.
    """
    site = TEST_SITES.get(site_id or "")
    if site is None:
        return CredentialOutcome(
            False, "InvalidSiteId", "Healthcode did not recognise this Site Id", 401
        )
    if user_id is None or user_id not in site.users:
        return CredentialOutcome(
            False,
            "InvalidUsername",
            "Healthcode could not validate the username for this site",
            401,
        )
    if password != site.users[user_id]:
        return CredentialOutcome(False, "InvalidPassword", "Invalid Username/Password", 401)
    if expired:
        return CredentialOutcome(
            False,
            "CredentialsExpired",
            "The web services password has expired; generate a new API key in your "
            "Healthcode Account",
            401,
        )
    if not site.subscribed:
        # No Clearing Service subscription -> "Access Denied" (reference §2.1).
        return CredentialOutcome(False, "AccessDenied", "Access Denied", 403)
    return CredentialOutcome(True, "OK", f"Credentials accepted for site {site.site_id}", 200)


# --------------------------------------------------------------------------------------------
# Bill checks
# --------------------------------------------------------------------------------------------


def _problem(field_: str, error: str, suggestion: str, hc: str | None) -> dict[str, Any]:
    return {"field": field_, "error": error, "suggestion": suggestion, "healthcodeField": hc}


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _as_date(value: Any) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def check_required(raw: Any) -> list[dict[str, Any]]:
    """Structural checks: a bill failing them is refused at once ("Invalid Request Format").

    Args:
        raw: The decoded JSON body.

    Returns:
        Problems ``{field, error, suggestion, healthcodeField}``; empty when well formed.
    """
    if not isinstance(raw, dict):
        return [_problem("bill", "Invalid Request Format", "Send the bill as a JSON object", None)]
    problems: list[dict[str, Any]] = []
    required_text = (
        ("invoiceNumber", "InvoiceNo"),
        ("insurer", "Insurer"),
    )
    for key, hc in required_text:
        if not _is_text(raw.get(key)):
            problems.append(_problem(key, "Required", f"Give {key}", hc))
    for part, hc in (("practitioner", "ProviderNo"), ("payee", "PayeeNo")):
        node = raw.get(part)
        if not isinstance(node, dict) or not _is_text(node.get("healthcodeId")):
            problems.append(
                _problem(f"{part}.healthcodeId", "Required", "Give the Healthcode ID", hc)
            )
    patient = raw.get("patient")
    if not isinstance(patient, dict):
        problems.append(_problem("patient", "Required", "Give the patient", None))
    else:
        names = (("firstName", None), ("lastName", None), ("membershipNumber", "RegistrationNo"))
        for key, hc2 in names:
            if not _is_text(patient.get(key)):
                problems.append(_problem(f"patient.{key}", "Required", f"Give {key}", hc2))
        if _as_date(patient.get("dateOfBirth")) is None:
            problems.append(_problem("patient.dateOfBirth", "Required", "Give YYYY-MM-DD", None))
    # Setting: "Must be I, D or O" (reference §3.2).
    if raw.get("setting") not in ("I", "D", "O"):
        problems.append(_problem("setting", "Must be I, D or O", "I, D or O", "Setting"))
    lines = raw.get("lines")
    if not isinstance(lines, list) or not lines:
        problems.append(_problem("lines", "Required", "Give at least one line", None))
        return problems
    for index, line in enumerate(lines):
        prefix = f"lines[{index}]"
        if not isinstance(line, dict):
            problems.append(_problem(prefix, "Invalid Request Format", "Give an object", None))
            continue
        if _as_date(line.get("serviceDate")) is None:
            problems.append(
                _problem(f"{prefix}.serviceDate", "Required", "Give YYYY-MM-DD", "FDOS")
            )
        if not _is_text(line.get("isc")):
            problems.append(_problem(f"{prefix}.isc", "Required", "Give the ISC", "ServiceCode"))
        fee = line.get("fee")
        if not isinstance(fee, int) or isinstance(fee, bool) or fee < 0:
            problems.append(_problem(f"{prefix}.fee", "Required", "Give the fee in pence", None))
    return problems


@dataclass(frozen=True, slots=True)
class Provider:
    """A practitioner or payee Healthcode knows (simulator/healthcode/data/providers.json, SYNTHETIC).

    ``insurers``: insurer -> the provider number it knows them by; ``payee``: set up as a payee
    provider (reference §3.5).
    """

    healthcode_id: str
    insurers: Mapping[str, str]
    payee: bool = True

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Provider:
        """One entry of the fixture's ``providers``."""
        return cls(str(row["healthcodeId"]), dict(row.get("insurers", {})), bool(row.get("payee", True)))


def _check_providers(raw: Mapping[str, Any], providers: Mapping[str, Provider]) -> list[dict[str, Any]]:
    """"Provider not mapped" for a practitioner or payee not registered with the bill's insurer;
    "Payee Provider – Must be M" for a payee not set up as one (reference §3.2, §3.5, §3.7)."""
    insurer = raw["insurer"]
    practitioner_id = str(raw["practitioner"]["healthcodeId"])
    payee_id = str(raw["payee"]["healthcodeId"])
    problems: list[dict[str, Any]] = []
    practitioner = providers.get(practitioner_id)
    if practitioner is None or insurer not in practitioner.insurers:
        problems.append(_problem("practitioner.healthcodeId", "Provider not mapped",
                                 "Register the practitioner with the insurer", "ProviderNo"))
    payee = providers.get(payee_id)
    if payee_id != practitioner_id and (payee is None or insurer not in payee.insurers):
        problems.append(_problem("payee.healthcodeId", "Provider not mapped",
                                 "Register the payee with the insurer", "PayeeNo"))
    elif payee is not None and not payee.payee:
        problems.append(_problem("payee.healthcodeId", "Payee Provider – Must be M",
                                 "Send Healthcode the payee data-processing consent form", "PayeeNo"))
    return problems


@dataclass(frozen=True, slots=True)
class Member:
    """One row of the SYNTHETIC member database (simulator/healthcode/data/members.json)."""

    insurer: str
    membership_id: str
    family_name: str
    given_name: str
    date_of_birth: date
    postcode: str | None
    cover_start: date | None
    cover_end: date | None
    lapsed: bool

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Member:
        """Build from a row named as Healthcode's member-database spec (reference §5.3)."""
        return cls(
            insurer=str(row["insurer"]),
            membership_id=str(row["MembershipID"]),
            family_name=str(row["FamilyName"]),
            given_name=str(row["GivenName"]),
            date_of_birth=date.fromisoformat(str(row["DateofBirth"])),
            postcode=row.get("Postcode"),
            cover_start=_optional_date(row.get("CoverStartDate")),
            cover_end=_optional_date(row.get("CoverEndDate")),
            lapsed=row.get("LapsedIndicator") == "Y",
        )


def _optional_date(value: Any) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def _squash(text: Any) -> str:
    return re.sub(r"\s+", "", str(text)).casefold()


def check_rules(
    raw: Mapping[str, Any],
    *,
    today: date,
    insurers: frozenset[str],
    member_db_insurers: frozenset[str],
    members: Sequence[Member],
    providers: Mapping[str, Provider] | None = None,
) -> list[dict[str, Any]]:
    """Business checks of a well-formed bill (after :func:`check_required`).

    A submitted bill with problems moves to AwaitingCorrection; a dry run returns them.

    Args:
        raw: A bill that passed :func:`check_required`.
        today: The simulated UK date.
        insurers: Known insurer identifiers.
        member_db_insurers: Insurers whose members are checked (reference §3.6: Aviva, AXA,
            Bupa, Vitality).
        members: The member database.
        providers: Practitioners and payees by Healthcode ID; None: not checked.
    """
    problems: list[dict[str, Any]] = []
    insurer = raw["insurer"]
    if insurer not in insurers:
        problems.append(
            _problem(
                "insurer", "Invalid Insurer", "Use the insurer's Healthcode identifier", "Insurer"
            )
        )
    dates = [date.fromisoformat(line["serviceDate"]) for line in raw["lines"]]
    if min(dates) > today or max(dates) > today:
        # FDOS "May not be after Today" (reference §3.2).
        problems.append(
            _problem("lines", "May not be after Today", "Bill services already given", "FDOS")
        )
    if providers is not None and insurer in insurers:
        problems += _check_providers(raw, providers)
    if insurer in member_db_insurers:
        problems += _match_member(raw["patient"], insurer, min(dates), members)
    return problems


def _match_member(
    patient: Mapping[str, Any], insurer: str, first_service: date, members: Sequence[Member]
) -> list[dict[str, Any]]:
    number = str(patient["membershipNumber"]).strip()
    found = [m for m in members if m.insurer == insurer and m.membership_id == number]
    if not found:
        # "No matching membership details can be found" (reference §3.2, §3.7 item 1).
        return [
            _problem(
                "patient.membershipNumber",
                "No matching membership details can be found",
                "Check the membership number with the patient's insurer",
                "RegistrationNo",
            )
        ]
    member = found[0]
    postcode = patient.get("postcode")
    mismatch = (
        _squash(patient["lastName"]) != _squash(member.family_name)
        or patient["dateOfBirth"] != member.date_of_birth.isoformat()
        or (postcode is not None and member.postcode is not None
            and _squash(postcode) != _squash(member.postcode))
    )
    if mismatch:
        # Demographics are matched: name, DOB, postcode (reference §3.2, Touchpoints).
        return [
            _problem(
                "patient",
                "Patient demographics do not match registration number",
                "Check name, date of birth and postcode against the insurer's records",
                "RegistrationNo",
            )
        ]
    covered = (member.cover_start is None or member.cover_start <= first_service) and (
        member.cover_end is None or first_service <= member.cover_end
    )
    if member.lapsed or not covered:
        # ASSUMPTION: a lapsed member is refused like an unknown one, with our own text.
        return [
            _problem(
                "patient.membershipNumber",
                "Cover not in force on the date of service",
                "Ask the patient for their current policy",
                "RegistrationNo",
            )
        ]
    return []


# --------------------------------------------------------------------------------------------
# Stored bills and their status over time (reference §4, §7.2 C)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timings:
    """Simulated seconds spent in each status before the next one."""

    unprocessed: float = 30.0
    in_process: float = 30.0
    validated: float = 60.0
    awaiting_collection: float = 600.0


@dataclass(slots=True)
class StoredBill:
    """A bill the simulated Healthcode holds."""

    reference: str
    site_id: str
    invoice_number: str
    insurer: str
    wire: Mapping[str, Any]
    submitted_at: datetime
    problems: list[dict[str, Any]] = field(default_factory=list)
    cancelled_at: datetime | None = None
    #: The reference of the bill this one resubmits under the same invoice number.
    replaces: str | None = None
    #: Pence the insurer paid (``POST /_sim/healthcode/remit``); None while unpaid.
    paid: int | None = None


def status_at(
    bill: StoredBill, now: datetime, timings: Timings
) -> list[tuple[HcStatus, datetime]]:
    """The statuses the bill has been through by ``now``, oldest first; the last is current.

    Unprocessed -> In-process -> Validated | AwaitingCorrection -> AwaitingCollection ->
    Collected (reference §4), each after its :class:`Timings` delay; a cancel ends the list.
    """
    plan: list[tuple[HcStatus, datetime]] = [(HcStatus.UNPROCESSED, bill.submitted_at)]
    at = bill.submitted_at + timedelta(seconds=timings.unprocessed)
    plan.append((HcStatus.IN_PROCESS, at))
    at += timedelta(seconds=timings.in_process)
    if bill.problems:
        plan.append((HcStatus.AWAITING_CORRECTION, at))
    else:
        plan.append((HcStatus.VALIDATED, at))
        at += timedelta(seconds=timings.validated)
        plan.append((HcStatus.AWAITING_COLLECTION, at))
        at += timedelta(seconds=timings.awaiting_collection)
        plan.append((HcStatus.COLLECTED, at))
    cut = now if bill.cancelled_at is None else min(now, bill.cancelled_at)
    history = [step for step in plan if step[1] <= cut] or plan[:1]
    if bill.cancelled_at is not None and bill.cancelled_at <= now:
        history.append((HcStatus.CANCELLED, bill.cancelled_at))
    return history


def make_reference(site_id: str, submitted_at: datetime, sequence: int) -> str:
    """A provider reference of at most 25 characters (reference §2.1): ``SIM001-261122-00001``."""
    return f"{site_id}-{submitted_at:%y%m%d}-{sequence:05d}"[:25]


@dataclass
class FaultPlan:
    """A fault the control API asked for and how many more calls it hits (then it clears)."""

    fault: str | None = None
    count: int = 0

    def arm(self, fault: str | None, count: int) -> None:
        """Hit the next ``count`` calls with ``fault``; ``None`` or ``0`` clears it."""
        self.fault, self.count = (fault, count) if fault and count else (None, 0)

    def take(self) -> str | None:
        """The fault for this call, if any, counting it down."""
        if self.fault is None or self.count <= 0:
            return None
        fault = self.fault
        self.count -= 1
        if self.count == 0:
            self.fault = None
        return fault
