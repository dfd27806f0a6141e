"""iClient's own JSON shapes, typed: what the page passes to iClient's methods, and what the
operation keeps of iClient's answers.

The requests are JSON leaving the daemon (the page hands them to iClient as they are), so each is
a :class:`~typing.TypedDict` of exactly the members iClient reads (reference
tyro-iclient-healthpoint.md §1.3, §3, §4; seeds/004 "Example request"). Every one is ``@final``:
a union of them narrows on a member only one has (``"claimItems" in request``).

What comes back from iClient is JSON not yet checked (``Mapping[str, object]``); the operation
narrows it once, where it enters, into :class:`~bridge.healthpoint.claims.ClaimResult`,
:class:`PurchaseOutcome` and :class:`Failure`.
"""

# No ``from __future__ import annotations`` here: a TypedDict reads ``NotRequired`` from its
# evaluated annotations, so that ``__required_keys__`` tells the truth at run time.
from collections.abc import Mapping
from typing import NotRequired, TypeAlias, TypedDict, final

__all__ = [
    "ClaimCall",
    "ClaimItemCall",
    "Failure",
    "IclientRequest",
    "JsonObject",
    "PairCall",
    "PairingKeys",
    "PurchaseCall",
    "PurchaseOutcome",
    "RefundCall",
    "ReportCall",
    "TransactionCall",
]

#: A JSON object not yet checked: read it only through ``isinstance`` narrowing.
JsonObject: TypeAlias = Mapping[str, object]


@final
class PairingKeys(TypedDict):
    """A terminal's headless-pairing keys, as every request carries them (reference §0.2);
    alone, the request of ``terminalInfo``."""

    mid: int
    tid: int
    integrationKey: str


@final
class ClaimItemCall(TypedDict):
    """One of a claim's ``claimItems``: every value a string, cents as digits, date ``YYYYMMDD``
    (seeds/004 "Example request")."""

    claimAmount: str
    serviceCode: str
    description: str
    serviceReference: NotRequired[str]
    patientId: str
    serviceDate: str


@final
class ClaimCall(TypedDict):
    """``initiateHealthPointClaim``, ``initiateHealthPointRebateEstimate`` and (with ``refTag``)
    ``cancelHealthPointClaim``: seeds/004 "Request Parameters", "Claim Cancel"."""

    providerId: str
    serviceType: str
    claimItemsCount: str
    totalClaimAmount: str
    claimItems: list[ClaimItemCall]
    #: A cancel's: the claim's ``healthpointRefTag``.
    refTag: NotRequired[str]
    mid: NotRequired[int]
    tid: NotRequired[int]
    integrationKey: NotRequired[str]
    #: The daemon's job id, as iClient's custom transaction id (seeds/004).
    transactionId: NotRequired[str]


@final
class PurchaseCall(TypedDict):
    """``initiatePurchase`` paying a claim's gap (seeds/004 "Gap Payments"; reference §1.3)."""

    amount: str
    integratedReceipt: bool
    healthpointTransactionId: str
    mid: NotRequired[int]
    tid: NotRequired[int]
    integrationKey: NotRequired[str]
    transactionId: NotRequired[str]


@final
class RefundCall(TypedDict):
    """``initiateRefund`` (reference §1.3)."""

    amount: str
    integratedReceipt: bool
    mid: NotRequired[int]
    tid: NotRequired[int]
    integrationKey: NotRequired[str]
    transactionId: NotRequired[str]


@final
class PairCall(TypedDict):
    """``pairTerminal`` (reference §3)."""

    mid: int
    tid: int


@final
class ReportCall(TypedDict):
    """``healthpointReconciliationReport`` (reference §4)."""

    reportType: str
    reconDate: str
    mid: int
    tid: int
    integrationKey: str


#: The request of one transaction of a job.
TransactionCall: TypeAlias = ClaimCall | PurchaseCall | RefundCall
#: Any request the page passes to an iClient method.
IclientRequest: TypeAlias = TransactionCall | PairCall | PairingKeys | ReportCall


@final
class PurchaseOutcome(TypedDict, total=False):
    """A gap purchase's or refund's answer, as the operation keeps it (reference §1.3
    transaction result): the members the terminal sent, ``amount`` in integer cents."""

    result: str | None
    transactionId: str | None
    transactionReference: str | None
    authorisationCode: str | None
    elidedPan: str | None
    rrn: str | None
    cardType: str | None
    amount: int
    healthpointTransactionId: str | None


@final
class Failure(TypedDict):
    """Why a job failed, as the operation decides it: the fund's words and ``code``, the
    terminal's refusal (``data``), or a JSON-RPC error object."""

    message: str
    code: NotRequired[int | str | None]
    data: NotRequired[object]
