"""Healthcode in the daemon: the ``healthcode.*`` methods and the worker that submits and follows bills.

The one I/O this module owns is the bill's life in the daemon: it opens the
:class:`~bridge.clearing.transport.HealthcodeTransport` (the only HTTP code), writes bill jobs
to the journal and publishes ``job.updated``. Bill rules are :mod:`bridge.healthcode` (pure).
The worker is :mod:`bridge.clearing.worker`, its pure decisions :mod:`bridge.healthcode.jobs`.

A bill is a journal job of kind ``healthcodeBill`` with no terminal. Its states:

=============  ============================================================================
``queued``     accepted and durable; Healthcode may not hold it yet. This is the write-ahead
               mark: a ``queued`` bill found at start-up *may* have been sent, so the worker
               asks Healthcode for it by invoice number before (re)submitting.
``running``    Healthcode holds the bill (we have its reference); ``result.status`` follows
               Healthcode (``Unprocessed``, ``In-process``, ``AwaitingCorrection``,
               ``Validated``, ``AwaitingCollection``) and every change is a ``job.updated``.
``completed``  a final status: ``Collected`` or ``Cancelled`` (``result.status`` says which).
``failed``     Healthcode refused the bill (malformed, 422; a number the insurer holds;
               its member database); nothing is held at Healthcode. ``error`` says why.
``unknown``    Healthcode answered ``NotFound`` for a bill it had accepted: an operator looks.
=============  ============================================================================

``healthcode.submit`` returns the Job once Healthcode holds the bill (``running``, usually
``result.status`` ``Unprocessed``), or once it failed, or after ``submit_wait_s`` (then still
``queued``: the worker keeps trying and the PMS follows ``job.updated``). A bill job's
``result`` is ``{status, reference, invoiceNumber, at, problems, duplicate}``, plus
``replaces`` (the job this bill resubmits) or ``replacedBy`` (the job that resubmitted it), and
once a remittance paid it ``paid``, ``shortfall``, ``paymentReference``, ``datePaid`` and
``remittanceIds`` (:mod:`bridge.clearing.remittances`).

Resubmission (``healthcode.submit`` ``replaces``): allowed for a job whose bill Healthcode
cancelled, or that was collected and no remittance line paid; refused with -32004 and
``data.reason`` otherwise (:func:`bridge.healthcode.jobs.replacement_refusal`). The new job is
its own job with its own ``requestId``; the old job then carries ``result.replacedBy``. It keeps
the invoice number: the transport names the replaced bill's reference, which is how the
simulator lets the number be used again (its README), and a found-by-invoice-number check never
mistakes the replaced bill for the new one.

The invoice number is the idempotency key towards Healthcode, unique per insurer: a number an
insurer holds already (a bill job that is not cancelled or failed, :func:`~bridge.healthcode.jobs.holds_invoice`)
is refused as Healthcode refuses it, a ``failed`` job with the problem "Duplicate Invoice" on
``invoiceNumber`` (nothing sent), unless ``replaces`` names that bill. A submit whose answer was
lost (:class:`~bridge.errors.HealthcodeOutcomeUncertain`) is never re-sent blindly: the worker
asks for the invoice number first, takes the bill found only when it is its own (not cancelled,
same content: :func:`~bridge.healthcode.jobs.is_own_bill`) and otherwise submits again, which
Healthcode answers with the very same bill's reference (``duplicate``) if it had landed. A submit
Healthcode did not take (:class:`~bridge.errors.HealthcodeUnavailable`: 502, 503, connection
refused) is retried with backoff. Daemon restart: ``running`` bills resume polling (the
daemon's recovery leaves them alone), ``queued`` ones are checked by invoice number first.

The site password is read from ``[healthcode] password_file`` (the V2 key from ``api_key_file``),
again whenever the file changes (:mod:`bridge.clearing.credentials`), and is never logged. When
Healthcode refuses the credentials (an expired password) the bill stays ``queued`` and is retried
with backoff, so a corrected file sends it; meanwhile a new bill is answered -32005
``healthcodeCredentials`` (nothing journalled) unless a credentials check now passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from bridge.config import HealthcodeConfig
from bridge.errors import (
    BillHasProblems,
    CannotStart,
    HealthcodeCredentialsInvalid,
    HealthcodeRejected,
    HealthcodeUnavailable,
    JobNotFound,
    NotAllowedNow,
    TemporarilyUnavailable,
)
from bridge.healthcode.bills import Bill, Problem
from bridge.clearing.enquiry import MemberEnquiry
from bridge.healthcode.intake import check_bill
from bridge.healthcode.members import MemberQuery
from bridge.healthcode.jobs import (
    DUPLICATE_INVOICE,
    merge_problems,
    problem_to_wire,
    read_bill_result,
    replacement_refusal,
    uk_today,
)
from bridge.healthcode.refdata import HealthcodeReference, Registration
from bridge.clearing.reference import load_reference
from bridge.clearing.codelists import CODES_DIRNAME, CodeListStore
from bridge.clearing.credentials import SecretFile
from bridge.clearing.remittances import RemittanceBook
from bridge.healthcode.search import search_codes
from bridge.clearing.transport import HealthcodeTransport
from bridge.clearing.v2 import HealthcodeV2
from bridge.clearing.worker import HealthcodeWorker
from bridge.hub import Hub, Peer, client_of
from bridge.jobs import JobKind, JobState
from bridge.journal import JobRecord, Journal
from bridge.protocol import (
    BillRequest,
    CodeEntry,
    CredentialsResult,
    FindMemberResult,
    HealthcodeCancelParams,
    HealthcodeCodesParams,
    HealthcodeFindMemberParams,
    HealthcodeRemittancesParams,
    HealthcodeSubmitParams,
    HealthcodeValidateParams,
    Job,
    JobError,
    RemittanceEntry,
    ValidateResult,
    job_from_record,
    result_data,
)

__all__ = [
    "HealthcodePart",
    "HealthcodeService",
    "discovery_url",
]

log = logging.getLogger("claimbridge.healthcode")


def discovery_url(config: HealthcodeConfig) -> str:
    """The V2 discovery document: ``discovery_url``, else under ``url``."""
    if config.discovery_url:
        return config.discovery_url
    base = str(config.url or "")
    return (base if base.endswith("/") else base + "/") + ".well-known/discovery-document.json"


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
        enquiry: MemberEnquiry | None = None,
        remittances: RemittanceBook | None = None,
        code_lists: CodeListStore | None = None,
    ) -> None:
        self.journal = journal
        self.hub = hub
        self.worker = worker
        self.reference = reference
        self.now = now
        self._accepting = accepting
        self.config = config
        self.code_lists = code_lists
        self.enquiry = enquiry or MemberEnquiry(None, reference, now)
        self.registrations = {
            healthcode_id: Registration(insurers=entry.insurers, payee=entry.payee)
            for healthcode_id, entry in config.practitioners.items()
        }
        self.remittances = remittances or RemittanceBook(
            journal, hub, worker, None, now, config.remittance_poll_s,
        )

    def methods(self) -> dict[str, Callable[[Any, Peer | None], Awaitable[Any]]]:
        """Method name -> handler, for the dispatcher's table."""
        return {
            "healthcode.checkCredentials": self.check_credentials,
            "healthcode.validate": self.validate,
            "healthcode.submit": self.submit,
            "healthcode.cancel": self.cancel,
            "healthcode.codes": self.codes,
            "healthcode.findMember": self.find_member,
            "healthcode.remittances": self.list_remittances,
        }

    async def check_credentials(self, params: None, peer: Peer | None) -> CredentialsResult:
        """``healthcode.checkCredentials`` -> ``{ok, message}``."""
        check = await self.worker.transport.check_credentials()
        if check.ok:
            self.worker.credentials_refused = None
        return CredentialsResult(ok=check.ok, message=check.message)

    async def validate(self, params: HealthcodeValidateParams, peer: Peer | None) -> ValidateResult:
        """``healthcode.validate``: our pre-flight and Healthcode's side (its dry run, the member
        check, a number already held) in one answer."""
        bill, problems = self._local(params.bill)
        if bill is not None:
            try:
                found = await self._member_problems(bill)
                found += await self.worker.transport.validate(bill)
            except (HealthcodeUnavailable, HealthcodeCredentialsInvalid):
                if not problems:
                    raise  # nothing to answer: -32005 / -32004
                found = []  # the local problems still stand; Healthcode's wait for a retry
            if await self.worker.holder(bill.insurer, bill.invoice_number) is not None:
                found.append(DUPLICATE_INVOICE)
            problems = merge_problems(problems, found)
        return ValidateResult.model_validate(
            {"valid": not problems, "problems": [problem_to_wire(p) for p in problems]}
        )

    async def submit(self, params: HealthcodeSubmitParams, peer: Peer | None) -> Job:
        """``healthcode.submit``: journal the bill, hand it to the worker, return the Job once sent."""
        try:
            existing: JobRecord | None = await self.journal.get_by_request_id(params.requestId)
        except JobNotFound:
            existing = None
        bill, problems = self._local(params.bill)
        if bill is None or (existing is None and problems):
            # A request we cannot send: every problem at once (-32602), nothing journalled, with
            # what Healthcode says of the member when the bill can be read.
            if bill is not None:
                with contextlib.suppress(HealthcodeUnavailable, HealthcodeCredentialsInvalid):
                    problems = merge_problems(problems, await self._member_problems(bill))
            raise BillHasProblems(tuple(problem_to_wire(p) for p in problems), "pre-flight check failed")
        # Healthcode's side of a new bill: its member database refusing it is a failed job.
        refused = await self._member_problems(bill) if existing is None else []
        request = BillRequest(bill=bill, replaces=params.replaces)
        if existing is None:
            if not self._accepting():
                raise TemporarilyUnavailable("shuttingDown")
            if self.worker.credentials_refused is not None:
                # Bills already queued wait for the credentials; a new one is not taken until
                # they work again (their files are re-read: nothing to restart).
                if not (await self.check_credentials(None, peer)).ok:
                    raise TemporarilyUnavailable("healthcodeCredentials", "", int(min(self.config.retry_max_s, 60.0) * 1000))
            if params.replaces is not None:
                await self._refuse_replacement(params.replaces)  # its reason before any other
            async with self.worker.admitting(bill.insurer, bill.invoice_number):
                holder = await self.worker.holder(bill.insurer, bill.invoice_number)
                if holder is not None and holder != params.replaces:
                    # Healthcode refuses a number the insurer holds: a failed job, nothing sent.
                    refused = [DUPLICATE_INVOICE, *refused]
                    note = f"Duplicate Invoice: the number is held by job {holder}; not sent to Healthcode"
                    return await self._refuse(params.requestId, request, refused, note, peer)
                if refused:
                    note = "Healthcode refused the bill (membership); not sent"
                    return await self._refuse(params.requestId, request, refused, note, peer)
                if params.replaces is not None:
                    job, created = await self._create_replacement(
                        params.requestId, request, params.replaces, peer,
                    )
                else:
                    job, created = await self._create(params.requestId, request, peer)
                if created:
                    self.worker.hold(job)
        else:
            job, created = await self._create(params.requestId, request, peer)
        if peer is not None:
            self.hub.own(job.job_id, peer)
        waiter = self.worker.waiter(job.job_id)
        if created:
            self.hub.publish_job(job)
            self.worker.enqueue(job)
        settled = await self.worker.wait_settled(job, self.config.submit_wait_s, waiter)
        return job_from_record(settled)

    async def _refuse(
        self, request_id: str, request: BillRequest, problems: list[Problem], note: str, peer: Peer | None
    ) -> Job:
        """Journal the bill as ``failed`` with the problems Healthcode refuses it for; never sent."""
        job, created = await self._create(request_id, request, peer)
        if peer is not None:
            self.hub.own(job.job_id, peer)
        if created:
            refusal = HealthcodeRejected(tuple(problem_to_wire(p) for p in problems), note)
            error = JobError(code=refusal.code, message=refusal.message, data=refusal.data())
            job = await self.journal.move(job.job_id, JobState.FAILED, error=error, note=note)
            self.hub.publish_job(job)
        return job_from_record(job)

    def _local(self, data: Mapping[str, object]) -> tuple[Bill | None, list[Problem]]:
        """Our one-pass check: structure, Healthcode's published rules, the registrations."""
        insurer = data.get("insurer")
        codes: dict[str, dict[str, str]] = {}
        if isinstance(insurer, str) and self.code_lists is not None:
            for kind in ("isc", "ccsd"):
                listed = self.code_lists.get(insurer, "isc" if kind == "isc" else "ccsd")
                if listed is not None:
                    codes[kind] = listed
        return check_bill(data, today=uk_today(self.now()), reference=self.reference,
                          registrations=self.registrations, insurer_codes=codes)

    async def _member_problems(self, bill: Bill) -> list[Problem]:
        """Find Member's problems with the bill's patient (``member_check``), else none."""
        return await self.enquiry.preflight(bill) if self.config.member_check else []

    async def find_member(self, params: HealthcodeFindMemberParams, peer: Peer | None) -> FindMemberResult:
        """``healthcode.findMember``: problems for the insurer's missing fields, else Find Member."""
        given = MemberQuery(
            membershipNumber=params.membershipNumber, firstName=params.firstName, lastName=params.lastName,
            dateOfBirth=params.dateOfBirth, postcode=params.postcode,
        )
        return FindMemberResult.model_validate(await self.enquiry.find(params.insurer, given))

    async def list_remittances(self, params: HealthcodeRemittancesParams, peer: Peer | None) -> list[RemittanceEntry]:
        """``healthcode.remittances``: the insurer's remittances, recorded on their bills' jobs."""
        found = await self.remittances.search(params.insurer, params.since, params.invoiceNumber)
        return [RemittanceEntry.model_validate(remittance.to_wire()) for remittance in found]

    async def _create(self, request_id: str, request: BillRequest, peer: Peer | None) -> tuple[JobRecord, bool]:
        client = client_of(peer)  # history's ``by``: the client that made the request
        return await self.journal.create_job(
            kind=JobKind.HEALTHCODE_BILL, request_id=request_id, terminal=None, request=request,
            by=client.name if client is not None else None,
        )

    async def _refuse_replacement(self, old_id: str) -> None:
        """Raise unless bill job ``old_id`` may be resubmitted (JobNotFound, NotAllowedNow)."""
        old = await self.journal.get(old_id)
        if old.kind is not JobKind.HEALTHCODE_BILL:
            raise NotAllowedNow(
                "notABill", "only a Healthcode bill can be resubmitted", {"jobId": old_id, "kind": str(old.kind)},
            )
        refused = replacement_refusal(old.state, read_bill_result(result_data(old.result)))
        if refused is not None:
            raise NotAllowedNow(*refused, {"jobId": old_id})

    async def _create_replacement(
        self, request_id: str, request: BillRequest, old_id: str, peer: Peer | None
    ) -> tuple[JobRecord, bool]:
        """Journal a resubmission of bill job ``old_id`` and point the two jobs at each other.

        Raises:
            JobNotFound: No job ``old_id``.
            NotAllowedNow: The job is not a bill, is still in progress, was paid or was already
                resubmitted (-32004, ``data.reason`` says which).
        """
        # Under the old job's lock, so two resubmissions of one bill cannot both pass.
        async with self.worker.lock(old_id):
            await self._refuse_replacement(old_id)
            job, created = await self._create(request_id, request, peer)
        if created:
            if peer is not None:
                self.hub.own(old_id, peer)  # it hears of the old bill's replacedBy too
            await self.worker.point_replaced(old_id, job.job_id)
        return job, created

    async def cancel(self, params: HealthcodeCancelParams, peer: Peer | None) -> Job:
        """``healthcode.cancel``: before collection only."""
        if peer is not None:
            self.hub.own(params.jobId, peer)
        return job_from_record(await self.worker.cancel(params.jobId))

    async def codes(self, params: HealthcodeCodesParams, peer: Peer | None) -> list[CodeEntry]:
        """``healthcode.codes``: the pick-list ``[{code, description, allowed}]``; for an insurer
        with its own imported ISC or CCSD list, codes outside it are ``allowed: false``."""
        imported = None
        if params.insurer is not None and params.kind in ("isc", "ccsd") and self.code_lists is not None:
            imported = self.code_lists.get(params.insurer, "isc" if params.kind == "isc" else "ccsd")
        matches = search_codes(params.kind, params.query, params.insurer, params.limit, self.reference, imported)
        return [CodeEntry.model_validate(m.model_dump(mode="json", by_alias=True)) for m in matches]


