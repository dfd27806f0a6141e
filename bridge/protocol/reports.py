"""Protocol results of HealthPoint reports, pure: the parsed reconciliation report
(``healthpoint.reconciliation``) and the report held against the journal (``healthpoint.reconcile``).

Report rows allow extra fields beside their typed known ones (the fund may grow them).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bridge.healthpoint.claims import RefTag
from bridge.jobs import JobId, JobState
from bridge.protocol.results import ClaimOutcome

__all__ = [
    "ReconcileAmbiguous",
    "ReconcileDiscrepancy",
    "ReconcileJournalSide",
    "ReconcileResult",
    "ReconcileSettled",
    "ReconcileSide",
    "ReconcileTotals",
    "ReconciliationClaim",
    "ReconciliationPayment",
    "ReconciliationReport",
    "ReconciliationTotals",
    "ReportError",
]

_RESULT = ConfigDict(frozen=True)
#: For shapes a fund may grow: known fields typed, others kept.
_TOLERANT = ConfigDict(frozen=True, extra="allow")


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
    refTag: RefTag | None = None
    #: Tyro's status code: ``APP``, ``CAN``, ``VOID``, ``AVOID`` ...
    status: str | None = None
    totalClaimAmount: int | None = None
    privateHealthFundTotalBenefitAmount: int | None = None
    privateHealthFundResponseCode: str | None = None
    text: str | None = None


class ReconciliationPayment(BaseModel):
    """One ``<payment>`` of a payments report (amounts in integer cents)."""

    model_config = _TOLERANT

    refTag: RefTag | None = None
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


class ReconcileSettled(BaseModel):
    """A job the fund's report settled: it is now ``completed`` with the fund's result."""

    model_config = _RESULT

    jobId: JobId
    state: JobState
    result: ClaimOutcome
    refTag: RefTag


class ReconcileJournalSide(BaseModel):
    """What the journal says of a job in a discrepancy (amounts in cents)."""

    model_config = _RESULT

    state: JobState
    #: The terminal's result word (``APPROVED``, ``CANCELLED`` ...), if any.
    result: str | None = None
    totalClaimAmount: int | None = None
    totalBenefit: int | None = None
    #: For a ``resolved`` job: how the operator resolved it (``approved``, ``declined``,
    #: ``notProcessed``), which the fund's report contradicts.
    resolution: Literal["approved", "declined", "notProcessed"] | None = None


class ReconcileDiscrepancy(BaseModel):
    """Where the journal and the fund's report disagree."""

    model_config = _RESULT

    kind: Literal["missingAtFund", "notInJournal", "statusDiffers", "amountDiffers"]
    jobId: JobId | None = None
    refTag: RefTag | None = None
    #: The journal's side.
    journal: ReconcileJournalSide | None = None
    #: The report's row, as parsed.
    fund: ReconciliationClaim | None = None


class ReconcileAmbiguous(BaseModel):
    """An ``unknown`` job the report could not settle, with the rows that might be it."""

    model_config = _RESULT

    jobId: JobId
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
