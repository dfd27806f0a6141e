"""The simulated HealthPoint network, pure: rules, adjudication, cancels, settlement, reports.

Nothing here does I/O or reads a clock: times arrive as aware datetimes (``now``). Rules cite
their source beside the check: ``seeds/004`` (Tyro's HealthPoint page) or
``reference/tyro-iclient-healthpoint.md`` (§ numbers); anything else is OUR CHOICE and is
listed in ``simulator/README.md``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from simulator.errors import (
    HttpRefused,
    InvalidRequest,
    NotPaired,
    Problem,
    RequestRefused,
    TerminalBusy,
)
from simulator.funds import Card, Fund, Reference
from simulator.scenarios import cancel_magic, item_magic

__all__ = [
    "APPROVAL_OPTIONS",
    "AUTOVOID_DESCRIPTION",
    "LOYALTY_FREE_TEXT",
    "LOYALTY_SERVICE_CODE",
    "MAX_ITEMS",
    "SYDNEY",
    "Adjudication",
    "CancelOutcome",
    "ClaimItem",
    "ClaimRequest",
    "ClaimStanding",
    "ItemOutcome",
    "OriginalClaim",
    "PaymentLine",
    "PurchaseRequest",
    "ReconClaim",
    "RefusalAnswer",
    "adjudicate",
    "approval_question",
    "autovoid_error_text",
    "can_cancel_same_day",
    "cancel_outcome",
    "claim_receipt_lines",
    "claim_response",
    "claims_report_xml",
    "format_money",
    "format_terminal_datetime",
    "gap_payment_allowed",
    "parse_claim_request",
    "parse_purchase_request",
    "payments_report_xml",
    "refusal_answer",
    "settlement_datetime",
    "sydney_date",
    "unavailable_report_xml",
]

SYDNEY = ZoneInfo("Australia/Sydney")
"""HealthPoint's day: 00:00:00 to 23:59:59 Australian Eastern time, DST-aware (seeds/004)."""
MAX_ITEMS = 16
"""At most 16 claim items (seeds/004 "Request Parameters")."""
LOYALTY_SERVICE_CODE = "00992"
"""Benefit-only loyalty/bonus item code (seeds/004 "Loyalty and bonus codes")."""
LOYALTY_FREE_TEXT = "Limit Boost"
"""healthpointFreeText sent with a loyalty item (seeds/004 example text)."""
APPROVAL_OPTIONS = ("ACCEPT", "REJECT")
"""Options of the patient-approval question (INFERRED, reference §8)."""
AUTOVOID_DESCRIPTION = (
    "No response from health fund within 55 seconds. Claim voided, please reattempt."
)
"""healthpointErrorDescription of a successful autovoid (REVERSED)."""
ALL_ITEMS_REJECTED_CODE = "21"
"""PHF code when the fund approves no item at all (OUR CHOICE: "CONTACT HELP DESK")."""
NOT_ACCEPTING_CODE = "58"
"""PHF code for a fund that no longer takes claims (OUR CHOICE: "TRANS NOT PERMITTED")."""
DECLINED_ITEM_CODE = "13"
"""Item code given to otherwise payable items of a claim declined as a whole (OUR CHOICE)."""
PATIENT_NOT_COVERED = "19"
"""Item code for a patientId not on the card (synthetic list, after HICAPS)."""
INVALID_PROVIDER = "03"
"""Item code for a provider the network does not know (synthetic list, after HICAPS)."""

