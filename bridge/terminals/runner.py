"""One terminal's worker: strictly one transaction at a time, in FIFO order.

The worker owns no I/O of its own and holds no HealthPoint rule: each job is a
:class:`~bridge.healthpoint.operation.HealthPointOperation`, which says what to call and what
every event the page relays means; the worker feeds it the events and carries out the effects
it returns. It drives a :class:`~bridge.browser.page.TerminalPage` and writes every step to the :class:`~bridge.journal.Journal` *before* it happens: ``running`` is
committed before iClient is called, and whatever the page reports afterwards is committed
before the caller hears of it. If the page or the browser dies while a job is ``running``, the
job becomes ``unknown`` and is never sent again; :mod:`bridge.terminals.recovery` then tries to
re-attach to the terminal's last transaction, which completes the job only when the operation
finds it provably the same transaction, with a definite outcome.
"""

from __future__ import annotations

import asyncio
import logging

from bridge.healthpoint.reconciliation import Reconciliation
from bridge.healthpoint.operation import (
    Answer, Ask, Call, Finish, HealthPointOperation, LeaveUnknown, NotRunnable, Receipt, Status,
)
from bridge.lifecycle import iclient_unreachable
from bridge.errors import (ClaimbridgeError, JobMoved, JournalBehind, JournalUnavailable, NotAllowedNow,
                           TemporarilyUnavailable, TerminalError, TerminalNotPaired, to_jsonrpc_error)
from bridge.hub import Hub
from bridge.jobs import IllegalTransition, JobKind, JobState
from bridge.journal import JobRecord, Journal, PairingRecord
from bridge.journal.held import outcome_json
from bridge.browser.page import Operation, PageEvent, TerminalPage
from bridge.terminals.audit import AuditTrail, question_detail
from bridge.protocol import JobError, JobQuestion, JobResult, JobStatus, PendingQuestion, Receipts, TerminalPairing, fitted_outcome
from bridge.terminals.operations import REPORT_TIMEOUT_S, healthpoint_operation, next_op_id, pairing_keys, read_reconciliation
from bridge.terminals.pairing import pair_on_page
from bridge.terminals.recovery import Recovery, wait_ready

__all__ = ["TerminalWorker"]

#: Transactions a page serves before it is replaced by a fresh one (when the terminal is idle).
RECYCLE_AFTER = 50

log = logging.getLogger("claimbridge.terminals")