# --------------------------------------------------------------------------------------------
# Wiring
# --------------------------------------------------------------------------------------------


def _required(config: HealthcodeConfig) -> tuple[str, str, str, Path]:
    """``url``, ``site_id``, ``user_id`` and ``password_file``, or why the daemon cannot start."""
    if not config.url:
        raise CannotStart("claimbridge: [healthcode] url is not set")
    if not config.site_id or not config.user_id or not config.password_file:
        missing = [name for name in ("site_id", "user_id", "password_file") if not getattr(config, name)]
        raise CannotStart(f"claimbridge: [healthcode] url is set but {', '.join(missing)} is not")
    return config.url, config.site_id, config.user_id, Path(os.path.expanduser(str(config.password_file)))


def _reference(config: HealthcodeConfig) -> HealthcodeReference:
    """The package's reference data, or ``reference_dir``'s (a clinic's own lists)."""
    folder = Path(os.path.expanduser(str(config.reference_dir))) if config.reference_dir else None
    try:
        return load_reference(folder)
    except (OSError, ValueError) as exc:
        raise CannotStart(f"claimbridge: [healthcode] reference_dir {folder}: cannot read it ({exc})") from exc


def _secret(path: Path, setting: str) -> SecretFile:
    try:
        return SecretFile(path, setting)
    except ValueError as exc:
        raise CannotStart(f"claimbridge: {exc}") from exc


