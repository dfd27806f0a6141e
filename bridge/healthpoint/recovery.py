"""Recovery matching, pure: whether the terminal's last transaction is the job we sent.

After a crash or a lost answer the worker asks iClient for ``continueLastTransaction``; its
answer settles an ``unknown`` job only when it is provably that job's transaction. The daemon
sends each job's id as iClient's custom ``transactionId`` (seeds/004 "Supply a custom
transaction ID"), so an answer that carries one is judged by it alone; an answer without one is
judged by the fields it echoes (provider, items, amounts, patients; for a gap purchase or a
refund, the claim's ``healthpointTransactionId`` and the amount).
"""

from __future__ import annotations

from collections.abc import Mapping

from bridge.healthpoint.claims import BONUS_SERVICE_CODE, pad_service_code
from bridge.healthpoint.iclient import ClaimCall, JsonObject, PurchaseCall, RefundCall, TransactionCall

__all__ = ["is_same_transaction", "same_claim", "same_purchase"]

_MISSING = (None, "", "undefined")


def _is_bonus(item: JsonObject) -> bool:
    """A loyalty item the fund added (``00992`` at no charge), never part of what was sent."""
    code = pad_service_code(str(item.get("serviceCode", "")))
    return code == BONUS_SERVICE_CODE and str(item.get("claimAmount")) == "0"


def same_claim(sent: ClaimCall, response: JsonObject) -> bool:
    """Whether a claim (or cancel, or estimate) answer echoes what was sent.

    Args:
        sent: The iClient request the worker sent (``claimItems`` of string cents).
        response: ``continueLastTransaction``'s answer.

    Returns:
        True when the provider (if echoed) and every item's amount and patient agree, in order,
        once the fund's own bonus items are set aside; False for items that are not objects.
    """
    if response.get("healthpointProviderId") not in (None, sent.get("providerId")):
        return False
    echoed = response.get("healthpointClaimItems") or []
    if not isinstance(echoed, list) or not all(isinstance(item, Mapping) for item in echoed):
        return False
    want = sent.get("claimItems") or []
    own = [item for item in echoed if not _is_bonus(item)]
    if not own or len(own) != len(want):
        return False
    return all(
        str(g.get("claimAmount")) == str(w.get("claimAmount")) and str(g.get("patientId")) == str(w.get("patientId"))
        for g, w in zip(own, want, strict=True)
    )


def same_purchase(sent: PurchaseCall | RefundCall, response: JsonObject) -> bool:
    """Whether a purchase (gap payment) or refund answer echoes what was sent: linked to the
    same claim (a refund to none), and of the same amount when the answer gives one."""
    linked = response.get("healthpointTransactionId")
    if linked not in _MISSING and ("healthpointTransactionId" not in sent or linked != sent["healthpointTransactionId"]):
        return False
    amount = str(response.get("amount", ""))
    return not (amount.isdigit() and int(amount) != int(sent.get("amount") or 0))


def is_same_transaction(sent: TransactionCall, response: JsonObject) -> bool:
    """Whether ``response`` is the answer to ``sent``: by our custom transactionId when the
    terminal echoes one, else by the echoed fields of a claim's request (:func:`same_claim`) or
    a purchase's or refund's (:func:`same_purchase`)."""
    echoed = response.get("transactionId")
    if echoed not in _MISSING:
        return echoed == sent.get("transactionId")
    if "claimItems" in sent:
        return same_claim(sent, response)
    return same_purchase(sent, response)