ClaimStanding = Literal[
    "pending", "accepted", "voided", "autovoided", "unknown", "cancelled", "declined", "estimate"
]
"""Where a claim stands at the fund after its transaction."""


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class ClaimItem:
    """One claim item as HealthPoint accepts it (reference §5.1)."""

    claim_amount: int
    service_code: str
    description: str
    service_reference: str | None
    patient_id: str
    service_date: str

    def wire(self) -> dict[str, str]:
        """The item as the request carried it (strings of cents)."""
        out = {
            "claimAmount": str(self.claim_amount),
            "serviceCode": self.service_code,
            "description": self.description,
            "patientId": self.patient_id,
            "serviceDate": self.service_date,
        }
        if self.service_reference is not None:
            out["serviceReference"] = self.service_reference
        return out

    def key(self) -> tuple[int, str, str, str | None, str, str]:
        """Comparison key used by the cancel payload check (service code unpadded)."""
        return (
            self.claim_amount,
            self.service_code.lstrip("0") or "0",
            self.description,
            self.service_reference or None,
            self.patient_id,
            self.service_date,
        )


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """A validated claim, rebate estimate or cancel request."""

    provider_id: str
    service_type: str
    items: tuple[ClaimItem, ...]
    total_claim_amount: int
    ref_tag: str | None = None
    transaction_id: str | None = None

    def same_payload(self, other: ClaimRequest) -> bool:
        """True if provider, service type, items and total match (cancel rule, seeds/004)."""
        return (
            self.provider_id == other.provider_id
            and self.service_type == other.service_type
            and self.total_claim_amount == other.total_claim_amount
            and [i.key() for i in self.items] == [i.key() for i in other.items]
        )


@dataclass(frozen=True, slots=True)
class PurchaseRequest:
    """A validated purchase or refund request."""

    amount: int
    cashout: int
    integrated_receipt: bool
    healthpoint_transaction_id: str | None
    transaction_id: str | None


