"""What each protocol method does, above any transport.

The websocket server and the MQTT link hand this module validated params models (from
:mod:`bridge.protocol`) and a :class:`~bridge.hub.Peer` to notify; it talks to the journal and
the terminal workers and returns each method's result model, which the dispatcher serialises.
Each handler is annotated with exactly the params model and result type that
:data:`bridge.protocol.METHODS` documents (a unit test holds them together). Errors are raised
as :class:`~bridge.errors.ClaimbridgeError` subclasses and mapped to JSON-RPC codes by the
dispatcher, never here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from bridge import healthpoint
from bridge.healthpoint import JobView, Refusal
from bridge.errors import (
    FieldError,
    InvalidParams,
    JobNotFound,
    NotAllowedNow,
    TemporarilyUnavailable,
    TerminalNotPaired,
)
from bridge.hub import Hub, Peer, client_of
from bridge.jobs import ANSWERED_STATES, JobKind, JobState, is_final
from bridge.journal import JobLinks, JobRecord, Journal
from bridge.journal.changes import JobChanges
from bridge.protocol import (
    AbortResult,
    AnswerResult,
    CancelParams,
    ClaimParams,
    EventsSubscribeParams,
    GapParams,
    HealthResult,
    HistoryEntry,
    Job,
    JobPage,
    JobAbortParams,
    JobAnswerParams,
    JobGetParams,
    JobQuestion,
    JobListParams,
    JobRequest,
    JobResolveParams,
    PairResult,
    RebateEstimateParams,
    ReconcileParams,
    ReconcileResult,
    ReconciliationParams,
    ReconciliationReport,
    RefundParams,
    Resolution,
    SubscribeResult,
    TerminalInfo,
    TerminalPairParams,
    TerminalUnpairParams,
    UnpairResult,
    job_from_record,
    outcome_of,
    result_data,
)
from bridge.terminals.admin import TerminalAdmin
from bridge.terminals.reconciler import Reconciler
from bridge.terminals.views import BrowserState, job_view
from bridge.terminals import TerminalWorker, history_of

__all__ = ["Service", "answered_by"]

#: Creates (and starts) a worker for a terminal that ``terminal.pair`` names for the first time.
WorkerFactory = Callable[[str, int, int], Awaitable[TerminalWorker]]


def answered_by(operator: str | None, peer: Peer | None) -> str | None:
    """History's ``by`` for an answer or an abort: the client, and the operator it named
    (``"Dr Jones via engineer"``)."""
    client = client_of(peer)
    if client is None:
        return operator
    return f"{operator} via {client.name}" if operator else client.name


class Service:
    """The daemon's methods.

    Args:
        journal: the durable job store.
        hub: notification fan-out.
        workers: terminal name -> worker (shared with the daemon, which adds to it).
        new_worker: makes a worker for a new terminal.
        now: the daemon's clock (aware datetimes); tests freeze it.
        version: reported by ``system.health``.
    """

    def __init__(
        self,
        journal: Journal,
        hub: Hub,
        workers: dict[str, TerminalWorker],
        new_worker: WorkerFactory,
        now: Callable[[], datetime],
        version: str,
        browser_state: Callable[[], BrowserState] = BrowserState,
        iclient_state: Callable[[], Mapping[str, object]] | None = None,
        configured: frozenset[str] = frozenset(),
        gate: Callable[[str | None], None] | None = None,
    ) -> None:
        self.journal = journal
        self.hub = hub
        self.workers = workers
        self._new_worker = new_worker
        self.now = now
        self.version = version
        self._browser_state = browser_state
        self._iclient_state = iclient_state or (lambda: {"ok": True, "since": now().isoformat()})
        #: Raises -32005 when new work for a terminal (None: journal only) cannot be taken now.
        self._gate: Callable[[str | None], None] = gate or (lambda _terminal: None)
        self._started = time.monotonic()
        self.accepting = True
        self._money = asyncio.Lock()
        self.reconciler = Reconciler(journal, hub, workers, now)
        self._links = JobLinks(journal)
        self.admin = TerminalAdmin(journal, hub, workers, new_worker, self._gate, configured)
        self._changes = JobChanges(journal)

    # -- helpers -------------------------------------------------------------------------------

    def _worker(self, name: str | None, field: str = "terminal") -> TerminalWorker:
        if name is None:
            if len(self.workers) == 1:
                return next(iter(self.workers.values()))
            names = ", ".join(sorted(self.workers)) or "none configured"
            raise InvalidParams((FieldError(field, f"is required when several terminals exist ({names})"),))
        worker = self.workers.get(name)
        if worker is None:
            names = ", ".join(sorted(self.workers)) or "none configured"
            raise InvalidParams((FieldError(field, f"unknown terminal {name!r} (known: {names})"),))
        return worker

    def _check_accepting(self) -> None:
        if not self.accepting:
            raise TemporarilyUnavailable("shuttingDown")

    async def _existing(self, request_id: str) -> JobRecord | None:
        try:
            return await self.journal.get_by_request_id(request_id)
        except JobNotFound:
            return None

    async def _journal_job(
        self,
        peer: Peer | None,
        kind: JobKind,
        request_id: str,
        terminal: TerminalWorker,
        request: JobRequest,
        parent_job_id: str | None = None,
    ) -> tuple[JobRecord, bool]:
        """Journal a job (or find it by requestId) and queue it; the record, and whether this call
        created it."""
        client = client_of(peer)
        job, created = await self.journal.create_job(
            kind=kind, request_id=request_id, terminal=terminal.name, request=request, parent_job_id=parent_job_id,
            by=client.name if client is not None else None,
        )
        self._follow(peer, job, terminal, created)
        return job, created

    def _follow(self, peer: Peer | None, job: JobRecord, terminal: TerminalWorker, created: bool) -> None:
        """Make ``peer`` an owner of the job; queue a new one, or replay a pending question to
        a client that re-sent the requestId (after a reconnect it has not seen it)."""
        if peer is not None and not is_final(job.state):
            self.hub.own(job.job_id, peer)
        if created:  # queued first: the worker's turn comes before the notification's send
            terminal.enqueue(job.job_id, job)
            self.hub.publish_job(job)
        elif peer is not None:
            question = terminal.pending_question(job.job_id)
            if question is not None:
                self.hub.send(peer, JobQuestion(jobId=job.job_id, text=question.text, options=question.options))

    async def wait(self, job: JobRecord | str) -> Job:
        """The job once it is completed, failed, unknown or resolved.

        ``job``: its id, or the record of a job this call has just journalled and queued, with no
        await since: nothing can have changed it yet, so the journal is not read again.
        """
        job_id = job if isinstance(job, str) else job.job_id
        waiter = self.hub.wait(job_id)
        if isinstance(job, str):
            job = await self.journal.get(job_id)
        if job.state in ANSWERED_STATES:
            waiter.cancel()
            self.hub.drop_waiter(job_id, waiter)
            return job_from_record(job)
        return await waiter  # the Job its ``job.updated`` carried

    async def _related(self, job: JobRecord) -> list[JobView]:
        return [job_view(j) for j in await self._links.related(job.job_id)]

    @staticmethod
    def _refuse(refusal: Refusal | None) -> None:
        if refusal is not None:
            raise NotAllowedNow(refusal.reason, refusal.message, refusal.data)

    # -- HealthPoint ---------------------------------------------------------------------------

    async def claim(self, params: ClaimParams, peer: Peer | None) -> Job:
        """``healthpoint.claim``."""
        return await self._claim_like(JobKind.CLAIM, params, peer)

    async def rebate_estimate(self, params: RebateEstimateParams, peer: Peer | None) -> Job:
        """``healthpoint.rebateEstimate``."""
        return await self._claim_like(JobKind.REBATE_ESTIMATE, params, peer)

    async def _claim_like(self, kind: JobKind, params: ClaimParams | RebateEstimateParams, peer: Peer | None) -> Job:
        worker = self._worker(params.terminal)
        try:
            self._check_accepting()
            if not worker.paired:
                raise TerminalNotPaired(worker.name)
            self._gate(worker.name)
        except (TemporarilyUnavailable, TerminalNotPaired):
            # A repeated requestId is answered whatever the state of the daemon: it is not new.
            # (Looked up only on refusal: a claim that may go ahead costs no extra journal read.)
            if await self._existing(params.requestId) is None:
                raise
        request = params.model_copy(update={"terminal": worker.name})
        job, created = await self._journal_job(peer, kind, params.requestId, worker, request)
        return await self.wait(job if created else job.job_id)

    async def cancel(self, params: CancelParams, peer: Peer | None) -> Job:
        """``healthpoint.cancel``: the original payload and refTag come from the journal."""

        async def admit(claim: JobRecord) -> CancelParams:
            view = job_view(claim)
            self._refuse(healthpoint.refuse_cancel(view, await self._related(claim)))
            self._refuse(healthpoint.refuse_late_cancel(view, claim.updated_at, self.now()))
            return params

        return await self._money_job(peer, JobKind.CANCEL, params.requestId, params.claimJobId, params, admit)

    async def gap(self, params: GapParams, peer: Peer | None) -> Job:
        """``payment.gap``: a purchase linked to the claim by its transactionId."""
        async def admit(claim: JobRecord) -> GapParams:
            view = job_view(claim)
            self._refuse(healthpoint.refuse_gap(view, await self._related(claim), params.amount))
            return params.model_copy(update={"amount": healthpoint.gap_amount(view, params.amount)})

        return await self._money_job(peer, JobKind.GAP, params.requestId, params.claimJobId, params, admit)

    async def refund(self, params: RefundParams, peer: Peer | None) -> Job:
        """``payment.refund``: iClient ``initiateRefund`` of (part of) an approved gap payment."""
        async def admit(payment: JobRecord) -> RefundParams:
            view = job_view(payment)
            related = await self._related(payment)
            self._refuse(healthpoint.refuse_refund(view, related, params.amount))
            return params.model_copy(update={"amount": healthpoint.refund_amount(view, related, params.amount)})

        return await self._money_job(peer, JobKind.REFUND, params.requestId, params.paymentJobId, params, admit)

    async def _money_job(
        self,
        peer: Peer | None,
        kind: JobKind,
        request_id: str,
        parent_id: str,
        request: CancelParams | GapParams | RefundParams,
        admit: Callable[[JobRecord], Awaitable[CancelParams | GapParams | RefundParams]],
    ) -> Job:
        """A cancel, gap or refund made against a journalled job: ``admit`` applies its guards
        (and returns the request with its defaults filled in); guards and journalling run under one lock, so two sent together
        cannot both pass. A repeated requestId is not new: no guard applies, and it keeps the
        amount it was journalled with."""
        async with self._money:
            existing = await self._existing(request_id)
            parent = await self.journal.get(parent_id)
            if existing is None:
                self._check_accepting()
                request = await admit(parent)
                self._gate(parent.terminal)
            else:
                request = _keep_default_amount(request, existing)
            if parent.terminal is None:
                raise NotAllowedNow("noTerminal", "the job has no terminal", {"jobId": parent.job_id})
            job, _created = await self._journal_job(
                peer, kind, request_id, self._worker(parent.terminal), request, parent.job_id,
            )
        return await self.wait(job.job_id)  # read back: releasing the lock lies between

    async def reconciliation(self, params: ReconciliationParams, peer: Peer | None) -> ReconciliationReport:
        """``healthpoint.reconciliation``."""
        report = await self._worker(params.terminal).reconciliation(params.date.isoformat(), params.type)
        return ReconciliationReport.model_validate(report)

    async def reconcile(self, params: ReconcileParams, peer: Peer | None) -> ReconcileResult:
        """``healthpoint.reconcile``: the day's claims report held against the journal."""
        return await self.reconciler.reconcile(params.terminal, params.date)

    # -- jobs ----------------------------------------------------------------------------------

    async def _job_worker(self, job_id: str) -> tuple[JobRecord, TerminalWorker | None]:
        job = await self.journal.get(job_id)
        return job, self.workers.get(job.terminal or "")

    def _check_owner(self, job_id: str, peer: Peer | None, operator: str | None = None) -> None:
        """Who may answer or abort (INTERFACES.md "Who may answer"): the client that submitted
        the job, any client that re-sent its requestId, or any client naming an ``operator``."""
        if peer is not None and operator is None and not self.hub.owns(job_id, peer):
            raise NotAllowedNow(
                "notYourJob",
                "this job belongs to another client; re-send its requestId to follow it, or name an operator",
                {"jobId": job_id},
            )

    async def answer(self, params: JobAnswerParams, peer: Peer | None) -> AnswerResult:
        """``job.answer``."""
        job, worker = await self._job_worker(params.jobId)
        if job.state in ANSWERED_STATES:
            # Ended (or unknown: the terminal no longer asks): say so to anyone, the submitter
            # included, whose ownership the hub forgets when the job ends.
            raise NotAllowedNow("jobEnded", f"the job has ended ({job.state}): no question is pending",
                                {"jobId": job.job_id, "state": str(job.state)})
        self._check_owner(job.job_id, peer, params.operator)
        if worker is None:
            raise NotAllowedNow("noQuestion", "no question is pending for this job", {"jobId": job.job_id})
        await worker.answer(job.job_id, params.answer, answered_by(params.operator, peer))
        return AnswerResult(accepted=True)

    async def abort(self, params: JobAbortParams, peer: Peer | None) -> AbortResult:
        """``job.abort``."""
        job, worker = await self._job_worker(params.jobId)
        if is_final(job.state):
            return AbortResult(aborted=False)  # it ended (and its owners were let go): nothing to abort
        self._check_owner(job.job_id, peer, params.operator)
        return AbortResult(aborted=bool(worker and await worker.abort(job.job_id, answered_by(params.operator, peer))))

    def _job(self, job: JobRecord, history: list[HistoryEntry] | None = None) -> Job:
        worker = self.workers.get(job.terminal or "")
        question = worker.pending_question(job.job_id) if worker is not None else None
        return job_from_record(job, question, history)

    async def get(self, params: JobGetParams, peer: Peer | None) -> Job:
        """``job.get`` by jobId or requestId; ``history: true`` adds the audit trail."""
        if params.jobId:
            job = await self.journal.get(params.jobId)
        elif params.requestId:
            job = await self.journal.get_by_request_id(params.requestId)
        else:  # the params model requires one of them; say so rather than guess
            raise InvalidParams((FieldError("params", "give exactly one of jobId or requestId"),))
        history = history_of(await self.journal.events(job.job_id)) if params.history else None
        return self._job(job, history)

    async def list_jobs(self, params: JobListParams, peer: Peer | None) -> list[Job] | JobPage:
        """``job.list``; with ``since``, a page of the jobs changed after it (catching up)."""
        if params.since is not None:
            page = await self._changes.since(params.since, params.limit or 1000, state=params.state,
                                             terminal=params.terminal, kind=params.kind)
            return JobPage(jobs=tuple(self._job(j) for j in page.jobs), nextSince=page.next_since, more=page.more)
        jobs = await self.journal.list_jobs(
            states=[params.state] if params.state else None, terminal=params.terminal, kind=params.kind,
            limit=params.limit or 100,
        )
        return [self._job(j) for j in jobs]

    async def resolve(self, params: JobResolveParams, peer: Peer | None) -> Job:
        """``job.resolve``: an operator settles an ``unknown`` job, with a note."""
        job = await self.journal.get(params.jobId)
        if job.state is not JobState.UNKNOWN:
            raise NotAllowedNow("notUnknown", "only an unknown job can be resolved", {"jobId": job.job_id, "state": str(job.state)})
        resolution = Resolution(outcome=params.outcome, note=params.note, at=self.now())
        # The result it had (if any) with the resolution; its receipts stay with it.
        result, _ = outcome_of(job.kind, {**result_data(job.result), "resolution": resolution.model_dump(mode="json", exclude_unset=True)})
        # From ``unknown`` only, checked in the write's transaction: of two resolves (or a resolve
        # and the terminal's or the claims report's outcome) the second is -32004 jobEnded.
        moved = await self.journal.move(
            job.job_id, JobState.RESOLVED, result=result, receipts=job.receipts, note=f"{params.outcome}: {params.note}",
            from_state=JobState.UNKNOWN,
        )
        # A row that does not fit is not sent; job_from_record then raises it (-32603).
        return self.hub.publish_job(moved) or job_from_record(moved)

    # -- terminals -----------------------------------------------------------------------------

    async def terminals(self, params: None, peer: Peer | None) -> list[TerminalInfo]:
        """``terminal.list``."""
        out = []
        for name, w in sorted(self.workers.items()):
            pairing = await self.journal.pairing(name)
            out.append(TerminalInfo.model_validate({
                "name": name,
                "mid": pairing.mid if pairing else w.mid,
                "tid": pairing.tid if pairing else w.tid,
                "paired": pairing is not None,
                "busy": w.busy,
                "queued": w.queued,
                "pageReady": w.ready,
            }))
        return out

    async def pair(self, params: TerminalPairParams, peer: Peer | None) -> PairResult:
        """``terminal.pair`` (:class:`~bridge.terminals.admin.TerminalAdmin`)."""
        self._check_accepting()
        return await self.admin.pair(params, peer)

    async def unpair(self, params: TerminalUnpairParams, peer: Peer | None) -> UnpairResult:
        """``terminal.unpair`` (:class:`~bridge.terminals.admin.TerminalAdmin`)."""
        self._check_accepting()
        return await self.admin.unpair(self._worker(params.terminal))

    # -- system --------------------------------------------------------------------------------

    async def health(self, params: None, peer: Peer | None) -> HealthResult:
        """``system.health``: ``journal.ok`` and ``browser.ok`` are measured (the write probe,
        the pages' liveness probes), and the answer comes even while the disk refuses."""
        try:
            size = await self.journal.size_bytes()
            jobs = await self.journal.count_by_state()
        except TemporarilyUnavailable:
            size, jobs = 0, {}
        writable = self.journal.writable
        journal_message = f"open, {size} bytes" if writable else f"writes fail: {self.journal.last_error}"
        browser = self._browser_state()
        up = bool(browser.get("ok", browser.get("up")))
        return HealthResult.model_validate({
            "version": self.version,
            "uptimeS": round(time.monotonic() - self._started, 3),
            "terminals": await self.terminals(None, None),
            "journal": {
                "ok": writable,
                "message": journal_message,
                "path": str(self.journal.path),
                "sizeBytes": size,
                "jobs": jobs,
            },
            "browser": {
                "ok": up,
                "message": "running" if up else "a page is hung or the browser is restarting",
                **browser,
            },
            "iclient": self._iclient_state(),
        })

    async def subscribe(self, params: EventsSubscribeParams, peer: Peer | None) -> SubscribeResult:
        """``events.subscribe``."""
        if peer is None:
            return SubscribeResult(topics=())
        if params.since is None:
            return SubscribeResult(topics=tuple(self.hub.subscribe(peer, list(params.topics))))
        topics, replayed = await self.hub.catch_up(peer, list(params.topics), params.since)
        return SubscribeResult(topics=tuple(topics), replayed=replayed)

    def handlers(self) -> Mapping[str, Callable[[Any, Peer | None], Awaitable[Any]]]:
        """Method name -> handler; the dispatcher's table (``rpc.discover`` is the dispatcher's)."""
        table: dict[str, Callable[[Any, Peer | None], Awaitable[Any]]] = {
            "healthpoint.claim": self.claim,
            "healthpoint.rebateEstimate": self.rebate_estimate,
            "healthpoint.cancel": self.cancel,
            "payment.gap": self.gap,
            "payment.refund": self.refund,
            "healthpoint.reconciliation": self.reconciliation,
            "healthpoint.reconcile": self.reconcile,
            "job.answer": self.answer,
            "job.abort": self.abort,
            "job.get": self.get,
            "job.list": self.list_jobs,
            "job.resolve": self.resolve,
            "terminal.list": self.terminals,
            "terminal.pair": self.pair,
            "terminal.unpair": self.unpair,
            "system.health": self.health,
            "events.subscribe": self.subscribe,
        }
        return table


def _keep_default_amount(
    request: CancelParams | GapParams | RefundParams, existing: JobRecord,
) -> CancelParams | GapParams | RefundParams:
    """A re-sent gap or refund without ``amount`` means the default it was given the first time:
    the journalled request holds it, and the same requestId must carry the same payload."""
    kept = existing.request
    if isinstance(request, CancelParams) or request.amount is not None:
        return request
    if isinstance(kept, (GapParams, RefundParams)) and kept.amount is not None:
        return request.model_copy(update={"amount": kept.amount})
    return request
