"""Reconciliation matching, pure: the fund's claims report of a day held against the journal.

The claims report (reference/tyro-iclient-healthpoint.md §4.4) lists the day's claims of a
terminal, one row each: ``ref-tag``, ``provider-id``, ``terminal-date-time`` (Sydney local,
``yyyyMMddHHmmss``), ``status`` (``APP``, ``CAN`` cancelled, ``VOID`` voided at the terminal,
``AVOID`` auto-voided), ``total-claim-amount`` and the fund's benefit. :func:`reconcile` holds
it against the journal's jobs of that day (INTERFACES.md "Reconciliation"):

- a job that knows its refTag is matched by it first: the row of that refTag (same provider and
  amount) is its row, wherever the fund's time fell;
- an ``unknown`` claim that does not is settled only when exactly one row has its provider and
  total claim amount, a terminal time inside the job's running window (widened by ``skew`` for
  the terminal's clock and the report's whole seconds), and a refTag no other job holds;
- an ``unknown`` cancel is settled only when the row of its claim's refTag (one row, same
  provider and amount) shows ``CAN``;
- anything less leaves the job ``unknown``, listed in ``ambiguous`` with the candidate refTags;
- a ``resolved`` claim (settled by an operator) is found the same way, and listed
  ``statusDiffers`` when the fund contradicts the operator (resolved ``notProcessed`` or
  ``declined`` while the fund shows ``APP``; ``approved`` while it shows another status), or
  ``missingAtFund`` when resolved ``approved`` and no row is its;
- the rest are discrepancies: ``missingAtFund``, ``notInJournal``, ``statusDiffers``,
  ``amountDiffers``.

Pure: no I/O, no clock; times are aware datetimes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from bridge.healthpoint.claims import SYDNEY
from bridge.healthpoint.reconciliation import Reconciliation
from bridge.jobs import JobKind, JobState

__all__ = [
    "DEFAULT_SKEW",
    "FUND_RESULTS",
    "Discrepancy",
    "DiscrepancyKind",
    "JournalSide",
    "Matching",
    "ReconJob",
    "ReportRow",
    "Settlement",
    "Side",
    "Totals",
    "reconcile",
    "report_rows",
    "settled_result",
]

#: How far a terminal's clock may stray from the daemon's (and the report's whole seconds).
DEFAULT_SKEW = timedelta(seconds=30)

#: The report's status -> the iClient result a settled claim gets. ``APP`` the fund approved
#: and kept; ``VOID`` the patient rejected (or did not answer), which the terminal reports
#: as CANCELLED; ``AVOID`` the terminal auto-voided it (REVERSED, reference §4.3); ``CAN`` a
#: cancel went through (no benefit paid: CANCELLED).
FUND_RESULTS: Mapping[str, str] = {"APP": "APPROVED", "VOID": "CANCELLED", "AVOID": "REVERSED", "CAN": "CANCELLED"}

#: What the journal's result leads the report to show, when the report has the claim.
_EXPECTED_STATUS: Mapping[str, str] = {"APPROVED": "APP", "CANCELLED": "VOID", "REVERSED": "AVOID"}


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One ``<claim>`` of the claims report."""

    ref_tag: str
    status: str
    provider_id: str
    total_claim_amount: int
    total_benefit: int
    #: ``terminal-date-time``: when the claim was at the terminal (Sydney).
    at: datetime | None
    #: The fund's HealthPoint id (``PHF00999``), its settlement time, response code and text.
    fund_id: str | None = None
    settlement_at: datetime | None = None
    response_code: str | None = None
    text: str | None = None
    #: The row as the report gave it (every tag, known or not): where the fund's JSON enters.
    raw: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReconJob:
    """One journalled claim or cancel of the day, as the matching sees it."""

    job_id: str
    kind: JobKind
    state: JobState
    provider_id: str
    total_claim_amount: int
    #: The refTag the journal knows: a claim's own, or the claim a cancel is for.
    ref_tag: str | None
    #: iClient's result as journalled (APPROVED, CANCELLED...), None while unknown.
    result: str | None = None
    total_benefit: int = 0
    #: When the job was at the terminal: from ``running`` to its end (unknown jobs).
    window: tuple[datetime, datetime] | None = None
    #: A claim cancelled through the daemon (its cancel completed CANCELLED).
    cancelled: bool = False
    #: How an operator resolved it (``job.resolve``): approved, declined, notProcessed.
    resolution: str | None = None


