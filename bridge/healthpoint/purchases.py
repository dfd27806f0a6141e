"""Gap payments, pure: the purchase that pays a claim's gap, to iClient and back.

A gap payment is an ordinary iClient purchase linked to the claim by its
``healthpointTransactionId`` (seeds/004 "Gap Payments").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.healthpoint.claims import Pairing

__all__ = ["normalise_purchase", "to_iclient_gap_purchase"]

#: Purchase answer fields kept as the terminal sent them (reference §1.3 transaction result).
_KEPT = ("result", "transactionId", "transactionReference", "authorisationCode", "elidedPan", "rrn", "cardType")
#: Where iClient may put the amount, most specific last (the last present wins).
_AMOUNT_KEYS = ("amount", "baseAmount", "transactionAmount")


def to_iclient_gap_purchase(
    amount: int, healthpoint_transaction_id: str, pairing: Pairing | None
) -> dict[str, Any]:
    """The ``initiatePurchase`` request that pays a claim's gap.

    Source: seeds/004 "Gap Payments" (pass ``healthpointTransactionId``); reference §1.3
    (``amount`` digits only with no leading 0, ``integratedReceipt`` required).

    Raises:
        ValueError: ``amount`` is not positive, or no transaction id.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError("a gap payment needs a positive amount in cents")
    if not healthpoint_transaction_id:
        raise ValueError("a gap payment needs the claim's transactionId")
    out: dict[str, Any] = {
        "amount": str(amount),
        "integratedReceipt": False,
        "healthpointTransactionId": healthpoint_transaction_id,
    }
    if pairing is not None:
        out.update(pairing.as_iclient())
    return out


def normalise_purchase(response: Mapping[str, Any]) -> dict[str, Any]:
    """A gap purchase's outcome with integer cents; "undefined" fields are left out.

    Args:
        response: iClient's ``transactionCompleteCallback`` answer for the purchase.

    Returns:
        The kept fields, ``amount`` in integer cents when the terminal gave one, and the linked
        claim's ``healthpointTransactionId``.
    """
    out: dict[str, Any] = {k: response[k] for k in _KEPT if k in response and response[k] != "undefined"}
    for key in _AMOUNT_KEYS:
        if key in response and str(response[key]).isdigit():
            out["amount"] = int(response[key])
    if "healthpointTransactionId" in response:
        out["healthpointTransactionId"] = response["healthpointTransactionId"]
    return out
