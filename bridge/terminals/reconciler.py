"""HealthPoint reconciliation adapter: fetches a day's claims report through a terminal's worker
and writes what the pure matching (:mod:`bridge.healthpoint.matching`) proves into the journal.

``healthpoint.reconcile`` calls :meth:`Reconciler.reconcile`; the daemon runs
:meth:`Reconciler.run` by itself as the named task ``claimbridge.reconciliation``: each
paired terminal's previous Sydney day at ``[reconciliation] daily_at``, and the day of every
``unknown`` claim or cancel every ``retry_s`` seconds until it is settled or 7 days old
(INTERFACES.md "Reconciliation"). Each settled job gets a ``job.updated``; each run a
``reconciliation.done`` to subscribers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from bridge import healthpoint
from bridge.errors import ClaimbridgeError, FieldError, InvalidParams, JobMoved
from bridge.hub import Hub
from bridge.jobs import IllegalTransition, JobId, JobKind, JobState
from bridge.journal import JobRecord, Journal, ReconciliationStore
from bridge.journal.gaps import JournalGaps
from bridge.healthpoint.claims import ClaimRequest, Fund, RefTag, claim_total
from bridge.protocol import (
    ClaimOutcome,
    ReconcileAmbiguous,
    ReconcileDiscrepancy,
    ReconcileJournalSide,
    ReconcileResult,
    ReconcileSettled,
    ReconcileSide,
    ReconcileTotals,
    ReconciliationClaim,
    ReconciliationDone,
)
from bridge.terminals import TerminalWorker

if TYPE_CHECKING:
    from bridge.config import ReconciliationConfig

__all__ = ["MAX_AGE", "Reconciler", "daily_due", "daily_start", "reconcile_result", "settled_outcome", "sydney_day"]

log = logging.getLogger("claimbridge.reconciliation")

#: An ``unknown`` job older than this is left to an operator (INTERFACES.md: "7 days old").
MAX_AGE = timedelta(days=7)
#: How far back an accepted journal gap is reconciled at most.
GAP_DAYS = timedelta(days=31)
_KINDS = (JobKind.CLAIM, JobKind.CANCEL)


def sydney_day(moment: datetime) -> date:
    """The Sydney business day of a moment (claims reports are per Sydney day)."""
    return moment.astimezone(healthpoint.SYDNEY).date()


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), healthpoint.SYDNEY)
    return start, datetime.combine(day + timedelta(days=1), time(0), healthpoint.SYDNEY)


def _terminal_result(job: JobRecord) -> str | None:
    """The terminal's ``result`` word of a claim or cancel job, if it has one."""
    result = job.result_as(ClaimOutcome)
    return str(result.result) if result is not None and result.result else None


