"""Healthcode bill worker: submits queued bills and follows submitted ones until they settle.

The one I/O it owns is a bill's life after it is accepted: it calls the
:class:`~bridge.clearing.transport.HealthcodeTransport`, writes bill jobs to the journal and
publishes ``job.updated``. The states and the restart rules are in the docstring of
:mod:`bridge.clearing.service`; the pure decisions in :mod:`bridge.healthcode.jobs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from bridge.config import HealthcodeConfig
from bridge.errors import (
    HealthcodeCredentialsInvalid,
    HealthcodeError,
    HealthcodeOutcomeUncertain,
    HealthcodeRejected,
    HealthcodeUnavailable,
    NotAllowedNow,
    to_jsonrpc_error,
)
from bridge.healthcode.bills import Bill, StatusReport, SubmitReceipt
from bridge.healthcode.status import BillStatus, can_reach
from bridge.backoff import backoff_delay
from bridge.healthcode.jobs import (
    BillResultData,
    bill_result,
    holds_invoice,
    is_own_bill,
    job_state_for,
    read_bill_result,
)
from bridge.clearing.transport import HealthcodeTransport
from bridge.hub import Hub
from bridge.jobs import JobKind, JobState
from bridge.journal import JobRecord, Journal
from bridge.protocol import BillOutcome, BillRequest, JobError, JobResult, result_data

__all__ = [
    "HealthcodeWorker",
]

log = logging.getLogger("claimbridge.healthcode")

#: Cancel attempts when Healthcode is unavailable or the answer is lost (cancel is idempotent).
_CANCEL_ATTEMPTS = 4


# --------------------------------------------------------------------------------------------
# The worker: submits queued bills, follows submitted ones
# --------------------------------------------------------------------------------------------


class HealthcodeWorker:
    """Submits queued bills and polls submitted ones until a final status.

    Args:
        journal: The durable job store.
        hub: Where ``job.updated`` goes.
        transport: An open Healthcode transport.
        config: The ``[healthcode]`` settings (backoff, concurrency).
    """

    def __init__(self, journal: Journal, hub: Hub, transport: HealthcodeTransport, config: HealthcodeConfig) -> None:
        self.journal = journal
        self.hub = hub
        self.transport = transport
        self.config = config
        self._queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
        self._locks: dict[str, asyncio.Lock] = {}
        #: Callers of ``healthcode.submit`` waiting for the bill to leave ``queued``.
        self._waiters: dict[str, list[asyncio.Future[JobRecord]]] = {}
        #: invoice number -> job id of the bill job that is queued or running with it.
        self.active_invoices: dict[str, str] = {}
        #: (insurer, invoice number) -> the bill job holding the number (jobs.holds_invoice);
        #: read from the journal on first use (:meth:`holder`).
        self._holders: dict[tuple[str, str], str] | None = None
        self._holders_loading = asyncio.Lock()
        #: (insurer, invoice number) -> [lock, users]: taken while a new bill with that number is
        #: checked against the holders and journalled (bills with other numbers go in parallel).
        self._admission: dict[tuple[str, str], tuple[asyncio.Lock, list[int]]] = {}
        self._http = asyncio.Semaphore(config.concurrency * 2)
        self._group: asyncio.TaskGroup | None = None
        #: Healthcode's words when it last refused the site's credentials; None once they work.
        self.credentials_refused: str | None = None
        self._credential_attempts = 0
        self._polling: set[str] = set()

    # -- bookkeeping ---------------------------------------------------------------------------

    def lock(self, job_id: str) -> asyncio.Lock:
        """The lock every change of this job's state takes (submit, poll, cancel)."""
        return self._locks.setdefault(job_id, asyncio.Lock())

    def _settle(self, job: JobRecord) -> None:
        for waiter in self._waiters.pop(job.job_id, []):
            if not waiter.done():
                waiter.set_result(job)

    def waiter(self, job_id: str) -> asyncio.Future[JobRecord]:
        """A future resolved with the job once it leaves ``queued`` (Healthcode holds it, or it failed).

        Take it before the job can be submitted (before :meth:`enqueue`), or check the journal
        after taking it.
        """
        future: asyncio.Future[JobRecord] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(job_id, []).append(future)
        return future

    async def wait_settled(self, job: JobRecord, timeout: float, waiter: asyncio.Future[JobRecord]) -> JobRecord:
        """The job once it left ``queued``, or as it stands after ``timeout`` seconds."""
        try:
            if job.state is not JobState.QUEUED:
                return job
            try:
                return await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                return await self.journal.get(job.job_id)
        finally:
            waiters = self._waiters.get(job.job_id, [])
            if waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiters[job.job_id]

    async def holder(self, insurer: str, invoice_number: str) -> str | None:
        """The job holding this invoice number for the insurer, if any (a bill not cancelled)."""
        if self._holders is None:
            async with self._holders_loading:
                if self._holders is None:
                    jobs = await self.journal.list_jobs(kind=JobKind.HEALTHCODE_BILL, oldest_first=True)
                    holders: dict[tuple[str, str], str] = {}
                    for job in jobs:
                        if holds_invoice(job.state, _bill_data(job.result)):
                            holders[_invoice_key(job)] = job.job_id
                    self._holders = holders
        return self._holders.get((insurer, invoice_number))

    @contextlib.asynccontextmanager
    async def admitting(self, insurer: str, invoice_number: str) -> AsyncIterator[None]:
        """Hold this invoice number's admission: one new bill with it at a time."""
        key = (insurer, invoice_number)
        lock, users = self._admission.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._admission[key]

    def hold(self, job: JobRecord) -> None:
        """Record that ``job`` now holds its invoice number (call :meth:`holder` first)."""
        if self._holders is not None:
            self._holders[_invoice_key(job)] = job.job_id

    def _release(self, job: JobRecord) -> None:
        key = _invoice_key(job)
        if (self._holders is not None and self._holders.get(key) == job.job_id
                and not holds_invoice(job.state, _bill_data(job.result))):
            del self._holders[key]

    def enqueue(self, job: JobRecord, *, check_first: bool = False) -> None:
        """Queue a bill for submission; ``check_first``: it may already be at Healthcode."""
        self.active_invoices[_bill(job).invoice_number] = job.job_id
        self._queue.put_nowait((job.job_id, check_first))

    def _finished(self, job: JobRecord) -> None:
        invoice = _bill(job).invoice_number
        if self.active_invoices.get(invoice) == job.job_id:
            del self.active_invoices[invoice]
        self._release(job)
        self._settle(job)
        # A later caller gets a fresh lock; harmless, as every holder re-reads a final state.
        self._locks.pop(job.job_id, None)

    def _publish(self, job: JobRecord) -> None:
        self.hub.publish_job(job)

    # -- the loops ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Recover unfinished bills, then submit and poll until cancelled."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            for index in range(self.config.concurrency):
                group.create_task(self._submitter(), name=f"claimbridge.healthcode.submit[{index}]")
            await self.recover()

    async def recover(self) -> None:
        """Queue ``queued`` bills (checked by invoice number first) and poll ``running`` ones."""
        bills = await self.journal.list_jobs(
            states=[JobState.QUEUED, JobState.RUNNING], kind=JobKind.HEALTHCODE_BILL, oldest_first=True,
        )
        for job in bills:
            request = job.request_as(BillRequest)
            if request.replaces:
                # A crash between journalling a resubmission and pointing the old bill at it.
                await self.point_replaced(request.replaces, job.job_id)
            if job.state is JobState.QUEUED:
                self.enqueue(job, check_first=True)
            else:
                self.active_invoices[request.bill.invoice_number] = job.job_id
                self._start_polling(job.job_id)
        if bills:
            log.info("resuming %d Healthcode bill(s)", len(bills))

    async def point_replaced(self, old_id: str, new_id: str) -> None:
        """Record ``replacedBy`` on the replaced bill's job (idempotent), with ``job.updated``."""
        async with self.lock(old_id):
            old = await self.journal.get(old_id)
            before = old.result_as(BillOutcome)
            if before is None:  # never sent, so never replaceable: nothing to point from
                log.warning("Healthcode bill %s: resubmitted as job %s but has no result to record it in",
                            old_id, new_id)
                return
            if before.replacedBy == new_id:
                return
            result = before.model_copy(update={"replacedBy": new_id})
            old = await self.journal.update_result(old_id, result, note=f"resubmitted as job {new_id}")
        self._publish(old)

    def _start_polling(self, job_id: str) -> None:
        if self._group is None or job_id in self._polling:
            return
        self._polling.add(job_id)
        self._group.create_task(self._poll(job_id), name=f"claimbridge.healthcode.poll[{job_id}]")

    async def _submitter(self) -> None:
        while True:
            job_id, check_first = await self._queue.get()
            try:
                await self._submit_job(job_id, check_first)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not stop the other bills; the job stays queued
                log.exception("Healthcode bill %s: submit failed unexpectedly", job_id)

    # -- submitting -----------------------------------------------------------------------------

    async def _submit_job(self, job_id: str, check_first: bool) -> None:
        async with self.lock(job_id):
            job = await self.journal.get(job_id)
            if job.state is not JobState.QUEUED:
                self._settle(job)
                return
            bill = _bill(job)
            replaced = await self._replaced_reference(job)
            try:
                answer = await self._deliver(job_id, bill, check_first, replaced)
            except HealthcodeCredentialsInvalid as exc:
                # An expired or changed password is the site's state, not the bill's: the bill
                # stays queued and goes once the credentials work (their files are re-read).
                await self._credentials_refused(job, check_first, exc)
                return
            except HealthcodeRejected as exc:
                failed = await self.journal.move(
                    job_id, JobState.FAILED, error=JobError.model_validate(to_jsonrpc_error(exc)),
                    note=f"Healthcode refused: {exc.message}",
                )
                self._publish(failed)
                self._finished(failed)
                return
            self.credentials_refused, self._credential_attempts = None, 0
            await self._apply_locked(job, answer)

    async def _credentials_refused(self, job: JobRecord, check_first: bool, exc: HealthcodeCredentialsInvalid) -> None:
        first = self.credentials_refused is None
        self.credentials_refused = str(exc.detail or exc.message)
        if first:
            log.warning("Healthcode refused the site's credentials (%s): bills stay queued until they "
                        "work; fix [healthcode] password_file (read again when it changes)", exc.detail)
        await self.journal.note(job.job_id, "healthcode", f"credentials refused ({exc.detail}); kept queued")
        self._settle(job)  # healthcode.submit answers now: the bill is durable and waits
        attempt = self._credential_attempts = self._credential_attempts + 1
        delay = backoff_delay(attempt, self.config.retry_initial_s, self.config.retry_max_s)
        if self._group is not None:
            self._group.create_task(self._requeue(job.job_id, check_first, delay))

    async def _requeue(self, job_id: str, check_first: bool, delay: float) -> None:
        await asyncio.sleep(delay)
        self._queue.put_nowait((job_id, check_first))

    async def _replaced_reference(self, job: JobRecord) -> str | None:
        """The provider reference of the bill this job resubmits (None: not a resubmission,
        or the replaced bill never reached Healthcode)."""
        replaces = job.request_as(BillRequest).replaces
        if not replaces:
            return None
        old = (await self.journal.get(replaces)).result_as(BillOutcome)
        return old.reference if old is not None and old.reference else None

    async def _deliver(
        self, job_id: str, bill: Bill, check_first: bool, replaced: str | None = None
    ) -> SubmitReceipt | StatusReport:
        """Get the bill to Healthcode exactly once; returns the receipt or the found bill's report.

        ``replaced``: the reference of the bill this one resubmits under the same invoice
        number; found by invoice number, that one is not this job's bill.
        """
        attempt = 0
        while True:
            try:
                async with self._http:
                    if check_first:
                        # The bill may be there already: never submit again before asking.
                        report = await self.transport.status(invoice_number=bill.invoice_number, insurer=bill.insurer)
                        if is_own_bill(report, bill, replaced):
                            await self.journal.note(job_id, "healthcode", f"found by invoice number: {report.reference}")
                            return report
                        check_first = False
                    return await self.transport.submit(bill, replaces=replaced)
            except (HealthcodeCredentialsInvalid, HealthcodeRejected):
                raise
            except HealthcodeOutcomeUncertain as exc:
                log.warning("Healthcode bill %s: submit outcome uncertain (%s); checking first", job_id, exc.detail)
                await self.journal.note(job_id, "healthcode", f"submit outcome uncertain: {exc.detail}")
                check_first = True
            except HealthcodeUnavailable as exc:
                log.info("Healthcode bill %s: Healthcode unavailable (%s); retrying", job_id, exc.detail)
            except (HealthcodeError, NotAllowedNow) as exc:
                # An answer we did not expect to a submit: treat it as maybe-landed.
                log.warning("Healthcode bill %s: unexpected answer (%s); checking first", job_id, exc)
                check_first = True
            await asyncio.sleep(backoff_delay(attempt, self.config.retry_initial_s, self.config.retry_max_s))
            attempt += 1

    # -- following --------------------------------------------------------------------------------

    async def _poll(self, job_id: str) -> None:
        attempt = 0
        try:
            while True:
                await asyncio.sleep(backoff_delay(attempt, self.config.poll_initial_s, self.config.poll_max_s))
                try:
                    job = await self.journal.get(job_id)
                    if job.state is not JobState.RUNNING:
                        return
                    outcome = job.result_as(BillOutcome)
                    reference = (outcome.reference if outcome is not None else None) or ""
                    async with self._http:
                        report = await self.transport.status(reference)
                    changed, still_running = await self.apply(job_id, report)
                except asyncio.CancelledError:
                    raise
                except HealthcodeError as exc:
                    log.info("Healthcode bill %s: status not available (%s)", job_id, exc)
                    attempt += 1
                    continue
                except Exception:
                    log.exception("Healthcode bill %s: polling failed unexpectedly", job_id)
                    attempt += 1
                    continue
                if not still_running:
                    return
                attempt = 0 if changed else attempt + 1
        finally:
            self._polling.discard(job_id)

    async def apply(self, job_id: str, answer: SubmitReceipt | StatusReport) -> tuple[bool, bool]:
        """Record Healthcode's latest answer for a bill (takes the job's lock).

        Returns:
            (whether anything changed, whether the job is still ``queued`` or ``running``).
        """
        async with self.lock(job_id):
            return await self._apply_locked(await self.journal.get(job_id), answer)

    async def _apply_locked(self, job: JobRecord, answer: SubmitReceipt | StatusReport) -> tuple[bool, bool]:
        """Record ``answer`` for ``job``, freshly read from the journal under the job's lock."""
        job_id, invoice_number = job.job_id, _bill(job).invoice_number
        if job.state not in (JobState.QUEUED, JobState.RUNNING):
            return False, False
        previous = job.result_as(BillOutcome)
        result = BillOutcome.model_validate(_with_pointer(job, bill_result(answer, invoice_number, _bill_data(previous))))
        status = result.status
        before = previous.status if previous is not None else None
        if job.state is JobState.RUNNING and previous is not None and before == status and result.problems == previous.problems:
            return False, True
        if before is not None and status is not BillStatus.NOT_FOUND and before != status:
            if not can_reach(before, status):
                log.warning("Healthcode bill %s: unexpected move %s -> %s", job_id, before, status)
        note = f"Healthcode status {status}"
        if job.state is JobState.QUEUED:
            job = await self.journal.move(job_id, JobState.RUNNING, result=result, note=note)
            self._settle(job)
        target = job_state_for(status)
        if target is JobState.RUNNING:
            if job.result != result:
                job = await self.journal.update_result(job_id, result, note=note)
            self._publish(job)
            self._start_polling(job_id)
            return True, True
        error = None
        if target is JobState.UNKNOWN:
            error = JobError(message="Healthcode no longer knows this bill (NotFound); check it in Healthcode")
        job = await self.journal.move(job_id, target, result=result, error=error, note=note)
        self._publish(job)
        self._finished(job)
        return True, False

    # -- cancelling --------------------------------------------------------------------------------

    async def cancel(self, job_id: str) -> JobRecord:
        """Cancel a bill before the insurer collects it.

        Raises:
            JobNotFound: No such job.
            NotAllowedNow: Not a bill, already collected, failed or unknown.
            HealthcodeNotFound: Healthcode does not know the bill.
            HealthcodeUnavailable: Healthcode could not be reached; try again.
        """
        job = await self.journal.get(job_id)
        if job.kind is not JobKind.HEALTHCODE_BILL:
            raise NotAllowedNow("notABill", "the job is not a Healthcode bill", {"jobId": job_id, "kind": str(job.kind)})
        async with self.lock(job_id):
            job = await self.journal.get(job_id)
            outcome = job.result_as(BillOutcome)
            status = outcome.status if outcome is not None else None
            if job.state is JobState.COMPLETED and status == BillStatus.CANCELLED:
                return job
            if job.state is JobState.QUEUED:
                # Never sent (the submitter takes this lock before it sends): cancel locally.
                cancelled = _bill_data(outcome)
                cancelled.update({"status": str(BillStatus.CANCELLED), "reference": None,
                                  "invoiceNumber": _bill(job).invoice_number, "at": None,
                                  "problems": [], "duplicate": False})
                result = BillOutcome.model_validate(_with_pointer(job, cancelled))
                job = await self.journal.move(job_id, JobState.RUNNING, note="cancel before submission")
                job = await self.journal.move(job_id, JobState.COMPLETED, result=result,
                                              note="cancelled before it was sent to Healthcode")
                self._publish(job)
                self._finished(job)
                return job
            if job.state is not JobState.RUNNING:
                raise NotAllowedNow(
                    "billNotCancellable", "only a queued or running bill can be cancelled",
                    {"jobId": job_id, "state": str(job.state), "status": status},
                )
            reference = str(outcome.reference if outcome is not None else None)
            report = await self._cancel_at_healthcode(job, reference)
            await self._apply_locked(await self.journal.get(job_id), report)
            return await self.journal.get(job_id)

    async def _cancel_at_healthcode(self, job: JobRecord, reference: str) -> StatusReport:
        job_id = job.job_id
        for attempt in range(_CANCEL_ATTEMPTS):
            try:
                async with self._http:
                    return await self.transport.cancel(reference)
            except NotAllowedNow as exc:
                # 409: collected already. Record it so the job completes, then refuse.
                with contextlib.suppress(HealthcodeError):
                    report = await self.transport.status(reference)
                    await self._apply_locked(await self.journal.get(job_id), report)
                raise NotAllowedNow(
                    "billCollected", "the insurer has already collected the bill", {"jobId": job_id, **exc.extra},
                ) from exc
            except (HealthcodeUnavailable, HealthcodeOutcomeUncertain) as exc:
                # Cancelling twice is harmless, so a lost answer may be retried.
                if attempt == _CANCEL_ATTEMPTS - 1:
                    raise
                log.info("Healthcode bill %s: cancel not answered (%s); retrying", job_id, exc.detail)
            await asyncio.sleep(backoff_delay(attempt, self.config.retry_initial_s, self.config.retry_max_s))
        raise HealthcodeUnavailable("cancel not answered", operation="cancel")  # pragma: no cover


def _bill(job: JobRecord) -> Bill:
    """A bill job's bill, as checked when it was journalled (never validated again)."""
    return job.request_as(BillRequest).bill


def _invoice_key(job: JobRecord) -> tuple[str, str]:
    bill = _bill(job)
    return bill.insurer, bill.invoice_number


def _bill_data(result: JobResult | None) -> BillResultData:
    """A bill job's result as the pure rules of :mod:`bridge.healthcode.jobs` read it."""
    return read_bill_result(result_data(result))


def _with_pointer(job: JobRecord, result: BillResultData) -> BillResultData:
    """``result`` with ``replaces`` when the job resubmits another bill (INTERFACES.md)."""
    replaces = job.request_as(BillRequest).replaces
    if replaces:
        result["replaces"] = replaces
    return result
