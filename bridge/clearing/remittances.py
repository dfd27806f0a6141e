"""Healthcode remittances in the daemon: ``healthcode.remittances`` and the poller.

Every ``[healthcode] remittance_poll_s`` (default 3600) the poller asks Healthcode's V2
remittance API, for each insurer that has a collected bill not yet paid, for the remittances
since the oldest such bill, and records each line on the bill's job (matched by invoice
number): ``result.paid``, ``result.shortfall``, ``result.paymentReference``, ``result.datePaid``,
``result.rejected`` (true when the insurer paid nothing: a rejection, not a payment) and
``result.reason`` (the insurer's reason, when the remittance gives one) — journalled, with a
``job.updated``. A remittance is never ingested twice, across restarts
too: the ids of the remittances a job took are kept in its ``result.remittanceIds``, and a line
whose remittance id is there already is skipped.

The HTTP calls are :class:`~bridge.clearing.v2.HealthcodeV2`; reading FHIR and pence is
:mod:`bridge.healthcode.fhir` (pure).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime

from bridge.errors import HealthcodeError, NotAllowedNow
from bridge.healthcode.fhir import Remittance, read_remittance, resources
from bridge.healthcode.jobs import read_bill_result, uk_today
from bridge.healthcode.status import BillStatus
from bridge.clearing.v2 import HealthcodeV2
from bridge.clearing.worker import HealthcodeWorker
from bridge.hub import Hub
from bridge.jobs import JobKind, JobState
from bridge.protocol import BillOutcome, BillRequest, result_data
from bridge.journal import JobRecord, Journal

__all__ = ["RemittanceBook"]

log = logging.getLogger("claimbridge.healthcode")

#: Remittance summaries asked for per page.
_PAGE = 50
#: Pages read per search at most (a guard against a server that never stops paging).
_MAX_PAGES = 100


def _pounds(pence: int) -> str:
    return f"£{pence // 100}.{pence % 100:02d}"


class RemittanceBook:
    """Fetches remittances and records them on the bills' jobs.

    Args:
        journal: The durable job store.
        hub: Where ``job.updated`` goes.
        worker: The bill worker (its per-job locks keep a payment and a resubmission apart).
        v2: The open V2 client; None when ``api_key_id`` is not set.
        now: The daemon's clock.
        poll_s: Seconds between polls.
    """

    def __init__(
        self,
        journal: Journal,
        hub: Hub,
        worker: HealthcodeWorker,
        v2: HealthcodeV2 | None,
        now: Callable[[], datetime],
        poll_s: float,
    ) -> None:
        self.journal = journal
        self.hub = hub
        self.worker = worker
        self.v2 = v2
        self.now = now
        self.poll_s = poll_s
        #: Lines recorded on jobs, and poll rounds finished, since start (tests and logs).
        self.ingested = 0
        self.polls = 0

    # --- fetching -----------------------------------------------------------------------------

    async def fetch(self, insurer: str, since: date | None = None, invoice_number: str | None = None) -> list[Remittance]:
        """The insurer's remittances from Healthcode, each with its details.

        Raises:
            NotAllowedNow: V2 credentials are not configured.
            HealthcodeUnavailable, HealthcodeCredentialsInvalid: Healthcode could not be asked.
        """
        if self.v2 is None:
            raise NotAllowedNow("notConfigured", "remittances are not configured: set [healthcode] api_key_id and api_key_file")
        form = {"insurerIdentifier": insurer, "count": str(_PAGE), "_sort": "createdOn"}
        if since is not None:
            form["_since"] = since.isoformat()
        if invoice_number is not None:
            form["invoiceNumber"] = invoice_number
        found: list[Remittance] = []
        for page in range(1, _MAX_PAGES + 1):
            bundle = await self.v2.search_remittances({**form, "page": str(page)})
            summaries = list(resources(bundle, "PaymentReconciliation"))
            for summary in summaries:
                remittance_id = summary.get("id")
                details = await self.v2.remittance_details(str(remittance_id)) if remittance_id else None
                remittance = read_remittance(summary, details)
                if remittance is None:
                    log.warning("Healthcode remittance without id or amount skipped")
                    continue
                found.append(remittance)
            total = bundle.get("total") if isinstance(bundle, dict) else None
            if len(summaries) < _PAGE or (isinstance(total, int) and page * _PAGE >= total):
                break
        return found

    async def search(self, insurer: str, since: date | None, invoice_number: str | None) -> list[Remittance]:
        """``healthcode.remittances``: fetched, recorded on their jobs, each line's ``jobId``."""
        remittances = await self.fetch(insurer, since, invoice_number)
        bills = await self._bills_by_invoice()
        out = []
        for remittance in remittances:
            await self.ingest(remittance, bills)
            lines = tuple(
                line.model_copy(update={"job_id": bills[(remittance.insurer, line.invoice_number)].job_id})
                if (remittance.insurer, line.invoice_number) in bills else line
                for line in remittance.lines
            )
            out.append(remittance.model_copy(update={"lines": lines}))
        return out

    # --- recording ----------------------------------------------------------------------------

    async def _bills_by_invoice(self) -> dict[tuple[str, str], JobRecord]:
        """(insurer, invoice number) -> the bill job a remittance line pays: a collected one, or
        one still ``running`` that Healthcode has (a remittance can come before the daemon's next
        status poll: it is recorded all the same, and the poll keeps it); the newest that was not
        resubmitted (a resubmission's line pays the resubmission). Numbers are unique per insurer
        only."""
        jobs = await self.journal.list_jobs(
            states=[JobState.COMPLETED, JobState.RUNNING], kind=JobKind.HEALTHCODE_BILL, oldest_first=True,
        )
        bills: dict[tuple[str, str], JobRecord] = {}
        for job in jobs:
            result = job.result_as(BillOutcome)
            if result is None:
                continue
            submitted = job.state is JobState.RUNNING and result.reference and result.status != BillStatus.CANCELLED
            if not (submitted or result.status == BillStatus.COLLECTED) or result.replacedBy:
                continue
            bill = job.request_as(BillRequest).bill
            bills[(bill.insurer, bill.invoice_number)] = job
        return bills

    async def ingest(self, remittance: Remittance, bills: dict[tuple[str, str], JobRecord] | None = None) -> int:
        """Record each line of ``remittance`` on its bill's job, once; returns lines recorded."""
        bills = await self._bills_by_invoice() if bills is None else bills
        recorded = 0
        for line in remittance.lines:
            key = (remittance.insurer, line.invoice_number)
            job = bills.get(key)
            if job is None:
                continue
            async with self.worker.lock(job.job_id):
                current = await self.journal.get(job.job_id)
                result = read_bill_result(result_data(current.result))
                taken = list(result.get("remittanceIds") or [])
                if remittance.remittance_id in taken:
                    continue
                paid = (result.get("paid") or 0) + line.amount_paid
                result.update({
                    "paid": paid,
                    "shortfall": line.shortfall,
                    "paymentReference": remittance.payment_reference,
                    "datePaid": remittance.date_paid.isoformat() if remittance.date_paid else None,
                    "remittanceIds": [*taken, remittance.remittance_id],
                    # Nothing paid is no payment: the insurer rejected the bill.
                    "rejected": paid == 0,
                })
                if line.reason is not None:
                    result["reason"] = line.reason
                note = (f"remittance {remittance.remittance_id} ({remittance.payment_reference}): "
                        + ("rejected" if paid == 0 else f"paid {_pounds(line.amount_paid)}")
                        + f", shortfall {_pounds(line.shortfall)}"
                        + (f" ({line.reason})" if line.reason else ""))
                updated = await self.journal.update_result(job.job_id, BillOutcome.model_validate(result), note=note)
            bills[key] = updated
            self.hub.publish_job(updated)
            recorded += 1
        self.ingested += recorded
        return recorded

    # --- the poller ---------------------------------------------------------------------------

    async def poll_once(self) -> int:
        """One round: every insurer with a collected, unpaid bill; returns lines recorded."""
        bills = await self._bills_by_invoice()
        since: dict[str, date] = {}
        for job in bills.values():
            outcome = job.result_as(BillOutcome)
            if outcome is not None and outcome.paid is not None:
                continue
            insurer = job.request_as(BillRequest).bill.insurer
            day = uk_today(job.created_at)
            since[insurer] = min(day, since.get(insurer, day))
        recorded = 0
        for insurer, day in sorted(since.items()):
            for remittance in await self.fetch(insurer, day):
                recorded += await self.ingest(remittance, bills)
        return recorded

    async def run(self) -> None:
        """Poll every ``poll_s`` seconds until cancelled; a failed round is retried next time."""
        if self.v2 is None:
            return
        while True:
            try:
                recorded = await self.poll_once()
                self.polls += 1
                if recorded:
                    log.info("Healthcode remittances: %d bill(s) paid", recorded)
            except asyncio.CancelledError:
                raise
            except HealthcodeError as exc:
                log.warning("Healthcode remittances not fetched (%s); next try in %.0f s", exc, self.poll_s)
            except Exception:  # a bug must not stop the poller
                log.exception("Healthcode remittances: poll failed unexpectedly")
            await asyncio.sleep(self.poll_s)