def _digits(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return value
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _valid_date(value: str) -> bool:
    if len(value) != 8 or not value.isdigit():
        return False
    try:
        datetime.strptime(value, "%Y%m%d")
    except ValueError:
        return False
    return True


def _parse_item(raw: Any, index: int, problems: list[Problem]) -> ClaimItem | None:
    where = f"claimItems[{index}]"
    if not isinstance(raw, Mapping):
        problems.append(Problem(where, "must be an object"))
        return None
    before = len(problems)
    amount = _digits(raw.get("claimAmount"))
    if amount is None:
        problems.append(Problem(f"{where}.claimAmount", "must be cents (digits)"))
    elif len(amount) > 10:  # "max 10 digits" (seeds/004 claimItems table)
        problems.append(Problem(f"{where}.claimAmount", "at most 10 digits"))
    code = _text(raw.get("serviceCode"))
    if code is None or not 1 <= len(code) <= 5 or not code.isalnum():
        # "max 5 chars" (seeds/004); TTA says exactly 5 (reference §5.1): we accept 1-5.
        problems.append(Problem(f"{where}.serviceCode", "1 to 5 letters or digits"))
    description = _text(raw.get("description"))
    if description is None or not 1 <= len(description) <= 32:  # "max 32 chars" (seeds/004)
        problems.append(Problem(f"{where}.description", "1 to 32 characters"))
    reference = raw.get("serviceReference")
    if reference is not None and (not isinstance(reference, str) or len(reference) > 3):
        problems.append(Problem(f"{where}.serviceReference", "at most 3 characters"))
    patient = _text(raw.get("patientId"))
    if patient is None or len(patient) != 2 or not patient.isdigit():  # "exactly 2 digits"
        problems.append(Problem(f"{where}.patientId", "exactly 2 digits"))
    service_date = _text(raw.get("serviceDate"))
    if service_date is None or not _valid_date(service_date):  # "YYYYMMDD format"
        problems.append(Problem(f"{where}.serviceDate", "a date as YYYYMMDD"))
    if len(problems) != before:
        return None
    assert amount is not None and code is not None and description is not None
    assert patient is not None and service_date is not None
    return ClaimItem(
        claim_amount=int(amount),
        service_code=code,
        description=description,
        service_reference=reference or None,
        patient_id=patient,
        service_date=service_date,
    )


def parse_claim_request(
    params: Mapping[str, Any], reference: Reference, *, cancel: bool = False
) -> ClaimRequest:
    """Validate a HealthPoint request as the terminal does.

    Args:
        params: The POS notify params (``claimItems`` as a JSON string or an array).
        reference: Network reference (modalities).
        cancel: Also require ``refTag`` (cancelHealthPointClaim, seeds/004).

    Returns:
        The validated request.

    Raises:
        InvalidRequest: With every broken rule.
    """
    problems: list[Problem] = []
    provider = _text(params.get("providerId"))
    if provider is None or len(provider) != 8 or not provider.isalnum():  # 8-character
        problems.append(Problem("providerId", "exactly 8 letters or digits"))
    service_type = _text(params.get("serviceType"))
    if service_type is None or service_type not in reference.modalities:  # seeds/004 table
        problems.append(Problem("serviceType", "a modality code of HealthPoint"))
    raw_items: Any = params.get("claimItems")
    if isinstance(raw_items, str):  # the seed documents claimItems as "JSON array" String
        try:
            raw_items = json.loads(raw_items)
        except ValueError:
            raw_items = None
    items: list[ClaimItem] = []
    if not isinstance(raw_items, list) or not raw_items:
        problems.append(Problem("claimItems", "a non-empty array of claim items"))
    elif len(raw_items) > MAX_ITEMS:
        problems.append(Problem("claimItems", f"at most {MAX_ITEMS} items"))
    else:
        for index, raw in enumerate(raw_items):
            item = _parse_item(raw, index, problems)
            if item is not None:
                items.append(item)
    count = _digits(params.get("claimItemsCount"))
    if count is None:
        problems.append(Problem("claimItemsCount", "must be the number of claim items"))
    elif isinstance(raw_items, list) and int(count) != len(raw_items):
        problems.append(Problem("claimItemsCount", "must equal the number of claim items"))
    total = _digits(params.get("totalClaimAmount"))
    if total is None:
        problems.append(Problem("totalClaimAmount", "must be cents (digits)"))
    elif isinstance(raw_items, list) and len(items) == len(raw_items):
        if int(total) != sum(i.claim_amount for i in items):
            problems.append(Problem("totalClaimAmount", "must equal the sum of claimAmount"))
    ref_tag: str | None = None
    if cancel:
        ref_tag = _digits(params.get("refTag"))
        if ref_tag is None or not 1 <= len(ref_tag) <= 16:
            problems.append(Problem("refTag", "the healthpointRefTag of the original claim"))
    transaction_id = params.get("transactionId", params.get("transactionid"))
    if transaction_id is not None and not isinstance(transaction_id, str):
        problems.append(Problem("transactionId", "must be a string"))
        transaction_id = None
    if problems:
        raise InvalidRequest(problems)
    assert provider is not None and service_type is not None and total is not None
    return ClaimRequest(
        provider_id=provider,
        service_type=service_type,
        items=tuple(items),
        total_claim_amount=int(total),
        ref_tag=ref_tag,
        transaction_id=transaction_id,
    )


def parse_purchase_request(params: Mapping[str, Any]) -> PurchaseRequest:
    """Validate a purchase/refund request (amount digits, no leading 0; reference §1.3).

    Raises:
        InvalidRequest: With every broken rule.
    """
    problems: list[Problem] = []
    amount = _digits(params.get("amount"))
    if amount is None or amount.startswith("0"):
        problems.append(Problem("amount", "cents, digits only, no leading 0"))
    cashout = _digits(params.get("cashout", "0"))
    if cashout is None:
        problems.append(Problem("cashout", "cents, digits only"))
    receipt = params.get("integratedReceipt", False)
    if not isinstance(receipt, bool):
        problems.append(Problem("integratedReceipt", "must be a boolean"))
    link = params.get("healthpointTransactionId")
    if link is not None and not isinstance(link, str):
        problems.append(Problem("healthpointTransactionId", "must be a string"))
    own = params.get("transactionId")
    if own is not None and not isinstance(own, str):
        problems.append(Problem("transactionId", "must be a string"))
    if problems:
        raise InvalidRequest(problems)
    assert amount is not None and cashout is not None
    return PurchaseRequest(
        amount=int(amount),
        cashout=int(cashout),
        integrated_receipt=bool(receipt),
        healthpoint_transaction_id=link or None,
        transaction_id=own,
    )


@dataclass(frozen=True, slots=True)
class RefusalAnswer:
    """What the terminal says when it refuses a request before it starts."""

    question: str
    error_code: str
    description: str


def refusal_answer(error: RequestRefused) -> RefusalAnswer:
    """Map a refusal to the isError question text and the NOT STARTED fields.

    Question texts come from integrators' logs (reference §1.2); codes are OUR CHOICE.
    """
    if isinstance(error, InvalidRequest):
        detail = "; ".join(f"{p.field}: {p.rule}" for p in error.problems)
        return RefusalAnswer("Invalid transaction details (400).", "400", detail)
    if isinstance(error, NotPaired):
        text = "POS is not paired with a terminal."
        return RefusalAnswer(text, "401", text)
    if isinstance(error, TerminalBusy):
        return RefusalAnswer("Terminal is busy.", "409", "Terminal is busy.")
    if isinstance(error, HttpRefused):
        text = f"Request failed ({error.status})."
        return RefusalAnswer(text, str(error.status), text)
    return RefusalAnswer("Request failed (500).", "500", str(error))


# --------------------------------------------------------------------------- adjudication


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """The fund's answer for one item."""

    item: ClaimItem
    response_code: str
    benefit: int
    bonus: bool = False


@dataclass(frozen=True, slots=True)
class Adjudication:
    """The fund's answer for a claim."""

    approved: bool
    phf_code: str
    items: tuple[ItemOutcome, ...]
    total_benefit: int
    gap: int
    free_text: str | None = None


def _item_code(
    index: int,
    item: ClaimItem,
    request: ClaimRequest,
    card: Card,
    reference: Reference,
    overrides: Sequence[str | None] | None,
) -> str:
    if overrides is not None and index < len(overrides) and overrides[index] is not None:
        code = overrides[index]
        assert code is not None
        return code
    magic = item_magic(item.claim_amount)
    if magic is not None:
        return magic
    if reference.provider(request.provider_id) is None:
        return INVALID_PROVIDER
    if item.patient_id not in card.patients:
        return PATIENT_NOT_COVERED
    return "00"


def adjudicate(
    request: ClaimRequest,
    card: Card,
    fund: Fund | None,
    reference: Reference,
    *,
    item_codes: Sequence[str | None] | None = None,
    phf_code: str | None = None,
    force_result: Literal["APPROVED", "DECLINED"] | None = None,
    loyalty_bonus: int | None = None,
) -> Adjudication:
    """Decide the fund's answer for a claim or rebate estimate.

    Rules: an item is approved with code "00" and pays floor(claimAmount * percent / 100)
    (ISOFT 60%, matching the seed example 1000 -> 600); every other code pays 0 ("all
    responses except 00 - APPROVED mean the item has been declined", seeds/004). The claim is
    APPROVED when the PHF code is "00" and at least one item is approved.

    Args:
        request: The validated claim.
        card: The card presented.
        fund: The card's fund (None: unknown to the network).
        reference: Network reference.
        item_codes: Scripted item codes (None entries: normal rules).
        phf_code: Scripted claim-level code ("00" keeps the normal rules).
        force_result: Scripted claim result.
        loyalty_bonus: Cents of a loyalty bonus item 00992, if scripted.

    Returns:
        The adjudication.
    """
    percent = fund.benefit_percent if fund is not None else 0
    outcomes: list[ItemOutcome] = []
    for index, item in enumerate(request.items):
        code = _item_code(index, item, request, card, reference, item_codes)
        benefit = item.claim_amount * percent // 100 if code == "00" else 0
        outcomes.append(ItemOutcome(item, code, benefit))
    claim_code = "00"
    if fund is None or not fund.accepting_claims:
        claim_code = NOT_ACCEPTING_CODE
    elif phf_code is not None and phf_code != "00":
        claim_code = phf_code
    elif force_result == "DECLINED":
        claim_code = phf_code if phf_code not in (None, "00") else ALL_ITEMS_REJECTED_CODE
    elif force_result != "APPROVED" and not any(o.response_code == "00" for o in outcomes):
        claim_code = ALL_ITEMS_REJECTED_CODE
    approved = claim_code == "00"
    if not approved:
        outcomes = [
            ItemOutcome(o.item, DECLINED_ITEM_CODE if o.response_code == "00" else o.response_code, 0)
            for o in outcomes
        ]
        return Adjudication(False, claim_code, tuple(outcomes), 0, 0)
    total_benefit = sum(o.benefit for o in outcomes)
    gap = max(request.total_claim_amount - total_benefit, 0)
    free_text: str | None = None
    if loyalty_bonus is not None:
        bonus = min(loyalty_bonus, gap)  # the bonus never takes the gap below 0 (OUR CHOICE)
        if bonus > 0:
            first = request.items[0]
            bonus_item = ClaimItem(
                claim_amount=0,
                service_code=LOYALTY_SERVICE_CODE,
                description="LOYALTY BONUS",
                service_reference=None,
                patient_id=first.patient_id,
                service_date=first.service_date,
            )
            outcomes.append(ItemOutcome(bonus_item, "00", bonus, bonus=True))
            total_benefit += bonus
            gap -= bonus
            free_text = LOYALTY_FREE_TEXT
    return Adjudication(True, "00", tuple(outcomes), total_benefit, gap, free_text)


def format_money(cents: int) -> str:
    """Format cents as dollars: 6600 -> "$66.00"."""
    return f"${cents // 100}.{cents % 100:02d}"


def approval_question(adjudication: Adjudication) -> dict[str, Any]:
    """The patient-approval question of an approved claim (COMMON contract text)."""
    return {
        "text": (
            f"Claim approved. Benefit {format_money(adjudication.total_benefit)}, "
            f"gap {format_money(adjudication.gap)}. Patient accepts?"
        ),
        "options": list(APPROVAL_OPTIONS),
    }


def sydney_date(moment: datetime) -> date:
    """The calendar date in Australia/Sydney of an aware moment."""
    return moment.astimezone(SYDNEY).date()


def format_terminal_datetime(moment: datetime) -> str:
    """yyyyMMddHHmmss in Sydney local time (reference §1.5)."""
    return moment.astimezone(SYDNEY).strftime("%Y%m%d%H%M%S")


def settlement_datetime(claim_at: datetime) -> datetime:
    """Settlement of a claim: 14:00 Sydney on the next business day (weekends skipped).

    Next business day: seeds/004 "Settlement"; 14:00: the ISS sample (reference §5.2).
    Public holidays are not simulated (OUR CHOICE).
    """
    day = sydney_date(claim_at) + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(14, 0), tzinfo=SYDNEY)