class TerminalWorker:
    """Runs one terminal's jobs.

    Args:
        name: the terminal's name in the config and the protocol.
        journal: the durable job store.
        page: the terminal's page.
        hub: where notifications go.
        transaction_timeout_s: how long a transaction may go without finishing before it is
            reported ``unknown`` (the terminal keeps its own timeouts too).
    """

    def __init__(
        self,
        name: str,
        journal: Journal,
        page: TerminalPage,
        hub: Hub,
        transaction_timeout_s: float = 600.0,
        pairing_timeout_s: float = 90.0,
    ) -> None:
        self.name = name
        self.journal = journal
        self.page = page
        self.hub = hub
        self.transaction_timeout_s = transaction_timeout_s
        self.pairing_timeout_s = pairing_timeout_s
        self.mid: int | None = None
        self.tid: int | None = None
        self.paired = False
        self.current_job: str | None = None
        self.loading = False  # True while the page is being (re)opened
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._fresh: dict[str, JobRecord] = {}
        self._op: Operation | None = None
        #: The HealthPoint operation of the transaction on the terminal now.
        self._hp: HealthPointOperation | None = None
        self._audit = AuditTrail(journal)
        self._lock = asyncio.Lock()
        self._pairing_cache: PairingRecord | None = None
        self._page_ready = asyncio.Event()
        self._draining = False
        self._served = 0
        self._recovery = Recovery(self, journal, page, self._audit)

    # -- state visible to the protocol ---------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Whether a transaction (or pairing) is on the terminal now."""
        return self._lock.locked()

    @property
    def queued(self) -> int:
        """How many jobs wait behind the current one."""
        return len(self._queued)

    @property
    def ready(self) -> bool:
        """Whether the page is loaded and can take work."""
        return self._page_ready.is_set() and self.page.loaded

    def enqueue(self, job_id: str, record: JobRecord | None = None) -> None:
        """Put a stored ``queued`` job at the back of this terminal's line.

        ``record``: the row the caller has just journalled, so that the job's turn does not read
        it back. Only this worker moves a queued job (to ``running``, or ``failed`` by
        :meth:`abort`, which drops the record), and the journal checks the move anyway.
        """
        if job_id not in self._queued and job_id != self.current_job:
            self._queued.add(job_id)
            if record is not None:
                self._fresh[job_id] = record
            self._queue.put_nowait(job_id)

    # -- page lifecycle ------------------------------------------------------------------------

    async def load_page(self) -> None:
        """(Re)open the page; queued jobs wait until this succeeds."""
        self._page_ready.clear()
        self.loading = True
        try:
            await self.page.open()
        finally:
            self.loading = False
        self._page_ready.set()

    def browser_died(self) -> None:
        """The browser is gone: operations in flight end as ``crashed``; new ones wait."""
        self._page_ready.clear()
        self.page.browser_died()

    async def drain(self) -> None:
        """Stop taking jobs off the queue; return when the running one has finished."""
        self._draining = True
        async with self._lock:
            pass

    # -- the FIFO loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """Take jobs off the queue forever, one at a time."""
        while True:
            job_id = await self._queue.get()
            if self._draining:
                return
            await self._page_ready.wait()
            retry = False
            if self._lock.locked():  # a report or a page refresh has the terminal: the desk is told
                self.hub.publish(JobStatus(jobId=job_id, message="Waiting for the terminal: a report, a pairing or a page refresh has it"), job_id)
            async with self._lock:
                self._queued.discard(job_id)
                self.current_job = job_id
                try:
                    await self._run_job(job_id)
                except JournalBehind as exc:
                    # The journal may have forgotten this job's fate: it is not sent until accept-gap.
                    log.error("job %s stays queued: the journal is behind its mark (%s)", job_id, exc.detail)
                except JournalUnavailable as exc:
                    # Before ``running`` is on disk nothing was sent: the job stays queued.
                    log.error("job %s: the journal refuses writes (%s); the job waits", job_id, exc.detail)
                    retry = True
                except Exception:
                    log.exception("job %s: unexpected error in the worker", job_id)
                    try:
                        await self._settle_unknown(job_id, "internal error while running")
                    except ClaimbridgeError as exc:
                        log.error("job %s: could not record it unknown: %s", job_id, exc)
                finally:
                    await self._audit.flush()
                    self.current_job = None
                    self._op = None
                    self._hp = None
            if retry:
                await self._requeue_when_writable(job_id)
            else:
                await self._maybe_recycle()

    async def _maybe_recycle(self) -> None:
        """A fresh page after :data:`RECYCLE_AFTER` transactions once the queue is empty (at 4x, whatever
        the queue): memory stays flat over claims (:meth:`~bridge.browser.page.TerminalPage.recycle`)."""
        self._served += 1
        if self._served < RECYCLE_AFTER or (self._queue.qsize() and self._served < 4 * RECYCLE_AFTER):
            return
        self._served = 0
        if self._draining or not self.page.loaded:
            return
        async with self._lock:
            try:
                await self.page.recycle()
                log.info("terminal %s: its page was replaced by a fresh one (memory)", self.name)
            except TerminalError as exc:
                log.warning("terminal %s: a fresh page did not load (%s); the current one stays", self.name, exc.detail)

    async def _requeue_when_writable(self, job_id: str, poll_s: float = 0.5) -> None:
        """Put a job that could not start back in line once the journal takes writes again
        (the daemon's probe sets ``writable``); the worker goes on with the queue meanwhile."""
        while not self.journal.writable:
            await asyncio.sleep(poll_s)
        self.enqueue(job_id)

    def pending_question(self, job_id: str) -> PendingQuestion | None:
        """The question the terminal is waiting on for this job, or None."""
        hp = self._hp
        if hp is None or hp.pending is None or hp.job_id != job_id:
            return None
        return PendingQuestion(text=hp.pending.text, options=hp.pending.options)

    async def _publish(self, job: JobRecord) -> None:
        self.hub.publish_job(job, self.pending_question(job.job_id))

    async def _move(self, job_id: str, state: JobState, from_state: JobState, *, result: JobResult | None = None,
                    receipts: Receipts | None = None, error: JobError | None = None, note: str | None = None,
                    publish: bool = True) -> JobRecord:
        """A move out of ``from_state`` (checked in its transaction), published unless told not to;
        raises only for ``running``."""
        rows = self._audit.take(job_id)  # the status lines that led here, in the same transaction
        try:
            job = await self.journal.move(job_id, state, result=result, receipts=receipts, error=error, note=note,
                                          notes=rows, from_state=from_state)
        except JournalUnavailable:
            await self.journal.note_many(job_id, rows)  # held until the disk takes writes again
            if state is JobState.RUNNING:
                raise  # nothing was sent: the job can wait in the queue
            # The terminal has spoken but the disk refuses: the journal holds the outcome and
            # commits it later; the caller hears ``unknown`` now, never a guess.
            job = await self.journal.hold(job_id, state, result=result, receipts=receipts, error=error, note=note)
        except (JobMoved, IllegalTransition) as exc:
            if state is JobState.RUNNING:
                raise
            await self._audit.refused(job_id, outcome_json(state, result, error, receipts), exc, rows)
            job = await self.journal.get(job_id)
        if publish:
            await self._publish(job)
        return job

    async def _fail(self, job_id: str, exc: ClaimbridgeError) -> None:
        await self._move(job_id, JobState.FAILED, JobState.QUEUED, error=JobError.model_validate(to_jsonrpc_error(exc)))

    async def _settle_unknown(self, job_id: str, why: str) -> None:
        job = await self.journal.get(job_id)
        if job.state is JobState.RUNNING:
            await self._move(job_id, JobState.UNKNOWN, JobState.RUNNING, error=JobError(message=why), note=why)

    async def operation(self, job: JobRecord) -> HealthPointOperation:
        """The HealthPoint operation of a job, with the job it was made against (if any)."""
        made_against = await self.journal.get(job.parent_job_id) if job.parent_job_id is not None else None
        return healthpoint_operation(job, made_against)

    async def _run_job(self, job_id: str) -> None:
        job = self._fresh.pop(job_id, None) or await self.journal.get(job_id)
        if job.state is not JobState.QUEUED:
            return  # aborted while it waited, or already run before a restart
        pairing = await self._pairing_record()
        if pairing is None:
            await self._fail(job_id, TerminalNotPaired(self.name))
            return
        try:
            hp = await self.operation(job)
            call = hp.call(pairing_keys(pairing))
        except NotRunnable as exc:
            await self._fail(job_id, NotAllowedNow("notATerminalJob", str(exc), {"jobId": job_id}))
            return
        if self.journal.behind is not None:
            raise JournalBehind(self.journal.behind)
        if not self.page.iclient.ok:  # nothing can reach the terminal: fail at once, never wait 10 min
            await self._fail(job_id, iclient_unreachable(self.page.iclient.reason or "no answer"))
            return
        try:
            running = await self._move(job_id, JobState.RUNNING, JobState.QUEUED, publish=False)
        except JobMoved:
            return  # aborted while it was being taken off the queue: nothing is sent
        # The terminal first, the desk a moment later: job.updated (running) is built and sent
        # once the command has left (page.start writes it before it first waits).
        asyncio.get_running_loop().call_soon(self.hub.publish_job, running)
        self._hp = hp
        try:
            op = await self.page.start(job_id, call.method, call.request, call.answers)
        except TerminalError as exc:
            if exc.refused:  # iClient refused at once ("Transaction already in progress."): nothing left
                await self.conclude(job_id, hp.refused(exc.detail), job.kind)
                return
            # The call may or may not have reached the terminal: never guess.
            await self._settle_unknown(job_id, f"the page failed while starting: {exc.detail}")
            await self._recovery.after_unknown(job_id, hp)
            return
        self._op = op
        end = await self._follow(job_id, hp, op)
        self.page.finish(op.op_id)
        if end is None:
            await self._recovery.after_unknown(job_id, hp)
            return
        await self.conclude(job_id, end, job.kind)

    async def _pairing_record(self) -> PairingRecord | None:
        """The terminal's keys, read from the journal once and kept (``pair`` replaces them)."""
        if self._pairing_cache is None:
            self._pairing_cache = await self.journal.pairing(self.name)
        return self._pairing_cache

    async def conclude(self, job_id: str, end: Finish | LeaveUnknown, kind: JobKind) -> None:
        """Carry out the operation's last effect: journal the outcome (a re-attached ``unknown``
        job's through ``settle``: its old "outcome unknown" error goes), or note why a
        re-attached job stays ``unknown``. An outcome the journal refuses is kept (``_move``);
        the operation's typed outcome becomes the models of ``kind`` here, once."""
        if isinstance(end, LeaveUnknown):
            await self._audit.note(job_id, "reattach", end.why)
        elif end.reattached:
            state, found, with_receipts, _, unfit = fitted_outcome(kind, end.state, end.result, end.receipts, None)
            if found is None or state is not end.state:  # the operation checked it: never so, but never guess
                return await self._audit.note(job_id, "reattach", unfit or "the re-attached outcome has no result")
            rows = self._audit.take(job_id)
            try:
                settled = await self.journal.settle(job_id, end.state, result=found, receipts=with_receipts,
                                                    note=end.note, notes=rows)
            except (JobMoved, IllegalTransition) as exc:  # an operator or the claims report was first
                await self._audit.refused(job_id, outcome_json(end.state, found, None, with_receipts), exc, rows)
                settled = await self.journal.get(job_id)
            await self._publish(settled)
        else:
            state, result, receipts, error, note = fitted_outcome(kind, end.state, end.result, end.receipts, end.error)
            await self._move(job_id, state, JobState.RUNNING, result=result, receipts=receipts, error=error, note=note or end.note or None)

    async def _follow(self, job_id: str, hp: HealthPointOperation, op: Operation) -> Finish | LeaveUnknown | None:
        """Feed the operation's events to ``hp`` and carry out its effects until it ends; None
        when its outcome is uncertain (the job is then ``unknown``).

        A transaction with no outcome after ``transaction_timeout_s`` is asked to cancel, once,
        when ``hp`` says so; otherwise it is only waited for.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.transaction_timeout_s
        aborted = not hp.cancels_on_timeout
        while True:
            remaining = deadline - loop.time()
            try:
                # A batch's events are queued together: take them at once, wait only for the next
                # (under ``asyncio.timeout``: no task of its own per event, as ``wait_for`` made).
                if op.events.empty():
                    async with asyncio.timeout(max(remaining, 0.01)):
                        event: PageEvent = await op.events.get()
                else:
                    event = op.events.get_nowait()
            except TimeoutError:
                if aborted:
                    await self._settle_unknown(job_id, "no answer from the terminal")
                    return None
                log.warning("job %s: no outcome after %.0f s; asking the terminal to cancel", job_id, self.transaction_timeout_s)
                aborted = True
                deadline = loop.time() + min(30.0, self.transaction_timeout_s)
                try:
                    await self.page.abort()
                except TerminalError:
                    pass
                continue
            if event.kind == "crashed":
                await self._settle_unknown(job_id, f"{event.payload} while the job was running")
                return None
            for effect in hp.receive_event(event.kind, event.payload):
                if isinstance(effect, (Finish, LeaveUnknown)):
                    return effect
                await self._carry_out(job_id, op, effect)

    async def _carry_out(self, job_id: str, op: Operation, effect: Status | Ask | Answer | Receipt) -> None:
        if isinstance(effect, Status):
            self._audit.add(job_id, "status", effect.text)
            self.hub.publish(JobStatus(jobId=job_id, message=effect.text), job_id)
        elif isinstance(effect, Answer):
            # Nothing waits on the desk: the rows go with the job's next write (its outcome).
            self._audit.add(job_id, "question", question_detail(effect.text, list(effect.options)))
            self._audit.answer_later(job_id, effect.label, effect.by)
            if effect.send:
                await self.page.answer(op.op_id, effect.label)
        elif isinstance(effect, Ask):
            await self._audit.note(job_id, "question", question_detail(effect.text, list(effect.options)))
            self.hub.publish(JobQuestion(jobId=job_id, text=effect.text, options=effect.options), job_id)
        else:  # as a status line: it goes with the job's next write (its outcome), no commit of its own
            self._audit.add(job_id, "receipt", effect.text)

    async def answer(self, job_id: str, answer: str, operator: str | None = None) -> None:
        """``job.answer``: pass the answer to the pending question.

        The answer is matched against the options without regard to case ("accept" answers
        "ACCEPT"); the terminal gets the option exactly as it offered it.

        Raises:
            NotAllowedNow: no question is pending for this job, or the answer is not an option.
        """
        hp, op = self._hp, self._op
        if hp is None or hp.pending is None or hp.job_id != job_id or op is None:
            raise NotAllowedNow("noQuestion", "no question is pending for this job", {"jobId": job_id})
        options = list(hp.pending.options)
        label = hp.answer(answer)
        if label is None:
            raise NotAllowedNow("notAnOption", f"answer must be one of {options}", {"jobId": job_id, "options": options})
        await self._audit.answer(job_id, label, operator)
        await self.page.answer(op.op_id, label)

    async def abort(self, job_id: str, operator: str | None = None) -> bool:
        """``job.abort``: True only when a queued job moved to ``failed`` before anything reached the
        terminal. A running job is asked to stop on the terminal but the answer is False: it runs
        to its outcome (``CANCELLED``, or ``APPROVED`` when the cancel came too late)."""
        job = await self.journal.get(job_id)
        if job.state is JobState.QUEUED and job_id in self._queued:
            note = f"aborted by {operator}" if operator else "aborted"
            try:  # only out of ``queued``: if ``running`` is committed first, the job runs on
                failed = await self.journal.move(job_id, JobState.FAILED, error=JobError(message="aborted before it started"),
                                                 note=note, from_state=JobState.QUEUED)
            except JobMoved:
                return False
            self._queued.discard(job_id)
            self._fresh.pop(job_id, None)
            await self._publish(failed)
            return True
        if job.state is JobState.RUNNING and self.current_job == job_id:
            await self._audit.note(job_id, "abort", f"cancel asked of the terminal (by {operator})" if operator else "cancel asked of the terminal")
            await self.page.abort()
        return False

    # -- recovery (bridge/terminals/recovery.py) -------------------------------------------------

    @property
    def lock(self) -> asyncio.Lock:
        """Held while a transaction, a pairing or a report is on the terminal."""
        return self._lock

    async def wait_ready(self, timeout: float) -> None:
        """Wait for the page to be loaded (after a reload or a browser crash).

        Raises:
            TemporarilyUnavailable: it did not come back within ``timeout`` seconds.
        """
        await wait_ready(lambda: self.ready, timeout)

    async def reattach(self, job_id: str) -> bool:
        """``continueLastTransaction`` for an ``unknown`` job; True when it completed it."""
        return await self._recovery.reattach(job_id)

    async def recover(self) -> None:
        """On start: re-attach the job sent last if ``unknown`` (journal order), re-queue the ``queued`` ones."""
        await self._recovery.recover()

    async def continue_last(self, hp: HealthPointOperation, call: Call) -> Finish | LeaveUnknown | None:
        """Run ``call`` (the operation's ``continueLastTransaction``) and follow it as the job's
        (its questions answerable as any job's); None when its outcome stays uncertain."""
        op = await self.page.start(next_op_id(f"continue-{hp.job_id}"), call.method, call.request, call.answers)
        self._op, self._hp = op, hp
        try:
            return await self._follow(hp.job_id, hp, op)
        finally:
            self.page.finish(op.op_id)
            self._op, self._hp = None, None

    # -- pairing and reports -------------------------------------------------------------------

    async def pair(self, mid: int, tid: int) -> dict[str, str]:
        """Headless pairing: progress as ``terminal.pairing``; keys into the journal on success."""
        if not self.ready:  # a page being loaded again (after a time-out) is back in seconds
            await self.wait_ready(timeout=10.0)
        async with self._lock:
            outcome = await pair_on_page(
                self.page, mid, tid, self.pairing_timeout_s, lambda message: self._pairing_event("inProgress", message)
            )
            if outcome.status == "timeout":  # iClient keeps its pairing channel: a fresh page ends it
                try:
                    await self.load_page()
                except TerminalError as exc:  # the page supervisor loads it later
                    log.error("terminal %s: page reload after pairing timeout failed: %s", self.name, exc)
                return self._pairing_event("failure", outcome.message)
            if outcome.integration_key is not None:
                await self.journal.save_pairing(self.name, mid, tid, outcome.integration_key)
                self._pairing_cache = None
                self.mid, self.tid, self.paired = mid, tid, True
            return self._pairing_event(outcome.status, outcome.message)

    def forget_pairing(self) -> None:
        """``terminal.unpair``: the journal forgot the keys; nothing here keeps them either."""
        self._pairing_cache, self.paired = None, False

    def _pairing_event(self, status: str, message: str) -> dict[str, str]:
        self.hub.publish(TerminalPairing(terminal=self.name, status=status, message=message))
        return {"status": status, "message": message}

    async def reconciliation(self, date: str, report_type: str) -> Reconciliation:
        """The HealthPoint reconciliation report for a Sydney business day, parsed."""
        pairing = await self.journal.pairing(self.name)
        if pairing is None:
            raise TerminalNotPaired(self.name)
        if not self.ready:
            # A page being reloaded (after an unknown outcome, a browser restart) is back in
            # seconds: a report asked for meanwhile waits for it rather than failing.
            await self.wait_ready(timeout=REPORT_TIMEOUT_S)
        async with self._lock:
            return await read_reconciliation(self.page, pairing_keys(pairing), date, report_type)
