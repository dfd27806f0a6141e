"""The stable codes of ``data.reason`` (-32004 and -32005), pure: each with what it means; and
the one syntax of a field's path in errors (:func:`field_path`).

A PMS branches on the code; ``data.message`` says the same in words for a person.
``rpc.discover`` lists both tables, so generated clients get them as enums.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

__all__ = [
    "NOT_ALLOWED_REASONS",
    "NotAllowedReason",
    "UNAVAILABLE_REASONS",
    "UnavailableReason",
    "field_path",
]

#: Why a well-formed request is refused now (-32004 ``data.reason``).
NotAllowedReason = Literal[
    "alreadyCancelled", "cancelInFlight", "gapApproved", "gapInFlight", "pastCancelDeadline",
    "notApproved", "notAClaim", "notAPayment", "claimCancelled", "gapExists", "noGap",
    "amountAboveGap", "nothingToRefund", "amountAboveRemaining", "noQuestion", "notAnOption",
    "notYourJob", "jobEnded", "notUnknown", "noTerminal", "noParentJob", "notATerminalJob",
    "alreadyPaired", "terminalBusy", "notABill", "billNotCancellable", "billCollected", "invoiceInProgress",
    "alreadyReplaced", "billPaid", "billInProgress", "notReplaceable", "notConfigured",
    "healthcodeConflict",
]

#: Why a request cannot be served now; try again after ``retryAfterMs`` (-32005 ``data.reason``).
UnavailableReason = Literal[
    "starting", "shuttingDown", "journalUnavailable", "journalBehind", "browserRestarting",
    "pageNotReady", "pageUnavailable", "iclientUnreachable", "terminalBusy", "tooManyRequests",
    "healthcodeUnavailable", "healthcodeUncertain", "healthcodeError", "healthcodeCredentials",
]

#: Every -32004 reason code and what it means; ``rpc.discover`` lists them.
NOT_ALLOWED_REASONS: Mapping[NotAllowedReason, str] = MappingProxyType({
    "alreadyCancelled": "the claim is already cancelled",
    "cancelInFlight": "a cancel of the claim is in flight or its outcome is unknown",
    "gapApproved": "the claim's gap payment is approved and not refunded: refund it first (data.paymentJobId)",
    "gapInFlight": "a gap payment of the claim is in flight or its outcome is unknown (data.paymentJobId)",
    "pastCancelDeadline": "a claim can be cancelled only until 23:59:59 Australia/Sydney of its day",
    "notApproved": "the claim (or payment) was not approved",
    "notAClaim": "the job named is not a claim",
    "notAPayment": "the job named is not a gap payment",
    "claimCancelled": "the claim is cancelled, or a cancel of it is in flight",
    "gapExists": "the claim already has a gap payment",
    "noGap": "the claim left no gap to pay",
    "amountAboveGap": "the amount is above the claim's gap",
    "nothingToRefund": "nothing is left of the payment to refund",
    "amountAboveRemaining": "the amount is above what is left of the payment",
    "noQuestion": "no question is pending for the job",
    "notAnOption": "the answer is not one of the question's options (data.options)",
    "notYourJob": "the job belongs to another client: re-send its requestId, or name an operator",
    "jobEnded": "the job has ended: nothing more can be answered or aborted",
    "notUnknown": "only an unknown job can be resolved",
    "noTerminal": "the job has no terminal",
    "noParentJob": "the job this one was made against is missing or has no result",
    "notATerminalJob": "the job cannot be sent to a terminal (its kind, or the job it was made against)",
    "alreadyPaired": "the terminal is already paired",
    "terminalBusy": "the terminal has a job running or waiting",
    "notABill": "the job is not a Healthcode bill",
    "billNotCancellable": "only a queued or running bill can be cancelled",
    "billCollected": "the insurer has already collected the bill",
    "invoiceInProgress": "another bill with this invoice number is being submitted",
    "alreadyReplaced": "the bill was already resubmitted (data.replacedBy)",
    "billPaid": "the insurer has paid the bill: it cannot be resubmitted",
    "billInProgress": "the bill is still in progress at Healthcode",
    "notReplaceable": "only a cancelled bill, or a collected one left unpaid, can be resubmitted",
    "notConfigured": "the feature is not configured on this daemon",
    "healthcodeConflict": "Healthcode refused the change in the bill's present status",
})

#: Every -32005 reason code and what it means; ``rpc.discover`` lists them.
UNAVAILABLE_REASONS: Mapping[UnavailableReason, str] = MappingProxyType({
    "starting": "the daemon is starting",
    "shuttingDown": "the daemon is shutting down",
    "journalUnavailable": "the journal cannot be written now",
    "journalBehind": "the journal holds writes it has not committed yet",
    "browserRestarting": "the browser is restarting",
    "pageNotReady": "the terminal's page is not ready",
    "pageUnavailable": "the terminal's page failed",
    "iclientUnreachable": "the iClient server cannot be reached",
    "terminalBusy": "the terminal is busy",
    "tooManyRequests": "too many requests in flight on this connection",
    "healthcodeUnavailable": "Healthcode cannot be reached or answered 5xx; nothing was submitted",
    "healthcodeUncertain": "the request may or may not have reached Healthcode; it is not re-sent blindly",
    "healthcodeError": "Healthcode answered something unexpected",
    "healthcodeCredentials": "Healthcode refused the site's credentials; fix [healthcode] in the configuration",
})


def field_path(loc: tuple[str | int, ...] | list[str | int]) -> str:
    """A field's path as every error names it: ``items[0].claimAmount`` (``""`` for the root).

    Args:
        loc: The path's parts, keys and list indexes (pydantic's ``loc``).
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
