"""Healthcode in the daemon: the ``healthcode.*`` methods and the worker that submits and follows bills.

The one I/O this module owns is the bill's life in the daemon: it opens the
:class:`~bridge.healthcode_transport.HealthcodeTransport` (the only HTTP code), writes bill jobs
to the journal and publishes ``job.updated``. Bill rules are :mod:`bridge.healthcode` (pure).

A bill is a journal job of kind ``healthcodeBill`` with no terminal. Its states:

=============  ============================================================================
``queued``     accepted and durable; Healthcode may not hold it yet. This is the write-ahead
               mark: a ``queued`` bill found at start-up *may* have been sent, so the worker
               asks Healthcode for it by invoice number before (re)submitting.
``running``    Healthcode holds the bill (we have its reference); ``result.status`` follows
               Healthcode (``Unprocessed``, ``In-process``, ``AwaitingCorrection``,
               ``Validated``, ``AwaitingCollection``) and every change is a ``job.updated``.
``completed``  a final status: ``Collected`` or ``Cancelled`` (``result.status`` says which).
``failed``     Healthcode refused the bill (malformed, 422) or the site's credentials; nothing
               is held at Healthcode. ``error`` says why.
``unknown``    Healthcode answered ``NotFound`` for a bill it had accepted: an operator looks.
=============  ============================================================================

``healthcode.submit`` returns the Job once Healthcode holds the bill (``running``, usually
``result.status`` ``Unprocessed``), or once it failed, or after ``submit_wait_s`` (then still
``queued``: the worker keeps trying and the PMS follows ``job.updated``). A bill job's
``result`` is ``{status, reference, invoiceNumber, at, problems, duplicate}``.

The invoice number is the idempotency key towards Healthcode: one active job per invoice
number (a second ``requestId`` with the same number is refused with -32004), and a submit whose
answer was lost (:class:`~bridge.errors.HealthcodeOutcomeUncertain`) is never re-sent blindly:
the worker asks for the invoice number first and submits again only on ``NotFound``. A submit
Healthcode did not take (:class:`~bridge.errors.HealthcodeUnavailable`: 502, 503, connection
refused) is retried with backoff. Daemon restart: ``running`` bills resume polling (the
daemon's recovery leaves them alone), ``queued`` ones are checked by invoice number first.

The site password is read from ``[healthcode] password_file`` and is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bridge.config import HealthcodeConfig
from bridge.errors import (
    ClaimbridgeError,
    HealthcodeCredentialsInvalid,
    HealthcodeError,
    HealthcodeNotFound,
    HealthcodeOutcomeUncertain,
    HealthcodeRejected,
    HealthcodeUnavailable,
    JobNotFound,
    NotAllowedNow,
    TemporarilyUnavailable,
)
from bridge.healthcode import (
    Bill,
    BillStatus,
    HealthcodeReference,
    Problem,
    StatusReport,
    SubmitReceipt,
    can_reach,
    parse_bill,
    search_codes,
    validate_bill,
)
from bridge.healthcode_reference import load_reference
from bridge.healthcode_transport import HealthcodeTransport
from bridge.hub import Hub, Peer
from bridge.jobs import JobKind, JobState
from bridge.journal import JobRecord, Journal
from bridge.worker import job_to_wire

if TYPE_CHECKING:
    from bridge.daemon import Daemon

__all__ = [
    "HealthcodeService",
    "HealthcodeWorker",
    "backoff_delay",
    "bill_result",
    "install",
    "job_state_for",
    "problem_to_wire",
    "read_password",
    "uk_today",
]

log = logging.getLogger("claimbridge.healthcode")

_UK = ZoneInfo("Europe/London")

#: Where each Healthcode status leaves the job. Statuses not listed keep it ``running``.
_STATE_FOR_STATUS: Mapping[BillStatus, JobState] = {
    BillStatus.COLLECTED: JobState.COMPLETED,
    BillStatus.CANCELLED: JobState.COMPLETED,
    BillStatus.NOT_FOUND: JobState.UNKNOWN,
}

#: Cancel attempts when Healthcode is unavailable or the answer is lost (cancel is idempotent).
_CANCEL_ATTEMPTS = 4


# --------------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------------


def backoff_delay(attempt: int, initial: float, maximum: float, factor: float = 2.0) -> float:
    """Seconds to wait before try number ``attempt`` (0-based): ``initial * factor**attempt``, capped.

    Args:
        attempt: How many tries came before (0 for the first wait).
        initial: The first wait.
        maximum: The cap.
        factor: Growth per attempt.

    Returns:
        The wait in seconds, never above ``maximum``.
    """
    if attempt <= 0:
        return min(initial, maximum)
    # Cap the exponent: a bill polled for weeks must not overflow a float.
    return float(min(maximum, initial * factor ** min(attempt, 64)))


def job_state_for(status: BillStatus) -> JobState:
    """The job state a bill in ``status`` belongs in (see the module docstring's table)."""
    return _STATE_FOR_STATUS.get(status, JobState.RUNNING)


def problem_to_wire(problem: Problem) -> dict[str, Any]:
    """``{field, error, suggestion, healthcodeField?}`` as ``healthcode.validate`` returns it."""
    return problem.model_dump(mode="json", by_alias=True, exclude_none=True)


def bill_result(
    answer: SubmitReceipt | StatusReport, invoice_number: str, previous: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A bill job's ``result`` after Healthcode's latest answer.

    Args:
        answer: A submit receipt or a status report.
        invoice_number: The bill's invoice number.
        previous: The job's result so far (keeps the reference and the duplicate flag).

    Returns:
        ``{status, reference, invoiceNumber, at, problems, duplicate}``.
    """
    before = dict(previous or {})
    if isinstance(answer, SubmitReceipt):
        return {
            "status": str(answer.status),
            "reference": answer.reference,
            "invoiceNumber": invoice_number,
            "at": None,
            "problems": [],
            "duplicate": answer.duplicate,
        }
    return {
        "status": str(answer.status),
        "reference": answer.reference or before.get("reference"),
        "invoiceNumber": invoice_number,
        "at": answer.at.isoformat() if answer.at is not None else None,
        "problems": [problem_to_wire(p) for p in answer.problems],
        "duplicate": bool(before.get("duplicate", False)),
    }


def uk_today(now: datetime) -> date:
    """The clinic's date (Europe/London) at the aware instant ``now``."""
    return now.astimezone(_UK).date()


def read_password(path: Path) -> str:
    """Read the Healthcode password file; warn (never echoing it) when others may read it.

    Raises:
        ValueError: The file is missing, unreadable or empty.
    """
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except OSError as exc:
        raise ValueError(f"[healthcode] password_file {path}: cannot read it ({exc.strerror})") from exc
    password = text.strip()
    if not password:
        raise ValueError(f"[healthcode] password_file {path} is empty")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("[healthcode] password_file %s is readable by others: chmod 600 it", path)
    return password


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
        self._http = asyncio.Semaphore(config.concurrency * 2)
        self._group: asyncio.TaskGroup | None = None
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

    def enqueue(self, job: JobRecord, *, check_first: bool = False) -> None:
        """Queue a bill for submission; ``check_first``: it may already be at Healthcode."""
        self.active_invoices[str(job.request["bill"]["invoiceNumber"])] = job.job_id
        self._queue.put_nowait((job.job_id, check_first))

    def _finished(self, job: JobRecord) -> None:
        invoice = str(job.request["bill"]["invoiceNumber"])
        if self.active_invoices.get(invoice) == job.job_id:
            del self.active_invoices[invoice]
        self._settle(job)
        # A later caller gets a fresh lock; harmless, as every holder re-reads a final state.
        self._locks.pop(job.job_id, None)

    def _publish(self, job: JobRecord) -> None:
        self.hub.publish("job.updated", {"job": job_to_wire(job)}, job.job_id)

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
            if job.state is JobState.QUEUED:
                self.enqueue(job, check_first=True)
            else:
                self.active_invoices[str(job.request["bill"]["invoiceNumber"])] = job.job_id
                self._start_polling(job.job_id)
        if bills:
            log.info("resuming %d Healthcode bill(s)", len(bills))

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
            bill = Bill.model_validate(job.request["bill"])
            try:
                answer = await self._deliver(job_id, bill, check_first)
            except (HealthcodeCredentialsInvalid, HealthcodeRejected) as exc:
                failed = await self.journal.move(
                    job_id, JobState.FAILED, error=_error_dict(exc), note=f"Healthcode refused: {exc.message}",
                )
                self._publish(failed)
                self._finished(failed)
                return
            await self._apply_locked(job, answer)

    async def _deliver(self, job_id: str, bill: Bill, check_first: bool) -> SubmitReceipt | StatusReport:
        """Get the bill to Healthcode exactly once; returns the receipt or the found bill's report."""
        attempt = 0
        while True:
            try:
                async with self._http:
                    if check_first:
                        # The bill may be there already: never submit again before asking.
                        report = await self.transport.status(invoice_number=bill.invoice_number)
                        if report.status is not BillStatus.NOT_FOUND:
                            await self.journal.note(job_id, "healthcode", f"found by invoice number: {report.reference}")
                            return report
                        check_first = False
                    return await self.transport.submit(bill)
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
                    reference = str((job.result or {}).get("reference") or "")
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
        job_id, invoice_number = job.job_id, str(job.request["bill"]["invoiceNumber"])
        if job.state not in (JobState.QUEUED, JobState.RUNNING):
            return False, False
        result = bill_result(answer, invoice_number, job.result)
        status = BillStatus(result["status"])
        before = (job.result or {}).get("status")
        if job.state is JobState.RUNNING and before == result["status"] and result["problems"] == (job.result or {}).get("problems"):
            return False, True
        if before is not None and status is not BillStatus.NOT_FOUND and before != status:
            if not can_reach(BillStatus(before), status):
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
            error = {"message": "Healthcode no longer knows this bill (NotFound); check it in Healthcode"}
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
            raise NotAllowedNow("the job is not a Healthcode bill", {"jobId": job_id, "kind": str(job.kind)})
        async with self.lock(job_id):
            job = await self.journal.get(job_id)
            status = (job.result or {}).get("status")
            if job.state is JobState.COMPLETED and status == BillStatus.CANCELLED:
                return job
            if job.state is JobState.QUEUED:
                # Never sent (the submitter takes this lock before it sends): cancel locally.
                result = {"status": str(BillStatus.CANCELLED), "reference": None,
                          "invoiceNumber": job.request["bill"]["invoiceNumber"], "at": None,
                          "problems": [], "duplicate": False}
                job = await self.journal.move(job_id, JobState.RUNNING, note="cancel before submission")
                job = await self.journal.move(job_id, JobState.COMPLETED, result=result,
                                              note="cancelled before it was sent to Healthcode")
                self._publish(job)
                self._finished(job)
                return job
            if job.state is not JobState.RUNNING:
                raise NotAllowedNow(
                    "only a queued or running bill can be cancelled",
                    {"jobId": job_id, "state": str(job.state), "status": status},
                )
            reference = str((job.result or {}).get("reference"))
            invoice = str(job.request["bill"]["invoiceNumber"])
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
                    "the insurer has already collected the bill", {"jobId": job_id, **exc.extra},
                ) from exc
            except (HealthcodeUnavailable, HealthcodeOutcomeUncertain) as exc:
                # Cancelling twice is harmless, so a lost answer may be retried.
                if attempt == _CANCEL_ATTEMPTS - 1:
                    raise
                log.info("Healthcode bill %s: cancel not answered (%s); retrying", job_id, exc.detail)
            await asyncio.sleep(backoff_delay(attempt, self.config.retry_initial_s, self.config.retry_max_s))
        raise HealthcodeUnavailable("cancel not answered", operation="cancel")  # pragma: no cover


def _error_dict(exc: ClaimbridgeError) -> dict[str, Any]:
    out: dict[str, Any] = {"code": exc.code, "message": exc.message}
    data = exc.data()
    if data:
        out["data"] = data
    return out


# --------------------------------------------------------------------------------------------
# The methods
# --------------------------------------------------------------------------------------------


class HealthcodeService:
    """The ``healthcode.*`` methods.

    Args:
        journal: The durable job store.
        hub: Notification fan-out.
        worker: The bill worker.
        reference: Insurers and codes.
        now: The daemon's clock (aware datetimes).
        accepting: False while the daemon drains (new bills are refused with -32005).
        config: The ``[healthcode]`` settings.
    """

    def __init__(
        self,
        journal: Journal,
        hub: Hub,
        worker: HealthcodeWorker,
        reference: HealthcodeReference,
        now: Callable[[], datetime],
        accepting: Callable[[], bool],
        config: HealthcodeConfig,
    ) -> None:
        self.journal = journal
        self.hub = hub
        self.worker = worker
        self.reference = reference
        self.now = now
        self._accepting = accepting
        self.config = config

    def methods(self) -> dict[str, Callable[[Any, Peer | None], Awaitable[Any]]]:
        """Method name -> handler, for ``service.extra``."""
        return {
            "healthcode.checkCredentials": self.check_credentials,
            "healthcode.validate": self.validate,
            "healthcode.submit": self.submit,
            "healthcode.cancel": self.cancel,
            "healthcode.codes": self.codes,
        }

    async def check_credentials(self, params: Any, peer: Peer | None) -> dict[str, Any]:
        """``healthcode.checkCredentials`` -> ``{ok, message}``."""
        check = await self.worker.transport.check_credentials()
        return {"ok": check.ok, "message": check.message}

    async def validate(self, params: Any, peer: Peer | None) -> dict[str, Any]:
        """``healthcode.validate``: our pre-flight first; Healthcode's dry run only if that is clean."""
        bill = parse_bill(params.bill)
        problems = validate_bill(bill, today=uk_today(self.now()), reference=self.reference)
        if not problems:
            problems = await self.worker.transport.validate(bill)
        return {"valid": not problems, "problems": [problem_to_wire(p) for p in problems]}

    async def submit(self, params: Any, peer: Peer | None) -> dict[str, Any]:
        """``healthcode.submit``: journal the bill, hand it to the worker, return the Job once sent."""
        try:
            existing: JobRecord | None = await self.journal.get_by_request_id(params.requestId)
        except JobNotFound:
            existing = None
        bill = parse_bill(params.bill)
        if existing is None:
            if not self._accepting():
                raise TemporarilyUnavailable("the daemon is shutting down")
            problems = validate_bill(bill, today=uk_today(self.now()), reference=self.reference)
            if problems:
                raise HealthcodeRejected(tuple(problem_to_wire(p) for p in problems), "pre-flight check failed")
            holder = self.worker.active_invoices.get(bill.invoice_number)
            if holder is not None:
                raise NotAllowedNow(
                    "another bill with this invoice number is being submitted",
                    {"invoiceNumber": bill.invoice_number, "jobId": holder},
                )
        job, created = await self.journal.create_job(
            kind=JobKind.HEALTHCODE_BILL, request_id=params.requestId, terminal=None,
            request={"bill": bill.to_wire()},
        )
        if peer is not None:
            self.hub.own(job.job_id, peer)
        waiter = self.worker.waiter(job.job_id)
        if created:
            self.hub.publish("job.updated", {"job": job_to_wire(job)}, job.job_id)
            self.worker.enqueue(job)
        settled = await self.worker.wait_settled(job, self.config.submit_wait_s, waiter)
        return job_to_wire(settled)

    async def cancel(self, params: Any, peer: Peer | None) -> dict[str, Any]:
        """``healthcode.cancel``: before collection only."""
        if peer is not None:
            self.hub.own(params.jobId, peer)
        return job_to_wire(await self.worker.cancel(params.jobId))

    async def codes(self, params: Any, peer: Peer | None) -> list[dict[str, Any]]:
        """``healthcode.codes``: the pick-list ``[{code, description, allowed}]``."""
        matches = search_codes(params.kind, params.query, params.insurer, params.limit, self.reference)
        return [m.model_dump(mode="json", by_alias=True) for m in matches]


# --------------------------------------------------------------------------------------------
# Wiring
# --------------------------------------------------------------------------------------------


def install(daemon: Daemon) -> None:
    """Plug Healthcode in when ``[healthcode] url`` is set.

    The early setup opens the transport (refusing to start, with a ``ValueError`` naming the
    setting, when ``site_id``, ``user_id`` or a readable ``password_file`` is missing) and
    registers the methods; the late setup starts the worker as ``claimbridge.healthcode.worker``.
    """
    config = daemon.settings.healthcode
    if not config.url:
        return
    parts: dict[str, Any] = {}

    async def early(d: Daemon, stack: contextlib.AsyncExitStack) -> None:
        missing = [name for name in ("site_id", "user_id", "password_file") if not getattr(config, name)]
        if missing:
            raise ValueError(f"[healthcode] url is set but {', '.join(missing)} is not")
        assert config.url is not None and config.site_id and config.user_id and config.password_file
        assert d.journal is not None and d.service is not None
        password = read_password(Path(os.path.expanduser(str(config.password_file))))
        transport = await stack.enter_async_context(HealthcodeTransport(
            config.url, config.site_id, config.user_id, password, timeout=config.timeout_s,
        ))
        del password
        worker = HealthcodeWorker(d.journal, d.hub, transport, config)
        service = d.service
        methods = HealthcodeService(
            d.journal, d.hub, worker, load_reference(), d.now, lambda: service.accepting, config,
        )
        d.service.extra.update(methods.methods())
        parts["worker"] = worker

    async def late(d: Daemon, stack: contextlib.AsyncExitStack) -> None:
        worker: HealthcodeWorker = parts["worker"]
        d.spawn(worker.run(), name="claimbridge.healthcode.worker")

    daemon.add_setup(early)
    daemon.add_setup(late, late=True)