def can_cancel_same_day(claim_at: datetime, now: datetime) -> bool:
    """True while ``now`` is on the claim's Sydney calendar day (until 23:59:59, DST-aware).

    seeds/004 "Claim Cancel": same day, prior to settlement, 23:59:59 Australian Eastern
    Time adjusted for daylight savings.
    """
    return sydney_date(now) == sydney_date(claim_at) and now >= claim_at


def claim_response(
    *,
    result: str,
    request: ClaimRequest,
    adjudication: Adjudication | None,
    reference: Reference,
    fund: Fund | None,
    card: Card | None,
    ref_tag: str,
    transaction_id: str,
    now: datetime,
    settles: bool = True,
) -> dict[str, Any]:
    """Build the transactionComplete params of a claim-like transaction (seeds/004 shape).

    Args:
        result: APPROVED, CANCELLED, DECLINED, ...
        request: The validated request (echoed).
        adjudication: The fund's answer, or None when it never answered.
        reference: For response texts.
        fund: The card's fund.
        card: The card read.
        ref_tag: healthpointRefTag.
        transaction_id: 36-character transaction id.
        now: Terminal time of the response.
        settles: Include the settlement time (approved claims only).

    Returns:
        Strings of cents, two-digit codes, zero-padded service codes.
    """
    response: dict[str, Any] = {
        "result": result,
        "transactionId": transaction_id,
        "healthpointRefTag": ref_tag,
        "healthpointTerminalDateTime": format_terminal_datetime(now),
        "healthpointProviderId": request.provider_id,
        "healthpointServiceType": request.service_type,
    }
    if card is not None:
        response["healthpointMemberNumber"] = card.member
    if fund is not None:
        response["healthpointHealthFundName"] = fund.name
        response["healthpointHealthFundIdentifyingDigits"] = fund.identifying_digits
    if adjudication is None:
        return response
    items = []
    for outcome in adjudication.items:
        wire = outcome.item.wire()
        wire["claimAmount"] = str(outcome.item.claim_amount)
        wire["serviceCode"] = outcome.item.service_code.zfill(5)
        wire["rebateAmount"] = str(outcome.benefit)
        wire["responseCode"] = outcome.response_code
        wire["responseCodeDescription"] = reference.item_text(outcome.response_code)
        items.append(wire)
    response["healthpointClaimItems"] = items
    response["healthpointTotalBenefitAmount"] = str(adjudication.total_benefit)
    response["healthpointPhfResponseCode"] = adjudication.phf_code
    response["healthpointPhfResponseCodeDescription"] = reference.claim_text(
        adjudication.phf_code
    )
    if adjudication.approved:
        response["healthpointGapAmount"] = str(adjudication.gap)
        if settles:
            response["healthpointSettlementDateTime"] = format_terminal_datetime(
                settlement_datetime(now)
            )
    if adjudication.free_text is not None:
        response["healthpointFreeText"] = adjudication.free_text
    return response


