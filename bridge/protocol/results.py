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
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema

from bridge.healthcode.status import BillStatus
from bridge.healthpoint.claims import ClaimResult
from bridge.jobs import ICLIENT_RESULTS, JobId, JobKind, JobState, RequestId

__all__ = [
    "AbortResult",
    "AnswerResult",
    "BillOutcome",
    "BillProblem",
    "BrowserHealth",
    "ClaimOutcome",
    "ComponentHealth",
    "HealthResult",
    "HistoryEntry",
    "IclientHealth",
    "Instant",
    "JOB_RESULTS",
    "Job",
    "JobError",
    "JobPage",
    "JobQuestion",
    "JobStatus",
    "JobUpdated",
    "JournalHealth",
    "NOTIFICATIONS",
    "PairResult",
    "PaymentOutcome",
    "PendingQuestion",
    "Receipts",
    "ReconciliationDone",
    "Resolution",
    "StoredInstant",
    "SubscribeResult",
    "TerminalInfo",
    "TerminalPairing",
    "TerminalResult",
    "UnpairResult",
]

_RESULT = ConfigDict(frozen=True)

#: A moment on the wire: ISO 8601 with its offset as :meth:`datetime.isoformat` writes it
#: (``+00:00``, not pydantic's ``Z``), the form the daemon has always sent.
Instant = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


