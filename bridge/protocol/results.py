"""Protocol results and notifications, pure: the frozen model of everything the daemon sends.

Field names are exactly as INTERFACES.md spells them; :data:`NOTIFICATIONS` maps each
notification method to its params model and :data:`JOB_RESULTS` each job kind to the model of
its ``result``. Shapes that the terminal, a fund or Healthcode may grow (a claim's result, a
report row) allow extra fields beside their typed known ones; ``rpc.discover`` says so with
``additionalProperties: true``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bridge.healthcode.status import BillStatus
from bridge.healthpoint.claims import ClaimResult
from bridge.jobs import JobKind, JobState

__all__ = [
    "AbortResult",
    "AnswerResult",
    "BillOutcome",
    "BillProblem",
    "BrowserHealth",
    "ClaimOutcome",
    "CodeEntry",
    "ComponentHealth",
    "CredentialsResult",
    "FindMemberResult",
    "HealthResult",
    "JOB_RESULTS",
    "Job",
    "JobError",
    "JobQuestion",
    "JobStatus",
    "JobUpdated",
    "JournalHealth",
    "MemberDetails",
    "NOTIFICATIONS",
    "PairResult",
    "PaymentOutcome",
    "ReconciliationClaim",
    "ReconciliationPayment",
    "ReconciliationReport",
    "ReconciliationTotals",
    "RemittanceEntry",
    "RemittanceLineEntry",
    "ReportError",
    "Resolution",
    "SubscribeResult",
    "TerminalInfo",
    "TerminalPairing",
    "ValidateResult",
]

_RESULT = ConfigDict(frozen=True)
#: For shapes the terminal, a fund or Healthcode may grow: known fields typed, others kept.
_TOLERANT = ConfigDict(frozen=True, extra="allow")


# --------------------------------------------------------------------------- results


class Resolution(BaseModel):
    """How an operator settled an ``unknown`` job (``job.resolve``)."""

    model_config = _TOLERANT

    outcome: Literal["approved", "declined", "notProcessed"]
    note: str
    at: datetime
    #: The operator, when one was named.
    by: str | None = None


class ClaimOutcome(ClaimResult):
    """``result`` of a ``claim``, ``rebateEstimate`` or ``cancel`` job (amounts in cents).

    A cancel's result is the whole cancelled claim with ``result: "CANCELLED"``. ``bonus: true``
    marks an item the fund added (loyalty item ``00992``), never part of the request.
    """

    model_config = _TOLERANT

    #: Set by ``job.resolve`` on a job that was ``unknown``.
    resolution: Resolution | None = None
    #: ``reconciliation`` when the outcome was settled from the fund's report.
    source: str | None = None


class PaymentOutcome(BaseModel):
    """``result`` of a ``gap`` (or ``refund``) job: the card payment as the terminal reported it."""

    model_config = _TOLERANT

    #: iClient ``result``: APPROVED, DECLINED, CANCELLED, REVERSED, SYSTEM ERROR, UNKNOWN.
    result: str
    transactionId: str | None = None
    transactionReference: str | None = None
    authorisationCode: str | None = None
    #: The card number with all but the last four digits hidden.
    elidedPan: str | None = None
    #: Retrieval reference number.
    rrn: str | None = None
    cardType: str | None = None
    #: Cents, when the terminal reports it.
    amount: int | None = None
    healthpointTransactionId: str | None = None
    resolution: Resolution | None = None


class BillOutcome(BaseModel):
    """``result`` of a ``healthcodeBill`` job: the bill's status as Healthcode last reported it."""

    model_config = _TOLERANT

    status: BillStatus
    #: Healthcode's reference for the bill (``None`` until submitted, or when ``NotFound``).
    reference: str | None = None
    invoiceNumber: str
    #: When the bill entered ``status`` (Healthcode's clock), if known.
    at: datetime | None = None
    #: Why the bill is ``AwaitingCorrection``.
    problems: tuple[BillProblem, ...] = ()
    #: Healthcode already held a bill with this invoice number.
    duplicate: bool = False
    #: From remittances: pence paid, pence short, and the payment's reference.
    paid: int | None = None
    shortfall: int | None = None
    paymentReference: str | None = None
    #: The jobId of the bill that resubmits this one.
    replacedBy: str | None = None