class Reconciler:
    """Holds claims reports against the journal; one run at a time.

    Args:
        journal: the durable job store.
        hub: where ``job.updated`` and ``reconciliation.done`` go.
        workers: terminal name -> worker (the daemon's live table).
        now: the daemon's business clock.
        skew: how far a terminal's clock may stray from the daemon's.
    """

    def __init__(
        self,
        journal: Journal,
        hub: Hub,
        workers: Mapping[str, TerminalWorker],
        now: Callable[[], datetime],
        skew: timedelta = healthpoint.DEFAULT_SKEW,
    ) -> None:
        self.journal = journal
        self.store = ReconciliationStore(journal)
        self.hub = hub
        self.workers = workers
        self.now = now
        self.skew = skew
        self._lock = asyncio.Lock()

    async def reconcile(self, terminal: str, day: date) -> ReconcileResult:
        """``healthpoint.reconcile``: the Reconciliation of INTERFACES.md for that terminal and day.

        Raises:
            InvalidParams: no such terminal.
            TerminalNotPaired: the terminal was never paired.
            TemporarilyUnavailable: its page is not loaded.
            TerminalError: the report did not come back.
        """
        worker = self.workers.get(terminal)
        if worker is None:
            names = ", ".join(sorted(self.workers)) or "none configured"
            raise InvalidParams((FieldError("terminal", f"unknown terminal {terminal!r} (known: {names})"),))
        async with self._lock:
            report = await worker.reconciliation(day.isoformat(), "claims")
            jobs, records = await self._jobs(terminal, day)
            rows = healthpoint.report_rows(report)
            held = await self._held(terminal, [r.ref_tag for r in rows or ()])
            matching = healthpoint.reconcile(rows, jobs, held, skew=self.skew)
            settled: list[ReconcileSettled] = []
            for job in jobs:
                row = matching.settled.get(job.job_id)
                if row is None:
                    continue
                done = await self._settle(records[job.job_id], healthpoint.settled_result(job, row), day)
                if done is not None:
                    settled.append(done)
            out = reconcile_result(terminal, day, matching, settled)
            await self.store.save_reconciliation(terminal, day.isoformat(), out)
        self.hub.publish(ReconciliationDone(
            terminal=terminal, date=day.isoformat(), settled=len(settled), discrepancies=len(out.discrepancies),
        ))
        return out

    async def _jobs(self, terminal: str, day: date) -> tuple[list[healthpoint.ReconJob], dict[str, JobRecord]]:
        """The terminal's claims and cancels of the day, as the matching sees them."""
        start, end = _day_bounds(day)
        records = await self.store.jobs_created_between(terminal, _KINDS, start - self.skew, end + self.skew)
        by_id: dict[str, JobRecord] = {r.job_id: r for r in records}
        cancelled = {
            r.parent_job_id for r in records
            if r.kind is JobKind.CANCEL and r.state is JobState.COMPLETED and _terminal_result(r) == "CANCELLED"
        }
        jobs = []
        for record in records:
            claim = record
            if record.kind is JobKind.CANCEL:
                if record.parent_job_id is None:
                    continue
                claim = by_id.get(record.parent_job_id) or await self.journal.get(record.parent_job_id)
            result = record.result_as(ClaimOutcome)
            claimed = claim.result_as(ClaimOutcome)
            ref_tag = claimed.refTag if claimed is not None else None
            open_ended = record.state in (JobState.UNKNOWN, JobState.RESOLVED)
            window = await self._window(record) if open_ended else None
            resolution = result.resolution if result is not None and record.state is JobState.RESOLVED else None
            request = claim.request if isinstance(claim.request, ClaimRequest) else None  # a claim's, always
            jobs.append(healthpoint.ReconJob(
                job_id=record.job_id,
                kind=record.kind,
                state=record.state,
                provider_id=request.providerId if request is not None else "",
                total_claim_amount=claim_total(request.items) if request is not None else 0,
                ref_tag=str(ref_tag) if ref_tag else None,
                result=_terminal_result(record) if record.state is not JobState.UNKNOWN else None,
                total_benefit=(result.totalBenefit or 0) if result is not None else 0,
                window=window,
                cancelled=record.job_id in cancelled,
                resolution=resolution.outcome if resolution is not None else None,
            ))
        return jobs, by_id

    async def _window(self, record: JobRecord) -> tuple[datetime, datetime]:
        """When an unknown job was at the terminal: from ``running`` to ``unknown``."""
        start, end = record.created_at, record.updated_at
        for event in await self.journal.events(record.job_id):
            if event.get("to_state") == str(JobState.RUNNING):
                start = datetime.fromisoformat(str(event["at"]))
            elif event.get("to_state") == str(JobState.UNKNOWN):
                end = datetime.fromisoformat(str(event["at"]))
        return start, max(start, end)

    async def _held(self, terminal: str, ref_tags: list[str]) -> dict[str, JobId]:
        """refTag -> the claim job of this terminal that holds it (refTags are per terminal)."""
        held: dict[str, JobId] = {}
        for job in await self.store.jobs_with_ref_tags(ref_tags):
            if job.terminal == terminal and job.kind is JobKind.CLAIM:
                claimed = job.result_as(ClaimOutcome)
                held[str(claimed.refTag if claimed is not None else None)] = job.job_id
        return held

    async def _settle(self, record: JobRecord, settlement: healthpoint.Settlement, day: date) -> ReconcileSettled | None:
        current = await self.journal.get(record.job_id)
        if current.state is not JobState.UNKNOWN:
            return None  # the terminal (continueLastTransaction) or an operator got there first
        note = f"settled by the fund's claims report of {day.isoformat()} (refTag {settlement.ref_tag})"
        outcome = settled_outcome(settlement)
        try:
            done = await self.journal.settle(record.job_id, JobState.COMPLETED, result=outcome, note=note)
        except (IllegalTransition, JobMoved):
            return None  # settled meanwhile (checked in the journal's own transaction)
        worker = self.workers.get(done.terminal or "")
        question = worker.pending_question(done.job_id) if worker is not None else None
        self.hub.publish_job(done, question)
        log.info("job %s settled by the claims report of %s: %s", done.job_id, day, settlement.result)
        return ReconcileSettled(
            jobId=done.job_id, state=done.state, result=done.result_as(ClaimOutcome) or outcome,
            refTag=RefTag(settlement.ref_tag),
        )

    # -- automatic runs --------------------------------------------------------------------------

    async def unknown_days(self) -> list[tuple[str, date]]:
        """(terminal, Sydney day) of every ``unknown`` claim or cancel younger than 7 days."""
        cutoff = self.now() - MAX_AGE
        days: dict[tuple[str, date], None] = {}
        for job in await self.journal.list_jobs(states=[JobState.UNKNOWN], oldest_first=True):
            if job.kind in _KINDS and job.terminal is not None and job.created_at >= cutoff:
                days[(job.terminal, sydney_day(job.created_at))] = None
        return list(days)

    def _in_use(self, terminal: str) -> bool:
        """Whether a PMS is using the terminal now (a job running or waiting, a pairing)."""
        worker = self.workers.get(terminal)
        return worker is not None and (worker.busy or worker.queued > 0)

    async def _try(self, terminal: str, day: date) -> bool:
        """An automatic run for one terminal and day; False when it must be tried again later:
        the terminal is in use (a report never holds a terminal a PMS waits for) or it failed."""
        if self._in_use(terminal):
            log.info("reconciliation of %s for %s put off: the terminal is in use", terminal, day)
            return False
        try:
            await self.reconcile(terminal, day)
        except ClaimbridgeError as exc:
            log.info("reconciliation of %s for %s not done now: %s", terminal, day, exc)
        except Exception:  # a bug: logged whole, and the automatic runs live on (the next retry tries again)
            log.exception("reconciliation of %s for %s failed", terminal, day)
        return True

    async def run(self, config: ReconciliationConfig) -> None:
        """Forever: the daily run at ``daily_at`` (Sydney), and the unknown jobs' days every ``retry_s``.

        A daemon started after ``daily_at`` counts today's daily run as done: it reconciles
        the previous day from the next morning (the ``retry_s`` runs cover its unknown jobs).
        """
        loop = asyncio.get_running_loop()
        done = daily_start(self.now(), config.daily_at)
        next_retry = loop.time() + config.retry_s
        gap_pending = True
        put_off: dict[str, date] = {}  # daily runs waiting for their terminal to be free
        while True:
            if gap_pending:  # an accepted journal gap: what the fund saw that the journal lost
                gap_pending = not await self.reconcile_gap()
            pause = 1.0 if put_off else 30.0
            await asyncio.sleep(min(config.retry_s, pause, max(next_retry - loop.time(), 0.0)))
            day = daily_due(self.now(), config.daily_at, done)
            if day is not None:
                done = day + timedelta(days=1)
                put_off.update({name: day for name, worker in self.workers.items() if worker.paired})
            for name, pending in sorted(put_off.items()):
                if await self._try(name, pending):
                    del put_off[name]
            if loop.time() >= next_retry:
                next_retry = loop.time() + config.retry_s
                for name, unknown_day in await self.unknown_days():
                    await self._try(name, unknown_day)


    async def reconcile_gap(self) -> bool:
        """Reconcile every paired terminal's claims reports for the days of an accepted journal
        gap (:mod:`bridge.journal.gaps`), from the day of the last change the journal kept to
        today, then close the gap. Returns whether nothing is left to do (False: try again later).
        """
        gaps = JournalGaps(self.journal)
        gap = await gaps.load()
        if gap is None or gap.state != "accepted":
            return True
        today = sydney_day(self.now())
        first = sydney_day(datetime.fromisoformat(gap.since)) if gap.since else today - MAX_AGE
        first = max(first, today - GAP_DAYS)
        lost = 0
        if not any(worker.paired for worker in self.workers.values()):
            return False  # no report can be fetched yet: the gap stays until a terminal is paired
        try:
            for name, worker in sorted(self.workers.items()):
                if not worker.paired:
                    continue
                day = first
                while day <= today:
                    report = await self.reconcile(name, day)
                    missing = [d for d in report.discrepancies if d.kind == "notInJournal"]
                    if missing:
                        log.warning("journal gap: %s on %s: %d claim(s) the fund saw are not in the journal: %s",
                                    name, day, len(missing), ", ".join(str(d.refTag) for d in missing))
                    lost += len(missing)
                    day += timedelta(days=1)
        except ClaimbridgeError as exc:
            log.info("reconciliation of the journal gap not done now: %s", exc)
            return False
        await gaps.reconciled(f"days {first}..{today}: {lost} claim(s) notInJournal")
        log.warning("journal gap reconciled (days %s..%s): %d claim(s) notInJournal", first, today, lost)
        return True


