"""Card payment receipts of the simulated terminal, pure: the merchant and customer copies.

Tyro terminals print (and, with integrated receipts, send) receipt text formatted for a
monospaced font, 32 columns wide here (reference §1.2 ``receiptCallback``: "formatted for a
monospaced font"; §1.4 ``customerReceipt`` "only when integrated receipts are on"). The
layout follows a typical Australian EFTPOS slip; its exact lines are OUR CHOICE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = ["WIDTH", "PaymentSlip", "payment_receipt"]

WIDTH = 32
"""Columns of the slip."""
_SYDNEY = ZoneInfo("Australia/Sydney")


@dataclass(frozen=True, slots=True)
class PaymentSlip:
    """What a purchase or refund slip shows."""

    kind: Literal["purchase", "refund"]
    amount: int
    result: str
    card_type: str
    elided_pan: str
    reference: str
    rrn: str
    authorisation_code: str
    mid: int
    tid: int
    at: datetime


def _pair(left: str, right: str) -> str:
    return f"{left}{right:>{WIDTH - len(left)}}"


def _money(cents: int) -> str:
    return f"AUD ${cents // 100}.{cents % 100:02d}"


def payment_receipt(slip: PaymentSlip, copy: Literal["merchant", "customer"]) -> str:
    """The slip's text for one copy (the merchant's keeps the authorisation details)."""
    local = slip.at.astimezone(_SYDNEY)
    lines = [
        "TYRO SIMULATED TERMINAL".center(WIDTH),
        f"{copy.upper()} COPY".center(WIDTH),
        "",
        _pair("MID", str(slip.mid)),
        _pair("TID", str(slip.tid)),
        _pair("DATE", local.strftime("%d %b %Y %H:%M")),
        "",
        slip.card_type,
        slip.elided_pan,
        "",
        _pair(slip.kind.upper(), _money(slip.amount)),
        _pair("TOTAL", _money(slip.amount)),
        "",
        _pair("REF", slip.reference),
        _pair("RRN", slip.rrn),
    ]
    if copy == "merchant" and slip.authorisation_code:
        lines.append(_pair("AUTH", slip.authorisation_code))
    lines += ["", slip.result.center(WIDTH)]
    if copy == "customer":
        lines.append("PLEASE RETAIN FOR YOUR RECORDS".center(WIDTH))
    return "\n".join(lines)
