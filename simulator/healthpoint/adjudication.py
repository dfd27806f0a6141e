"""HealthPoint adjudication, pure: the fund's decision on a claim and how the terminal reports it.

The decision (:func:`adjudicate`), the patient-approval question, the claim response and the
printed receipt. Nothing here does I/O or reads a clock (``now`` is an argument). Sources:
``seeds/004`` and ``reference/tyro-iclient-healthpoint.md``; anything else is OUR CHOICE.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from simulator.healthpoint.funds import Card, Fund, Reference
from simulator.healthpoint.day import format_terminal_datetime, settlement_datetime, sydney_date
from simulator.healthpoint.requests import ClaimItem, ClaimRequest
from simulator.scenarios import item_magic

__all__ = [
    "ALL_ITEMS_REJECTED_CODE",
    "APPROVAL_OPTIONS",
    "AUTOVOID_DESCRIPTION",
    "DECLINED_ITEM_CODE",
    "INVALID_PROVIDER",
    "LOYALTY_FREE_TEXT",
    "LOYALTY_SERVICE_CODE",
    "NOT_ACCEPTING_CODE",
    "PATIENT_NOT_COVERED",
    "Adjudication",
    "ItemOutcome",
    "adjudicate",
    "approval_question",
    "autovoid_error_text",
    "claim_receipt_lines",
    "claim_response",
    "format_money",
]

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
    override = overrides[index] if overrides is not None and index < len(overrides) else None
    if override is not None:
        return override
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
