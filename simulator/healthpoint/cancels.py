"""HealthPoint cancels and gap payments, pure: what the fund remembers of a claim and decides.

Sources: ``seeds/004`` "Claim Cancel" and "Gap Payments", reference §4.3 and §5.3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from simulator.healthpoint.funds import Card
from simulator.healthpoint.adjudication import Adjudication
from simulator.healthpoint.day import can_cancel_same_day
from simulator.healthpoint.requests import ClaimRequest
from simulator.scenarios import cancel_magic

__all__ = [
    "CancelOutcome",
    "ClaimStanding",
    "OriginalClaim",
    "cancel_outcome",
    "gap_payment_allowed",
]

ClaimStanding = Literal[
    "pending", "accepted", "voided", "autovoided", "unknown", "cancelled", "declined", "estimate"
]
"""Where a claim stands at the fund after its transaction."""



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