class HealthcodePart:
    """Healthcode in the daemon: the transport, the V2 client, the bill worker, the remittance
    poller and the ``healthcode.*`` methods, built from ``[healthcode]``.

    Entering it opens the transport (and the V2 client when ``api_key_id`` and
    ``api_key_file`` are set); :meth:`run` runs the worker (``claimbridge.clearing.worker``)
    and the poller (``claimbridge.clearing.remittances``) until cancelled.

    Args:
        config: ``[healthcode]``, with ``url`` set.
        journal: The durable job store.
        hub: Notification fan-out.
        now: The daemon's clock (aware datetimes).
        accepting: False while the daemon drains.

    Raises:
        CannotStart: ``site_id``, ``user_id`` or a readable ``password_file`` is missing, or
            ``member_check`` is on without a V2 key (one plain line naming the setting).
    """

    def __init__(
        self,
        config: HealthcodeConfig,
        journal: Journal,
        hub: Hub,
        now: Callable[[], datetime],
        accepting: Callable[[], bool],
        state_dir: Path | None = None,
    ) -> None:
        url, site_id, user_id, password_file = _required(config)
        self.transport = HealthcodeTransport(
            url, site_id, user_id, _secret(password_file, "password_file"), timeout=config.timeout_s,
        )
        self.v2: HealthcodeV2 | None = None
        if config.api_key_id and config.api_key_file:
            api_key = _secret(Path(os.path.expanduser(str(config.api_key_file))), "api_key_file")
            self.v2 = HealthcodeV2(
                discovery_url(config), site_id, config.api_key_id, api_key,
                timeout=config.timeout_s, retry_initial_s=config.retry_initial_s,
                retry_max_s=min(config.retry_max_s, 10.0),
            )
        elif config.member_check:
            raise CannotStart("claimbridge: [healthcode] member_check = true needs api_key_id and api_key_file")
        reference = _reference(config)
        search_codes("icd10", "", None, 1, reference)  # builds the ICD-10 index before serving
        self.worker = HealthcodeWorker(journal, hub, self.transport, config)
        self.service = HealthcodeService(
            journal, hub, self.worker, reference, now, accepting, config,
            MemberEnquiry(self.v2, reference, now),
            RemittanceBook(journal, hub, self.worker, self.v2, now, config.remittance_poll_s),
            CodeListStore(Path(state_dir) / CODES_DIRNAME) if state_dir is not None else None,
        )
        self._stack = contextlib.AsyncExitStack()

    def methods(self) -> dict[str, Callable[[Any, Peer | None], Awaitable[Any]]]:
        """The ``healthcode.*`` handlers, for the dispatcher's table."""
        return self.service.methods()

    async def __aenter__(self) -> HealthcodePart:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(self.transport)
            if self.v2 is not None:
                await stack.enter_async_context(self.v2)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def run(self) -> None:
        """Submit and follow bills, and poll remittances, until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.worker.run(), name="claimbridge.clearing.worker")
            group.create_task(self.service.remittances.run(), name="claimbridge.clearing.remittances")