class JobError(BaseModel):
    """Why a job failed: a JSON-RPC-style error object."""

    model_config = _TOLERANT

    code: int
    message: str
    data: Any = None


class Job(BaseModel):
    """What every long operation returns and what notifications carry.

    ``result`` follows ``kind`` (:data:`JOB_RESULTS`): :class:`ClaimOutcome` for ``claim``,
    ``rebateEstimate`` and ``cancel``, :class:`PaymentOutcome` for ``gap`` and ``refund``,
    :class:`BillOutcome` for ``healthcodeBill``.
    """

    model_config = _RESULT

    jobId: str
    requestId: str
    kind: JobKind
    terminal: str | None = None
    state: JobState
    createdAt: datetime
    updatedAt: datetime
    #: The params as the PMS sent them (validated).
    request: dict[str, Any]
    result: ClaimOutcome | PaymentOutcome | BillOutcome | None = None
    #: Set when the job failed (or an ``unknown`` job's last error).
    error: JobError | None = None


class AnswerResult(BaseModel):
    """``job.answer`` result."""

    model_config = _RESULT

    accepted: bool = True


class AbortResult(BaseModel):
    """``job.abort`` result: whether the transaction was asked to stop."""

    model_config = _RESULT

    aborted: bool


class TerminalInfo(BaseModel):
    """One terminal as ``terminal.list`` shows it."""

    model_config = _RESULT

    name: str
    mid: int
    tid: int
    paired: bool
    busy: bool
    queued: int


class PairResult(BaseModel):
    """``terminal.pair`` result (iClient ``pairingStatus``: ``success``/``failure``)."""

    model_config = _RESULT

    status: str
    message: str


class ReconciliationClaim(BaseModel):
    """One ``<claim>`` of a claims report: Tyro's tags in camelCase, amounts in integer cents,
    times as the report writes them (``YYYYMMDDhhmmss``, Sydney)."""

    model_config = _TOLERANT

    terminalDateTime: str | None = Field(default=None, pattern=r"^\d{14}$")
    settlementDateTime: str | None = None
    responseDateTime: str | None = None
    transactionDateTime: str | None = None
    providerId: str | None = None
    privateHealthFundId: str | None = None
    refTag: str | None = None
    #: Tyro's status code: ``APP``, ``CAN``, ``VOID``, ``AVOID`` ...
    status: str | None = None
    totalClaimAmount: int | None = None
    privateHealthFundTotalBenefitAmount: int | None = None
    privateHealthFundResponseCode: str | None = None
    text: str | None = None


class ReconciliationPayment(BaseModel):
    """One ``<payment>`` of a payments report (amounts in integer cents)."""

    model_config = _TOLERANT

    refTag: str | None = None
    status: str | None = None
    amount: int | None = None
    benefitAmount: int | None = None


class ReconciliationTotals(BaseModel):
    """The report's ``<check>`` footer."""

    model_config = _TOLERANT

    totalNumberClaims: int | None = None
    sumBenefitAmount: int | None = None
    sumClaimAmount: int | None = None


class ReportError(BaseModel):
    """Why the terminal could not give the report."""

    model_config = _TOLERANT

    code: str | None = None
    message: str


class ReconciliationReport(BaseModel):
    """``healthpoint.reconciliation`` result: the terminal's report, its XML turned into JSON.

    ``terminalId`` is the terminal's HealthPoint id (e.g. ``SIM00001``) and ``date`` the report's
    day as Tyro writes it (``YYYYMMDD``). ``claims`` (or ``payments``) holds one object per row;
    ``available`` is false, with ``message`` (``No report created.``) or ``error``, when there is
    no report.
    """

    model_config = _TOLERANT

    type: Literal["claims", "payments"]
    available: bool
    terminalId: str | None = None
    date: str | None = Field(default=None, pattern=r"^\d{8}$")
    claims: tuple[ReconciliationClaim, ...] | None = None
    payments: tuple[ReconciliationPayment, ...] | None = None
    totals: ReconciliationTotals | None = None
    message: str | None = None
    error: ReportError | None = None


class CredentialsResult(BaseModel):
    """``healthcode.checkCredentials`` result."""

    model_config = _RESULT

    ok: bool
    message: str