#: Where the journal and the fund's report disagree (INTERFACES.md "Reconciliation").
DiscrepancyKind = Literal["missingAtFund", "notInJournal", "statusDiffers", "amountDiffers"]


@dataclass(frozen=True, slots=True)
class JournalSide:
    """What the journal says of a job in a discrepancy (amounts in cents)."""

    state: JobState
    #: iClient's result as journalled (APPROVED, CANCELLED...), None while it has none.
    result: str | None
    total_claim_amount: int
    total_benefit: int
    #: How an operator resolved it: given for a ``resolved`` job only.
    resolution: str | None = None


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One disagreement: a journalled job (``job_id`` and ``journal``, not ``notInJournal``),
    the report's row (``fund``, not ``missingAtFund``), or both."""

    kind: DiscrepancyKind
    #: The refTag in question (a ``missingAtFund`` resolved claim may know none).
    ref_tag: str | None
    job_id: str | None = None
    journal: JournalSide | None = None
    fund: ReportRow | None = None


@dataclass(frozen=True, slots=True)
class Side:
    """One side's totals: claims counted, cents claimed, cents of benefit the fund keeps."""

    claims: int
    claimed: int
    benefit: int


@dataclass(frozen=True, slots=True)
class Totals:
    """Both sides counted alike."""

    fund: Side
    journal: Side


@dataclass(frozen=True, slots=True)
class Settlement:
    """The outcome an ``unknown`` job gets from the report row that settles it (amounts in
    cents, times Sydney); the adapter journals it marked ``source: "reconciliation"``."""

    #: iClient's result word the row stands for (APPROVED, CANCELLED, REVERSED...).
    result: str
    ref_tag: str
    #: The report's own status (APP, CAN, VOID, AVOID).
    fund_status: str
    total_claim_amount: int
    total_benefit: int
    fund_id: str | None
    #: When the fund settles it: an approved row's only.
    settlement_at: datetime | None
    terminal_at: datetime | None
    phf_response_code: str | None
    free_text: str | None
    #: What the patient pays: a claim the fund approved only, None otherwise (not given).
    gap: int | None = None


@dataclass(frozen=True, slots=True)
class Matching:
    """What :func:`reconcile` found: settlements to make, ambiguities, discrepancies, totals."""

    available: bool
    #: job id -> the report row that settles it.
    settled: Mapping[str, ReportRow]
    #: job id -> the candidate refTags (none, or more than one).
    ambiguous: Mapping[str, tuple[str, ...]]
    discrepancies: tuple[Discrepancy, ...]
    totals: Totals


def _int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value or "").strip()
    return int(text) if text.lstrip("-").isdigit() else 0


def _text(value: object) -> str | None:
    return str(value or "") or None


def _sydney(text: object) -> datetime | None:
    # reference §1.5/§4.4: yyyyMMddHHmmss in Sydney local time.
    if not isinstance(text, str) or not re.fullmatch(r"\d{14}", text):
        return None
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=SYDNEY)
    except ValueError:
        return None


def report_rows(report: Reconciliation) -> list[ReportRow] | None:
    """The rows of a parsed claims report (:func:`bridge.healthpoint.parse_reconciliation`),
    None when the terminal had no report for the day (``available: false``), which proves nothing."""
    if not report.get("available"):
        return None
    rows = []
    for claim in report.get("claims") or []:
        ref_tag = str(claim.get("refTag") or "").strip()
        if not ref_tag:
            continue
        rows.append(ReportRow(
            ref_tag=ref_tag,
            status=str(claim.get("status") or "").strip().upper(),
            provider_id=str(claim.get("providerId") or "").strip(),
            total_claim_amount=_int(claim.get("totalClaimAmount")),
            total_benefit=_int(claim.get("privateHealthFundTotalBenefitAmount")),
            at=_sydney(claim.get("terminalDateTime")),
            fund_id=_text(claim.get("privateHealthFundId")),
            settlement_at=_sydney(claim.get("settlementDateTime")),
            response_code=_text(claim.get("privateHealthFundResponseCode")),
            text=_text(claim.get("text")),
            raw=dict(claim),
        ))
    return rows


def _inside(at: datetime | None, window: tuple[datetime, datetime] | None, skew: timedelta) -> bool:
    if at is None or window is None:
        return False
    start, end = window
    return start - skew <= at <= end + skew


