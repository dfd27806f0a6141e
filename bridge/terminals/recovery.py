"""A terminal's recovery: after an outcome was lost, and at start-up, re-attach and re-queue.

A job whose outcome is uncertain is ``unknown`` and is never sent again. Recovery reloads the
page (after a lost answer iClient's channel would refuse every new call with "Transaction
already in progress.") and asks the terminal with ``continueLastTransaction``; the answer
completes the job only when its echoed fields prove it is the same transaction
(:func:`bridge.healthpoint.is_same_transaction`). Recovery drives the page through the FIFO
runner it belongs to, which it names as :class:`Runner`: no private attribute is reached.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from bridge.errors import ClaimbridgeError, TemporarilyUnavailable
from bridge.healthpoint.operation import (
    TRANSACTION_KINDS,
    Call,
    Finish,
    HealthPointOperation,
    LeaveUnknown,
    NotRunnable,
    terminal_info_call,
)
from bridge.jobs import JobKind, JobState
from bridge.journal import JobRecord, Journal
from bridge.browser.page import TerminalPage
from bridge.terminals.audit import AuditTrail
from bridge.terminals.operations import next_op_id, pairing_keys, wait_kind

__all__ = ["Recovery", "Runner", "wait_ready"]

log = logging.getLogger("claimbridge.terminals")

#: How long a reloaded page may take to come back before a re-attach gives up.
_PAGE_BACK_S = 120.0


async def wait_ready(is_ready: Callable[[], bool], timeout: float, poll_s: float = 0.05) -> None:
    """Wait for a page to be loaded (after a reload or a browser crash).

    Raises:
        TemporarilyUnavailable: It did not come back within ``timeout`` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not is_ready():
        if loop.time() > deadline:
            raise TemporarilyUnavailable("browserRestarting", "the terminal page did not come back")
        await asyncio.sleep(poll_s)


class Runner(Protocol):
    """What recovery needs of the terminal's FIFO runner (:class:`~bridge.terminals.TerminalWorker`)."""

    @property
    def name(self) -> str: ...
    @property
    def ready(self) -> bool: ...
    @property
    def lock(self) -> asyncio.Lock: ...
    async def load_page(self) -> None: ...
    def enqueue(self, job_id: str) -> None: ...
    async def operation(self, job: JobRecord) -> HealthPointOperation: ...
    async def continue_last(self, hp: HealthPointOperation, call: Call) -> Finish | LeaveUnknown | None: ...
    async def conclude(self, job_id: str, end: Finish | LeaveUnknown, kind: JobKind) -> None: ...


class Recovery:
    """Re-attaching ``unknown`` jobs of one terminal and re-queueing its ``queued`` ones.

    Args:
        runner: The terminal's FIFO runner.
        journal: The durable job store.
        page: The terminal's page.
        audit: The runner's audit trail (notes on what recovery found).
    """

    def __init__(self, runner: Runner, journal: Journal, page: TerminalPage, audit: AuditTrail) -> None:
        self._runner = runner
        self._journal = journal
        self._page = page
        self._audit = audit

    async def after_unknown(self, job_id: str, hp: HealthPointOperation) -> None:
        """After a crash or a lost answer: a fresh page, then try to re-attach ``hp``'s job."""
        try:
            if self._runner.ready:
                await self._runner.load_page()
            else:
                await wait_ready(lambda: self._runner.ready, _PAGE_BACK_S)
            await self.reattach(job_id, hp)
        except ClaimbridgeError as exc:
            log.warning("job %s stays unknown: %s", job_id, exc)
            await self._audit.note(job_id, "reattach", f"failed: {exc}")

    async def reattach(self, job_id: str, hp: HealthPointOperation | None = None) -> bool:
        """``continueLastTransaction`` for an ``unknown`` job; True when it completed it.

        ``hp``: the operation that ran the job in this process; after a restart one is made
        from the journal.
        """
        job = await self._journal.get(job_id)
        if job.state is not JobState.UNKNOWN or job.kind not in TRANSACTION_KINDS:
            return False
        pairing = await self._journal.pairing(self._runner.name)
        if pairing is None:
            return False
        keys = pairing_keys(pairing)
        try:
            if hp is None:
                hp = await self._runner.operation(job)
            call = hp.reattach(keys)
        except NotRunnable as exc:
            await self._audit.note(job_id, "reattach", f"failed: {exc}")
            return False
        info_call = terminal_info_call(keys)
        info = await self._page.start(next_op_id("info"), info_call.method, info_call.request)
        try:
            await wait_kind(info, ("info",), 15.0)
        finally:
            self._page.finish(info.op_id)
        end = await self._runner.continue_last(hp, call)
        if end is None:
            return False
        await self._runner.conclude(job_id, end, job.kind)
        return isinstance(end, Finish) and (await self._journal.get(job_id)).state is JobState.COMPLETED

    async def recover(self) -> None:
        """On start: try to re-attach the job this terminal was sent last, when it is ``unknown``
        (found by the journal's order, never by recorded time: the clock may have jumped), and
        re-queue the ``queued`` ones (never sent: ``running`` is committed before sending)."""
        name = self._runner.name
        async with self._runner.lock:
            last = await self._journal.last_started(name)
            if last is not None and last.state is JobState.UNKNOWN and last.kind in TRANSACTION_KINDS:
                try:
                    await self.reattach(last.job_id)
                except ClaimbridgeError as exc:
                    await self._audit.note(last.job_id, "reattach", f"failed: {exc}")
                await self._audit.flush()
        for job in await self._journal.list_jobs(states=[JobState.QUEUED], terminal=name, oldest_first=True):
            self._runner.enqueue(job.job_id)
