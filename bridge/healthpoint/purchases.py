"""Gap payments and their refunds, pure: the purchase that pays a claim's gap, the refund that
gives (part of) it back, to iClient and back, and the receipts the terminal sends.

A gap payment is an ordinary iClient purchase linked to the claim by its
``healthpointTransactionId`` (seeds/004 "Gap Payments"); a refund is iClient's
``initiateRefund`` (reference §1.3). Both ask for integrated receipts, so the terminal's
receipt text reaches the PMS (reference §1.2 ``receiptCallback``, §1.4 ``customerReceipt``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from bridge.healthpoint.claims import Pairing
from bridge.healthpoint.iclient import JsonObject, PurchaseCall, PurchaseOutcome, RefundCall

__all__ = ["UnfitAnswer", "normalise_purchase", "receipts_of", "to_iclient_gap_purchase", "to_iclient_refund"]

#: The text members of a purchase answer that are kept.
_Text = Literal[
    "result", "transactionId", "transactionReference", "authorisationCode", "elidedPan", "rrn", "cardType",
    "healthpointTransactionId",
]
#: Purchase answer fields kept as the terminal sent them (reference §1.3 transaction result).
_KEPT: tuple[_Text, ...] = (
    "result", "transactionId", "transactionReference", "authorisationCode", "elidedPan", "rrn", "cardType",
)
#: A member the answer does not have (None is a member sent as null).
_ABSENT = object()
#: Where iClient may put the amount, most specific last (the last present wins).
_AMOUNT_KEYS = ("amount", "baseAmount", "transactionAmount")


def to_iclient_gap_purchase(
    amount: int, healthpoint_transaction_id: str, pairing: Pairing | None
) -> PurchaseCall:
    """The ``initiatePurchase`` request that pays a claim's gap.

    Source: seeds/004 "Gap Payments" (pass ``healthpointTransactionId``); reference §1.3
    (``amount`` digits only with no leading 0, ``integratedReceipt`` required; true, so that
    the receipts come back to the daemon).

    Raises:
        ValueError: ``amount`` is not positive, or no transaction id.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError("a gap payment needs a positive amount in cents")
    if not healthpoint_transaction_id:
        raise ValueError("a gap payment needs the claim's transactionId")
    out: PurchaseCall = {
        "amount": str(amount),
        "integratedReceipt": True,
        "healthpointTransactionId": healthpoint_transaction_id,
    }
    if pairing is not None:
        out["mid"], out["tid"], out["integrationKey"] = pairing.mid, pairing.tid, pairing.integrationKey
    return out


class UnfitAnswer(ValueError):
    """A purchase answer with a member of a type iClient never documented (a number where text
    is expected...): not guessed at. ``kept`` is what would have been kept, as the terminal
    sent it, for the job's history; ``problems`` how many members do not fit."""

    def __init__(self, problems: int, kept: Mapping[str, object]) -> None:
        super().__init__(f"{problems} member(s) of the answer do not fit")
        self.problems = problems
        self.kept = kept


def normalise_purchase(response: JsonObject) -> PurchaseOutcome:
    """A gap purchase's outcome with integer cents; "undefined" fields are left out.

    Args:
        response: iClient's ``transactionCompleteCallback`` answer for the purchase.

    Returns:
        The kept fields, ``amount`` in integer cents when the terminal gave one, and the linked
        claim's ``healthpointTransactionId``.

    Raises:
        UnfitAnswer: a kept member is neither text nor null.
    """
    kept: dict[str, object] = {k: response[k] for k in _KEPT if k in response and response[k] != "undefined"}
    for key in _AMOUNT_KEYS:
        if key in response and str(response[key]).isdigit():
            kept["amount"] = int(str(response[key]))
    if "healthpointTransactionId" in response:
        kept["healthpointTransactionId"] = response["healthpointTransactionId"]
    unfit = [k for k, v in kept.items() if k != "amount" and v is not None and not isinstance(v, str)]
    if unfit:
        raise UnfitAnswer(len(unfit), kept)
    out: PurchaseOutcome = {}
    # In the order kept (the order the result is stored in): the text members, amount, the link.
    for key in _KEPT:
        _put_text(out, key, kept)
    amount = kept.get("amount")
    if isinstance(amount, int):
        out["amount"] = amount
    _put_text(out, "healthpointTransactionId", kept)
    return out


def _put_text(out: PurchaseOutcome, key: _Text, kept: Mapping[str, object]) -> None:
    value = kept.get(key, _ABSENT)
    if value is None or isinstance(value, str):
        out[key] = value



def to_iclient_refund(amount: int, pairing: Pairing | None) -> RefundCall:
    """The ``initiateRefund`` request that gives back ``amount`` cents of a gap payment.

    Source: reference §1.3 (``initiateRefund``: ``amount``, ``integratedReceipt``,
    ``transactionId``, ``mid``, ``tid``, ``integrationKey``); how much may be refunded is the
    money guards' business (bridge.healthpoint.guards).

    Raises:
        ValueError: ``amount`` is not positive.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError("a refund needs a positive amount in cents")
    out: RefundCall = {"amount": str(amount), "integratedReceipt": True}
    if pairing is not None:
        out["mid"], out["tid"], out["integrationKey"] = pairing.mid, pairing.tid, pairing.integrationKey
    return out


def receipts_of(merchant: Sequence[str], response: JsonObject) -> dict[str, str] | None:
    """The job's ``receipts``: the merchant copies the receipt callback delivered (joined, as a
    declined signature sends a second one, reference §1.2) and the answer's ``customerReceipt``.

    Returns:
        ``{merchant?, customer?}``, or None when the terminal sent neither.
    """
    out: dict[str, str] = {}
    texts = [m for m in merchant if m]
    if texts:
        out["merchant"] = "\n\n".join(texts)
    customer = response.get("customerReceipt")
    if isinstance(customer, str) and customer and customer != "undefined":
        out["customer"] = customer
    return out or None