def _journal_side(job: ReconJob) -> JournalSide:
    resolution = job.resolution if job.state is JobState.RESOLVED else None
    return JournalSide(job.state, job.result, job.total_claim_amount, job.total_benefit, resolution)


def _claim_candidates(job: ReconJob, rows: Sequence[ReportRow], held: Mapping[str, str], skew: timedelta) -> list[ReportRow]:
    # A claim that knows its refTag (a failed autovoid still reports it) is that row or none,
    # whatever the time the fund gives it; one that does not, the rows inside its window.
    return [
        row for row in rows
        if row.provider_id == job.provider_id
        and row.total_claim_amount == job.total_claim_amount
        and held.get(row.ref_tag) in (None, job.job_id)
        and (row.ref_tag == job.ref_tag if job.ref_tag is not None else _inside(row.at, job.window, skew))
    ]


def _cancel_candidates(job: ReconJob, rows: Sequence[ReportRow]) -> list[ReportRow]:
    return [
        row for row in rows
        if row.ref_tag == job.ref_tag
        and row.provider_id == job.provider_id
        and row.total_claim_amount == job.total_claim_amount
    ]


def _settle_unknowns(
    jobs: Sequence[ReconJob], rows: Sequence[ReportRow], held: Mapping[str, str], skew: timedelta
) -> tuple[dict[str, ReportRow], dict[str, tuple[str, ...]]]:
    settled: dict[str, ReportRow] = {}
    ambiguous: dict[str, tuple[str, ...]] = {}
    unknown_claims = [j for j in jobs if j.state is JobState.UNKNOWN and j.kind is JobKind.CLAIM]
    candidates = {j.job_id: _claim_candidates(j, rows, held, skew) for j in unknown_claims}
    for job in unknown_claims:
        found = candidates[job.job_id]
        # A row that is the only candidate of two unknown jobs proves neither.
        shared = any(
            other != job.job_id and found and found[0] in rows_of for other, rows_of in candidates.items()
        )
        if len(found) == 1 and not shared:
            settled[job.job_id] = found[0]
        else:
            ambiguous[job.job_id] = tuple(r.ref_tag for r in found)
    for job in jobs:
        if job.state is not JobState.UNKNOWN or job.kind is not JobKind.CANCEL:
            continue
        found = _cancel_candidates(job, rows)
        if len(found) == 1 and found[0].status == "CAN":
            settled[job.job_id] = found[0]
        else:
            ambiguous[job.job_id] = tuple(r.ref_tag for r in found)
    return settled, ambiguous


def _cancelled_now(jobs: Iterable[ReconJob], settled: Mapping[str, ReportRow]) -> set[str]:
    """refTags of claims whose unknown cancel this very run settled (the claim is cancelled)."""
    return {j.ref_tag for j in jobs if j.kind is JobKind.CANCEL and j.job_id in settled and j.ref_tag}


def _discrepancies(
    jobs: Sequence[ReconJob], rows: Sequence[ReportRow], settled: Mapping[str, ReportRow],
    ambiguous: Mapping[str, tuple[str, ...]], held: Mapping[str, str], skew: timedelta,
) -> list[Discrepancy]:
    out: list[Discrepancy] = []
    by_tag = {row.ref_tag: row for row in rows}
    cancelled_now = _cancelled_now(jobs, settled)
    for job in jobs:
        if job.kind is not JobKind.CLAIM or job.state is not JobState.COMPLETED or job.ref_tag is None:
            continue
        row = by_tag.get(job.ref_tag)
        if row is None:
            if job.result == "APPROVED":
                out.append(Discrepancy("missingAtFund", job.ref_tag, job.job_id, _journal_side(job)))
            continue
        cancelled = job.cancelled or job.ref_tag in cancelled_now
        expected = "CAN" if cancelled else _EXPECTED_STATUS.get(job.result or "")
        if expected is not None and row.status != expected:
            out.append(Discrepancy("statusDiffers", job.ref_tag, job.job_id, _journal_side(job), row))
        elif row.total_claim_amount != job.total_claim_amount or (
            row.status == "APP" and row.total_benefit != job.total_benefit
        ):
            out.append(Discrepancy("amountDiffers", job.ref_tag, job.job_id, _journal_side(job), row))
    taken = {row.ref_tag for row in settled.values()} | {tag for tags in ambiguous.values() for tag in tags}
    out += _resolved_discrepancies(jobs, rows, held, taken, skew)
    for row in rows:
        if row.ref_tag not in held and row.ref_tag not in taken:
            out.append(Discrepancy("notInJournal", row.ref_tag, fund=row))
    return out