def settled_outcome(settlement: healthpoint.Settlement) -> ClaimOutcome:
    """The journal's result of a job the fund's report settled, marked ``source: "reconciliation"``
    (INTERFACES.md); ``gap`` is given only for a claim the fund approved."""
    outcome = ClaimOutcome(
        result=settlement.result,
        refTag=RefTag(settlement.ref_tag),
        fundStatus=settlement.fund_status,
        totalClaimAmount=settlement.total_claim_amount,
        totalBenefit=settlement.total_benefit,
        fund=Fund(id=settlement.fund_id, name=None) if settlement.fund_id else None,
        settlementAt=settlement.settlement_at,
        terminalAt=settlement.terminal_at,
        phfResponseCode=settlement.phf_response_code,
        freeText=settlement.free_text,
        source="reconciliation",
    )
    return outcome if settlement.gap is None else outcome.model_copy(update={"gap": settlement.gap})


def _journal_side(side: healthpoint.JournalSide) -> ReconcileJournalSide:
    # Only a resolved job's side says how it was resolved.
    if side.state is JobState.RESOLVED:
        return ReconcileJournalSide(
            state=side.state, result=side.result, totalClaimAmount=side.total_claim_amount,
            totalBenefit=side.total_benefit, resolution=side.resolution,
        )
    return ReconcileJournalSide(
        state=side.state, result=side.result, totalClaimAmount=side.total_claim_amount, totalBenefit=side.total_benefit,
    )