def autovoid_error_text(code: int, reference: Reference, *, ref_tag: str, now: datetime) -> str:
    """Text of a failed autovoid 1015..1019 (reference §4.3), placeholders filled."""
    text = reference.autovoid_errors.get(str(code), "Error on Autovoid")
    return text.replace("[REFTAG]", ref_tag).replace(
        "[DATE]", sydney_date(now).strftime("%Y%m%d")
    )


# --------------------------------------------------------------------------- cancels


@dataclass(frozen=True, slots=True)
class OriginalClaim:
    """What the fund remembers of a claim, for cancels and gap payments."""

    request: ClaimRequest
    standing: ClaimStanding
    at: datetime
    card: Card
    adjudication: Adjudication | None
    transaction_id: str
    ref_tag: str


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """The fund's answer to a cancel: CANCELLED (code "00") or DECLINED with a PHF code."""

    cancelled: bool
    phf_code: str
    original: OriginalClaim | None = field(default=None)


def cancel_outcome(
    request: ClaimRequest,
    original: OriginalClaim | None,
    card: Card,
    now: datetime,
) -> CancelOutcome:
    """Decide a cancel (seeds/004 "Claim Cancel"; codes: reference §4.3 and §5.3).

    Order: ISS magic totals (5702, 900NN) win; unknown refTag 81; rebate estimate 58;
    already cancelled 94; voided/autovoided/declined/unknown 25; another card 81;
    different payload 30; after the claim's Sydney day 76; else CANCELLED.
    """
    magic = cancel_magic(request.total_claim_amount)
    if magic is not None:
        if magic.declined_code is None:
            return CancelOutcome(True, "00", original if _cancellable(original) else None)
        return CancelOutcome(False, magic.declined_code, original)
    if original is None:
        return CancelOutcome(False, "81")
    if original.standing == "estimate":
        return CancelOutcome(False, "58", original)  # an estimate is not financial (§5.2)
    if original.standing == "cancelled":
        return CancelOutcome(False, "94", original)
    if original.standing != "accepted":
        return CancelOutcome(False, "25", original)
    if (card.member, card.fund_id) != (original.card.member, original.card.fund_id):
        return CancelOutcome(False, "81", original)
    if not request.same_payload(original.request):
        return CancelOutcome(False, "30", original)
    if not can_cancel_same_day(original.at, now):
        return CancelOutcome(False, "76", original)
    return CancelOutcome(True, "00", original)