def _resolved_discrepancies(
    jobs: Sequence[ReconJob], rows: Sequence[ReportRow], held: Mapping[str, str], taken: set[str],
    skew: timedelta,
) -> list[Discrepancy]:
    """Resolved claims the fund contradicts; each row found is added to ``taken`` (explained)."""
    out: list[Discrepancy] = []
    for job in jobs:
        if job.kind is not JobKind.CLAIM or job.state is not JobState.RESOLVED:
            continue
        found = [r for r in _claim_candidates(job, rows, held, skew) if r.ref_tag not in taken]
        row = found[0] if len(found) == 1 else None
        side = _journal_side(job)
        if row is None:
            if job.resolution == "approved" and not found:
                out.append(Discrepancy("missingAtFund", job.ref_tag, job.job_id, side))
            continue
        taken.add(row.ref_tag)
        if (row.status == "APP") != (job.resolution == "approved"):
            out.append(Discrepancy("statusDiffers", row.ref_tag, job.job_id, side, row))
    return out


def _totals(jobs: Iterable[ReconJob], rows: Sequence[ReportRow], settled: Mapping[str, ReportRow]) -> Totals:
    """Both sides counted alike: claims the fund took that day, cents claimed, and the benefit
    the fund keeps (approved, not voided or cancelled)."""
    claims = [j for j in jobs if j.kind is JobKind.CLAIM]
    counted = [j for j in claims if j.ref_tag is not None or j.job_id in settled]
    cancelled_now = _cancelled_now(jobs, settled)
    benefit = 0
    for job in counted:
        row = settled.get(job.job_id)
        if row is not None:
            benefit += row.total_benefit if row.status == "APP" else 0
        elif job.result == "APPROVED" and not job.cancelled and job.ref_tag not in cancelled_now:
            benefit += job.total_benefit
    return Totals(
        fund=Side(
            claims=len(rows),
            claimed=sum(r.total_claim_amount for r in rows),
            benefit=sum(r.total_benefit for r in rows if r.status == "APP"),
        ),
        journal=Side(claims=len(counted), claimed=sum(j.total_claim_amount for j in counted), benefit=benefit),
    )


def reconcile(
    rows: Sequence[ReportRow] | None,
    jobs: Sequence[ReconJob],
    held: Mapping[str, str],
    *,
    skew: timedelta = DEFAULT_SKEW,
) -> Matching:
    """Hold a claims report's rows against the journal's claims and cancels of that day.

    Args:
        rows: :func:`report_rows` of the claims report, None when the day has no report.
        jobs: the terminal's claims and cancels of the day (and ``unknown`` ones near it).
        held: refTag -> the id of the claim job that holds it, for every row's refTag that any
            claim of the journal holds (on any day): a row so held settles no other job.
        skew: how far the terminal's time may fall outside a job's running window.

    Returns:
        A :class:`Matching`; nothing is settled when the report is not available (a day with no
        report proves nothing, and every unknown job of it is ambiguous with no candidates).
    """
    if rows is None:
        unknown = {j.job_id: () for j in jobs if j.state is JobState.UNKNOWN}
        return Matching(False, {}, unknown, (), _totals(jobs, (), {}))
    settled, ambiguous = _settle_unknowns(jobs, rows, held, skew)
    discrepancies = _discrepancies(jobs, rows, settled, ambiguous, held, skew)
    return Matching(True, settled, ambiguous, tuple(discrepancies), _totals(jobs, rows, settled))


def settled_result(job: ReconJob, row: ReportRow) -> Settlement:
    """The outcome an ``unknown`` job gets from the report row that settles it: the fund's
    refTag, result and amounts (INTERFACES.md "Reconciliation")."""
    benefit = row.total_benefit if row.status in ("APP", "CAN") else 0
    approved = row.status == "APP"
    return Settlement(
        result="CANCELLED" if job.kind is JobKind.CANCEL else FUND_RESULTS.get(row.status, row.status),
        ref_tag=row.ref_tag,
        fund_status=row.status,
        total_claim_amount=row.total_claim_amount,
        total_benefit=benefit,
        fund_id=row.fund_id,
        settlement_at=row.settlement_at if approved else None,
        terminal_at=row.at,
        phf_response_code=row.response_code,
        free_text=row.text,
        gap=max(row.total_claim_amount - benefit, 0) if job.kind is JobKind.CLAIM and approved else None,
    )