def _with_microseconds(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


#: A moment as the journal stores it, always with microseconds (the audit trail's ``at``).
StoredInstant = Annotated[
    datetime,
    PlainSerializer(_with_microseconds, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
#: A notification's params: ``seq`` (set by the hub) is documented as always there.
_NOTE = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)
#: For shapes the terminal, a fund or Healthcode may grow: known fields typed, others kept.
_TOLERANT = ConfigDict(frozen=True, extra="allow")


# --------------------------------------------------------------------------- results


class TerminalResult(StrEnum):
    """The terminal's (iClient's) ``result`` of a transaction. With state ``completed``:
    ``APPROVED``, ``DECLINED``, ``CANCELLED`` or ``REVERSED``; ``NOT STARTED`` comes with
    ``failed`` (nothing reached the fund); ``UNKNOWN`` and ``SYSTEM ERROR`` with ``unknown``."""

    APPROVED = "APPROVED"
    DECLINED = "DECLINED"
    CANCELLED = "CANCELLED"
    REVERSED = "REVERSED"
    NOT_STARTED = "NOT STARTED"
    SYSTEM_ERROR = "SYSTEM ERROR"
    UNKNOWN = "UNKNOWN"


def _known_result(value: object) -> object:
    """A result the terminal spelled otherwise is named as the state it led to: a word iClient
    does not document left the job ``unknown`` (:func:`bridge.jobs.outcome_state`)."""
    if isinstance(value, str):
        text = value.strip().upper()
        return text if text in ICLIENT_RESULTS else TerminalResult.UNKNOWN.value
    return value


_Result = Annotated[TerminalResult | None, BeforeValidator(_known_result)]


class Resolution(BaseModel):
    """How an operator settled an ``unknown`` job (``job.resolve``)."""

    model_config = _TOLERANT

    outcome: Literal["approved", "declined", "notProcessed"]
    note: str
    at: Instant
    #: The operator, when one was named.
    by: str | None = None


class ClaimOutcome(ClaimResult):
    """``result`` of a ``claim``, ``rebateEstimate`` or ``cancel`` job (amounts in cents).

    A cancel's result is the whole cancelled claim with ``result: "CANCELLED"``. ``bonus: true``
    marks an item the fund added (loyalty item ``00992``), never part of the request.
    """

    model_config = _TOLERANT

    #: iClient ``result``; absent only when a job that never had an outcome was settled by
    #: hand (``job.resolve``: then ``resolution`` says how). Looser than the terminal's
    #: :class:`ClaimResult`, which always has one, hence the ignore.
    result: _Result = None  # type: ignore[assignment]
    #: Set by ``job.resolve`` on a job that was ``unknown``.
    resolution: Resolution | None = None
    #: ``reconciliation`` when the outcome was settled from the fund's report.
    source: str | None = None


class PaymentOutcome(BaseModel):
    """``result`` of a ``gap`` (or ``refund``) job: the card payment as the terminal reported it."""

    model_config = _TOLERANT

    #: iClient ``result``: APPROVED, DECLINED, CANCELLED, REVERSED, SYSTEM ERROR, UNKNOWN; absent
    #: only when a job that never had an outcome was settled by hand (see ``resolution``).
    result: _Result = None
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
    at: Instant | None = None
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


class BillProblem(BaseModel):
    """One problem with a bill, VEDA style; ``field`` may add Healthcode's own name."""

    model_config = _RESULT

    field: str
    error: str
    suggestion: str | None = None
    #: Healthcode's own name for the field (``RegistrationNo``, ``AuthCode``, ``FDOS`` ...).
    healthcodeField: str | None = None


class JobError(BaseModel):
    """Why a job failed: a JSON-RPC-style error object, or the fund's own code and words."""

    model_config = _TOLERANT

    message: str
    #: A JSON-RPC code for the daemon's refusals, the fund's ``healthpointErrorCode`` (text,
    #: e.g. ``"93"``) for a declined claim; absent for an ``unknown`` or aborted job.
    code: int | str | None = None
    data: object = None


class PendingQuestion(BaseModel):
    """A job's pending question: its text and the options ``job.answer`` takes."""

    model_config = _RESULT

    text: str
    options: tuple[str, ...]


class Receipts(BaseModel):
    """Receipt text as iClient delivered it (receipt callback, ``customerReceipt``)."""

    model_config = _RESULT

    merchant: str | None = None
    customer: str | None = None


class HistoryEntry(BaseModel):
    """One audit event of a job: a state change, status line, question, answer, receipt or note."""

    model_config = _RESULT

    at: StoredInstant
    event: str
    state: JobState | None = None
    message: str | None = None
    #: Who answered, for an operator's answer.
    by: str | None = None


class Job(BaseModel):
    """What every long operation returns and what notifications carry.

    ``result`` follows ``kind`` (:data:`JOB_RESULTS`): :class:`ClaimOutcome` for ``claim``,
    ``rebateEstimate`` and ``cancel``, :class:`PaymentOutcome` for ``gap`` and ``refund``,
    :class:`BillOutcome` for ``healthcodeBill``.
    """

    model_config = _RESULT

    jobId: JobId
    requestId: RequestId
    kind: JobKind
    #: The journal's change number of the job's last change: it grows with every change of any
    #: job (``job.list {since}`` pages by it).
    seq: int
    terminal: str | None = None
    state: JobState
    createdAt: Instant
    updatedAt: Instant
    #: The params as the PMS sent them (validated).
    request: dict[str, object]
    result: ClaimOutcome | PaymentOutcome | BillOutcome | None = None
    #: Set when the job failed (or an ``unknown`` job's last error).
    error: JobError | None = None
    #: The question waiting for an answer (``job.answer``), else null.
    question: PendingQuestion | None = None
    #: Receipt text as the terminal sent it (completed claims, cancels, gaps, refunds).
    receipts: Receipts | None = None
    #: With ``job.get {..., history: true}``: every audit event, oldest first.
    history: tuple[HistoryEntry, ...] | None = None


class JobPage(BaseModel):
    """``job.list {since}``: the jobs changed after ``since``, oldest change first; ask again
    with ``since: nextSince`` until ``more`` is false."""

    model_config = _RESULT

    jobs: tuple[Job, ...]
    #: The ``since`` of the next page: the ``seq`` of the last job here (``since`` when none).
    nextSince: int
    #: Whether more jobs changed after ``nextSince`` (already, at the time of the answer).
    more: bool


class AnswerResult(BaseModel):
    """``job.answer`` result."""

    model_config = _RESULT

    accepted: bool = True


class AbortResult(BaseModel):
    """``job.abort`` result: ``aborted`` is true only when the job moved from ``queued`` to
    ``failed`` before anything reached the terminal. Otherwise it is false and the job runs to its
    outcome; a running transaction is asked to stop on the terminal, and its Job then says whether
    it stopped (``CANCELLED``) or had already gone through."""

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
    #: Its page is loaded (iClient in it) and answers; false while it is being loaded again.
    pageReady: bool


class UnpairResult(BaseModel):
    """``terminal.unpair`` result: the pairing that was forgotten (``wasPaired`` false: none was)."""

    model_config = _RESULT

    terminal: str
    wasPaired: bool
    mid: int | None = None
    tid: int | None = None


class PairResult(BaseModel):
    """``terminal.pair`` result (iClient ``pairingStatus``: ``success``/``failure``)."""

    model_config = _RESULT

    status: str
    message: str


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


class IclientHealth(BaseModel):
    """Whether the iClient server (Tyro's) can be reached, as the terminals' pages see it.

    ``ok`` is false from the first request to it that failed on the network until the next one
    it answers; ``since`` is when the current state began; ``reason`` is what failed (Chromium's
    error and the URL), null while it is reachable. Meanwhile new money work answers -32005
    ``iclientUnreachable``.
    """

    model_config = _TOLERANT

    ok: bool
    since: Instant
    reason: str | None = None


class HealthResult(BaseModel):
    """``system.health`` result."""

    model_config = _RESULT

    version: str
    uptimeS: float
    terminals: tuple[TerminalInfo, ...]
    journal: JournalHealth
    browser: BrowserHealth
    iclient: IclientHealth


class SubscribeResult(BaseModel):
    """``events.subscribe`` result: the topics now subscribed."""

    model_config = _RESULT

    topics: tuple[str, ...]
    #: With ``since``: how many recorded notifications were replayed (sent before this answer).
    replayed: int = 0


# --------------------------------------------------------------------------- notifications


class JobUpdated(BaseModel):
    """``job.updated``: sent on every state change."""

    model_config = _NOTE

    job: Job
    #: Its number in the daemon's event log (``events.subscribe {since}`` replays from the last
    #: one seen); the hub sets it as it publishes.
    seq: int = 0


class JobStatus(BaseModel):
    """``job.status``: a terminal status line, e.g. "Reading card"."""

    model_config = _NOTE

    jobId: JobId
    message: str
    #: Its number in the daemon's event log (``events.subscribe {since}`` replays from the last
    #: one seen); the hub sets it as it publishes.
    seq: int = 0


class JobQuestion(BaseModel):
    """``job.question``: answer with ``job.answer``."""

    model_config = _NOTE

    jobId: JobId
    text: str
    options: tuple[str, ...]
    #: Its number in the daemon's event log (``events.subscribe {since}`` replays from the last
    #: one seen); the hub sets it as it publishes.
    seq: int = 0


class TerminalPairing(BaseModel):
    """``terminal.pairing``: pairing progress (iClient ``pairingStatus``)."""

    model_config = _NOTE

    terminal: str
    status: str
    message: str
    #: Its number in the daemon's event log (``events.subscribe {since}`` replays from the last
    #: one seen); the hub sets it as it publishes.
    seq: int = 0


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

class ReconciliationDone(BaseModel):
    """``reconciliation.done``: one reconciliation run ended (counts of what it found)."""

    model_config = _NOTE

    terminal: str
    date: str
    settled: int
    discrepancies: int
    #: Its number in the daemon's event log (``events.subscribe {since}`` replays from the last
    #: one seen); the hub sets it as it publishes.
    seq: int = 0


#: Notification method -> params model.
NOTIFICATIONS: Mapping[str, type[BaseModel]] = MappingProxyType(
    {
        "job.updated": JobUpdated,
        "job.status": JobStatus,
        "job.question": JobQuestion,
        "terminal.pairing": TerminalPairing,
        "reconciliation.done": ReconciliationDone,
    }
)


