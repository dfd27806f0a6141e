"""Protocol results and notifications, pure: the frozen model of everything the daemon sends.

Field names are exactly as INTERFACES.md spells them; :data:`NOTIFICATIONS` maps each
notification method to its params model.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bridge.jobs import JobKind, JobState

__all__ = [
    "AbortResult",
    "AnswerResult",
    "BillProblem",
    "CodeEntry",
    "ComponentHealth",
    "CredentialsResult",
    "HealthResult",
    "Job",
    "JobQuestion",
    "JobStatus",
    "JobUpdated",
    "NOTIFICATIONS",
    "PairResult",
    "ReconcileAmbiguous",
    "ReconcileDiscrepancy",
    "ReconcileResult",
    "ReconcileSettled",
    "ReconcileSide",
    "ReconcileTotals",
    "ReconciliationDone",
    "ReconciliationReport",
    "SubscribeResult",
    "TerminalInfo",
    "TerminalPairing",
    "ValidateResult",
]

_RESULT = ConfigDict(frozen=True)


# --------------------------------------------------------------------------- results


class Job(BaseModel):
    """What every long operation returns and what notifications carry."""

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
    #: Kind-specific: a :class:`ClaimResult` for claims, Healthcode's status for bills...
    result: dict[str, Any] | None = None
    #: A JSON-RPC-style ``{code, message, data?}`` when the job failed.
    error: dict[str, Any] | None = None


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


class ReconciliationReport(BaseModel):
    """``healthpoint.reconciliation`` result: the report's XML as JSON (bridge/healthpoint/reconciliation.py).

    ``claims`` (or ``payments``) holds one object per ``<claim>`` with camelCase keys and integer
    cents; ``available`` is false, with ``message`` or ``error``, when there is no report.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    type: Literal["claims", "payments"]
    available: bool
    terminalId: str | None = None
    date: str | None = None
    totals: dict[str, Any] | None = None
    message: str | None = None
    error: dict[str, Any] | None = None


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
    """One component's health in ``system.health``: ``ok`` and a line for a person, plus
    the component's own figures (journal path, size and jobs by state; browser executable,
    restarts)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    ok: bool
    message: str = ""


class HealthResult(BaseModel):
    """``system.health`` result."""

    model_config = _RESULT

    version: str
    uptimeS: float
    terminals: tuple[TerminalInfo, ...]
    journal: ComponentHealth
    browser: ComponentHealth


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


#: Notification method -> params model.
NOTIFICATIONS: Mapping[str, type[BaseModel]] = MappingProxyType(
    {
        "job.updated": JobUpdated,
        "job.status": JobStatus,
        "job.question": JobQuestion,
        "terminal.pairing": TerminalPairing,
    }
)


# --------------------------------------------------------------------------- reconciliation


class ReconcileSettled(BaseModel):
    """A job the fund's report settled: it is now ``completed`` with the fund's result."""

    model_config = _RESULT

    jobId: str
    state: JobState
    result: dict[str, Any]
    refTag: str


class ReconcileDiscrepancy(BaseModel):
    """Where the journal and the fund's report disagree."""

    model_config = _RESULT

    kind: Literal["missingAtFund", "notInJournal", "statusDiffers", "amountDiffers"]
    jobId: str | None = None
    refTag: str | None = None
    #: The journal's side: ``{state, result, totalClaimAmount, totalBenefit}``.
    journal: dict[str, Any] | None = None
    #: The report's row, as parsed.
    fund: dict[str, Any] | None = None


class ReconcileAmbiguous(BaseModel):
    """An ``unknown`` job the report could not settle, with the rows that might be it."""

    model_config = _RESULT

    jobId: str
    refTags: tuple[str, ...]


class ReconcileSide(BaseModel):
    """One side's totals: claims counted, cents claimed, cents of benefit."""

    model_config = _RESULT

    claims: int
    claimed: int
    benefit: int


class ReconcileTotals(BaseModel):
    """Totals of both sides."""

    model_config = _RESULT

    fund: ReconcileSide
    journal: ReconcileSide


class ReconcileResult(BaseModel):
    """``healthpoint.reconcile``: the fund's claims report of a Sydney day held against the journal."""

    model_config = _RESULT

    terminal: str
    date: str
    available: bool
    settled: tuple[ReconcileSettled, ...]
    discrepancies: tuple[ReconcileDiscrepancy, ...]
    ambiguous: tuple[ReconcileAmbiguous, ...]
    totals: ReconcileTotals


class ReconciliationDone(BaseModel):
    """``reconciliation.done``: one reconciliation run ended (counts of what it found)."""

    model_config = _RESULT

    terminal: str
    date: str
    settled: int
    discrepancies: int


#: ``reconciliation.done`` joins the notifications (kept beside its model, in this block).
NOTIFICATIONS = MappingProxyType({**NOTIFICATIONS, "reconciliation.done": ReconciliationDone})