class BillProblem(BaseModel):
    """One problem with a bill, VEDA style; ``field`` may add Healthcode's own name."""

    model_config = _RESULT

    field: str
    error: str
    suggestion: str | None = None
    #: Healthcode's own name for the field (``RegistrationNo``, ``AuthCode``, ``FDOS`` ...).
    healthcodeField: str | None = None


class ValidateResult(BaseModel):
    """``healthcode.validate`` result."""

    model_config = _RESULT

    valid: bool
    problems: tuple[BillProblem, ...] = ()


class CodeEntry(BaseModel):
    """One line of a ``healthcode.codes`` pick-list."""

    model_config = _RESULT

    code: str
    description: str
    allowed: bool


class ComponentHealth(BaseModel):
    """One component's health in ``system.health``: ``ok`` (measured) and a line for a person."""

    model_config = _TOLERANT

    ok: bool
    message: str = ""


class JournalHealth(ComponentHealth):
    """The journal in ``system.health``: where it is, how big, jobs by state."""

    path: str | None = None
    sizeBytes: int | None = None
    jobs: dict[str, int] | None = None


class BrowserHealth(ComponentHealth):
    """The browser in ``system.health``."""

    up: bool | None = None
    restarts: int | None = None
    executable: str | None = None


class HealthResult(BaseModel):
    """``system.health`` result."""

    model_config = _RESULT

    version: str
    uptimeS: float
    terminals: tuple[TerminalInfo, ...]
    journal: JournalHealth
    browser: BrowserHealth


class SubscribeResult(BaseModel):
    """``events.subscribe`` result: the topics now subscribed."""

    model_config = _RESULT

    topics: tuple[str, ...]


# --------------------------------------------------------------------------- notifications


class JobUpdated(BaseModel):
    """``job.updated``: sent on every state change."""

    model_config = _RESULT

    job: Job


class JobStatus(BaseModel):
    """``job.status``: a terminal status line, e.g. "Reading card"."""

    model_config = _RESULT

    jobId: str
    message: str


class JobQuestion(BaseModel):
    """``job.question``: answer with ``job.answer``."""

    model_config = _RESULT

    jobId: str
    text: str
    options: tuple[str, ...]


class TerminalPairing(BaseModel):
    """``terminal.pairing``: pairing progress (iClient ``pairingStatus``)."""

    model_config = _RESULT

    terminal: str
    status: str
    message: str


#: Job kind -> the model of its ``result`` (``rpc.discover`` ties them with if/then on ``kind``).
JOB_RESULTS: Mapping[str, type[BaseModel]] = MappingProxyType(
    {
        "claim": ClaimOutcome,
        "rebateEstimate": ClaimOutcome,
        "cancel": ClaimOutcome,
        "gap": PaymentOutcome,
        "refund": PaymentOutcome,
        "healthcodeBill": BillOutcome,
    }
)

#: Notification method -> params model.
NOTIFICATIONS: Mapping[str, type[BaseModel]] = MappingProxyType(
    {
        "job.updated": JobUpdated,
        "job.status": JobStatus,
        "job.question": JobQuestion,
        "terminal.pairing": TerminalPairing,
    }
)


# --------------------------------------------------------------------------- Healthcode V2


class MemberDetails(BaseModel):
    """The member Healthcode's Find Member found (``healthcode.findMember``)."""

    model_config = _RESULT

    firstName: str | None = None
    lastName: str | None = None
    dateOfBirth: str | None = None
    membershipNumber: str | None = None


class FindMemberResult(BaseModel):
    """``healthcode.findMember`` result; ``problems`` name required fields that are missing."""

    model_config = _RESULT

    found: bool
    policyActive: bool
    member: MemberDetails | None = None
    message: str
    problems: tuple[BillProblem, ...] = ()


class RemittanceLineEntry(BaseModel):
    """One bill paid in a remittance, in pence; ``jobId`` is the bill's job when matched."""

    model_config = _RESULT

    invoiceNumber: str
    amountInvoiced: int | None = None
    amountPaid: int
    shortfall: int
    jobId: str | None = None


class RemittanceEntry(BaseModel):
    """One remittance of ``healthcode.remittances`` (amounts in pence)."""

    model_config = _RESULT

    paymentReference: str
    datePaid: str | None = None
    insurer: str
    total: int
    lines: tuple[RemittanceLineEntry, ...] = ()