def _discrepancy(found: healthpoint.Discrepancy) -> ReconcileDiscrepancy:
    # A side the discrepancy has not is left out of the wire (not sent as null).
    ref_tag = RefTag(found.ref_tag) if found.ref_tag is not None else None
    fund = ReconciliationClaim.model_validate(found.fund.raw) if found.fund is not None else None
    if found.job_id is None or found.journal is None:  # notInJournal: the fund's row only
        return ReconcileDiscrepancy(kind=found.kind, refTag=ref_tag, fund=fund)
    job_id, journal = JobId(found.job_id), _journal_side(found.journal)
    if fund is None:  # missingAtFund: the journal's side only
        return ReconcileDiscrepancy(kind=found.kind, jobId=job_id, refTag=ref_tag, journal=journal)
    return ReconcileDiscrepancy(kind=found.kind, jobId=job_id, refTag=ref_tag, journal=journal, fund=fund)


def _side(side: healthpoint.Side) -> ReconcileSide:
    return ReconcileSide(claims=side.claims, claimed=side.claimed, benefit=side.benefit)


def reconcile_result(
    terminal: str, day: date, matching: healthpoint.Matching, settled: Sequence[ReconcileSettled],
) -> ReconcileResult:
    """The pure matching's findings as ``healthpoint.reconcile``'s answer, with the jobs it settled."""
    return ReconcileResult(
        terminal=terminal,
        date=day.isoformat(),
        available=matching.available,
        settled=tuple(settled),
        discrepancies=tuple(_discrepancy(found) for found in matching.discrepancies),
        ambiguous=tuple(
            ReconcileAmbiguous(jobId=JobId(job_id), refTags=tags) for job_id, tags in matching.ambiguous.items()
        ),
        totals=ReconcileTotals(fund=_side(matching.totals.fund), journal=_side(matching.totals.journal)),
    )


def _at(daily_at: str) -> time:
    hour, minute = (int(part) for part in daily_at.split(":"))
    return time(hour, minute)


def daily_start(now: datetime, daily_at: str) -> date:
    """The Sydney day whose daily run a daemon starting at ``now`` counts as done already."""
    local = now.astimezone(healthpoint.SYDNEY)
    return local.date() if local.time() >= _at(daily_at) else local.date() - timedelta(days=1)


def daily_due(now: datetime, daily_at: str, done: date) -> date | None:
    """The previous Sydney day to reconcile now, or None: the daily run is due once the Sydney
    time passes ``daily_at`` on a day after ``done`` (the day whose run was made last)."""
    local = now.astimezone(healthpoint.SYDNEY)
    if local.date() > done and local.time() >= _at(daily_at):
        return local.date() - timedelta(days=1)
    return None