def gap_payment_allowed(claim: OriginalClaim | None, amount: int, already_paid: int) -> bool:
    """A gap purchase linked by healthpointTransactionId (seeds/004 "Gap Payments").

    Allowed for an accepted claim up to its gap minus gap payments already approved
    (the limit is OUR CHOICE).
    """
    if claim is None or claim.standing != "accepted" or claim.adjudication is None:
        return False
    return amount <= claim.adjudication.gap - already_paid


def _cancellable(original: OriginalClaim | None) -> bool:
    return original is not None and original.standing == "accepted"


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True, slots=True)
class ReconClaim:
    """One line of the claims reconciliation report."""

    ref_tag: str
    status: Literal["APP", "CAN", "VOID", "AVOID"]
    provider_id: str
    fund_id: str
    total_claim_amount: int
    total_benefit: int
    phf_code: str
    text: str
    at: datetime
    settlement_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentLine:
    """One fund's settlement in the payments reconciliation report."""

    fund_id: str
    fund_name: str
    settlement_at: datetime
    claims: int
    amount: int


def _sub(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = text


def _xml(root: ET.Element) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")


def claims_report_xml(terminal_id: str, claim_date: date, claims: Sequence[ReconClaim]) -> str:
    """The claims reconciliation report (element names: reference §4.4).

    Footer sums cover every listed claim, zero-padded to 12 digits (width OUR CHOICE).
    """
    root = ET.Element("claims-reconciliation-response")
    body = ET.SubElement(root, "claims-reconciliation")
    _sub(body, "healthpoint-terminal-id", terminal_id)
    _sub(body, "claim-date", claim_date.strftime("%Y%m%d"))
    for claim in claims:
        node = ET.SubElement(body, "claim")
        stamp = format_terminal_datetime(claim.at)
        _sub(node, "terminal-date-time", stamp)
        _sub(node, "settlement-date-time", format_terminal_datetime(claim.settlement_at))
        _sub(node, "response-date-time", stamp)
        _sub(node, "transaction-date-time", stamp)
        _sub(node, "provider-id", claim.provider_id)
        _sub(node, "private-health-fund-id", claim.fund_id)
        _sub(node, "ref-tag", claim.ref_tag)
        _sub(node, "status", claim.status)
        _sub(node, "total-claim-amount", str(claim.total_claim_amount))
        _sub(node, "private-health-fund-total-benefit-amount", str(claim.total_benefit))
        _sub(node, "private-health-fund-response-code", claim.phf_code)
        _sub(node, "text", claim.text)
    check = ET.SubElement(body, "check")
    _sub(check, "total-number-claims", f"{len(claims):06d}")
    _sub(check, "sum-benefit-amount", f"{sum(c.total_benefit for c in claims):012d}")
    _sub(check, "sum-claim-amount", f"{sum(c.total_claim_amount for c in claims):012d}")
    return _xml(root)


def payments_report_xml(terminal_id: str, payment_date: date, lines: Sequence[PaymentLine]) -> str:
    """The payments reconciliation report (shape OUR CHOICE, modelled on reference §4.4)."""
    root = ET.Element("payments-reconciliation-response")
    body = ET.SubElement(root, "payments-reconciliation")
    _sub(body, "healthpoint-terminal-id", terminal_id)
    _sub(body, "payment-date", payment_date.strftime("%Y%m%d"))
    for line in lines:
        node = ET.SubElement(body, "payment")
        _sub(node, "private-health-fund-id", line.fund_id)
        _sub(node, "private-health-fund-name", line.fund_name)
        _sub(node, "settlement-date-time", format_terminal_datetime(line.settlement_at))
        _sub(node, "number-claims", str(line.claims))
        _sub(node, "payment-amount", str(line.amount))
    check = ET.SubElement(body, "check")
    _sub(check, "total-number-payments", f"{len(lines):06d}")
    _sub(check, "sum-payment-amount", f"{sum(p.amount for p in lines):012d}")
    return _xml(root)


def unavailable_report_xml() -> str:
    """The report for a date with nothing to report (reference §4.4)."""
    return "<unavailable>No report created.</unavailable>"


def claim_receipt_lines(kind: str, response: Mapping[str, Any]) -> list[str]:
    """Receipt text the simulated terminal prints for a claim-like transaction."""
    width = 32
    title = {
        "claim": "HEALTHPOINT CLAIM",
        "rebateEstimate": "REBATE ESTIMATE",
        "cancel": "HEALTHPOINT CANCEL",
    }.get(kind, kind.upper())
    lines = [title.center(width), "-" * width]
    lines.append(f"FUND {response.get('healthpointHealthFundName', '')}")
    lines.append(f"MEMBER {response.get('healthpointMemberNumber', '')}")
    lines.append(f"PROVIDER {response.get('healthpointProviderId', '')}")
    lines.append(f"REF TAG {response.get('healthpointRefTag', '')}")
    for item in response.get("healthpointClaimItems", []):
        amount = format_money(int(item["claimAmount"]))
        benefit = format_money(int(item["rebateAmount"]))
        lines.append(f"{item['patientId']} {item['serviceCode']} {amount:>9} {benefit:>9}")
        lines.append(f"   {item['responseCode']} {item['responseCodeDescription']}"[:width])
    if "healthpointTotalBenefitAmount" in response:
        benefit = format_money(int(response["healthpointTotalBenefitAmount"]))
        lines.append(f"BENEFIT {benefit:>24}")
    if "healthpointGapAmount" in response:
        lines.append(f"GAP {format_money(int(response['healthpointGapAmount'])):>28}")
    if "healthpointFreeText" in response:
        lines.append(str(response["healthpointFreeText"]))
    lines.append(str(response.get("result", "")).center(width))
    return lines
