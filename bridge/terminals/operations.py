"""Page operations the worker runs besides transactions: ids, waiting for an answer, reports.

Each helper drives one iClient operation on a :class:`~bridge.browser.page.TerminalPage` and owns
no state; the caller holds the terminal's lock (one operation on a terminal at a time).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping

from bridge import healthpoint
from bridge.healthpoint.claims import ClaimRequest, ClaimResult
from bridge.healthpoint.operation import HealthPointOperation, OperationRequest, Parent, report_call
from bridge.errors import TerminalError
from bridge.lifecycle import iclient_unreachable
from bridge.journal import JobRecord, PairingRecord
from bridge.protocol import ClaimParams, GapParams, RefundParams
from bridge.browser.page import Operation, PageEvent, TerminalPage

__all__ = [
    "REPORT_TIMEOUT_S", "healthpoint_operation", "next_op_id", "pairing_keys", "read_reconciliation", "wait_kind",
]

_counter = itertools.count(1)

#: How long iClient may take to return a reconciliation report.
REPORT_TIMEOUT_S = 60.0


def next_op_id(prefix: str) -> str:
    """A page operation id unique within this process, like ``report-7``."""
    return f"{prefix}-{next(_counter)}"


def pairing_keys(record: PairingRecord) -> healthpoint.Pairing:
    """The journal's pairing record as the keys iClient's headless calls carry."""
    return healthpoint.Pairing(mid=record.mid, tid=record.tid, integrationKey=record.integration_key)


def healthpoint_operation(job: JobRecord, made_against: JobRecord | None) -> HealthPointOperation:
    """A job's HealthPoint operation, read off the journal's models (nothing validated again):
    its claim, policy or amount, and for a cancel or gap the claim it was made against and that
    claim's result.

    Raises:
        NotRunnable: the job's kind does not run on a terminal.
    """
    request = job.request
    parent = None
    if made_against is not None:
        claim = made_against.request
        result = made_against.result
        parent = Parent(claim if isinstance(claim, ClaimRequest) else None,
                        result if isinstance(result, ClaimResult) else None)
    return HealthPointOperation(job.kind, job.job_id, OperationRequest(
        claim=request if isinstance(request, ClaimRequest) else None,
        on_approved=request.onApproved if isinstance(request, ClaimParams) else None,
        amount=request.amount if isinstance(request, (GapParams, RefundParams)) else None,
    ), parent)


async def wait_kind(op: Operation, kinds: tuple[str, ...], timeout: float) -> PageEvent:
    """The operation's first event of one of ``kinds``.

    Raises:
        TerminalError: none within ``timeout`` seconds, or the page crashed.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            event = await asyncio.wait_for(op.events.get(), timeout=max(deadline - loop.time(), 0.01))
        except TimeoutError as exc:
            raise TerminalError(f"no {'/'.join(kinds)} answer from iClient within {timeout:.0f} s") from exc
        if event.kind == "crashed":
            raise TerminalError(str(event.payload))
        if event.kind == "unreachable":
            raise iclient_unreachable(str(event.payload))
        if event.kind in kinds:
            return event


async def read_reconciliation(
    page: TerminalPage, keys: healthpoint.Pairing, date: str, report_type: str,
) -> healthpoint.Reconciliation:
    """iClient's ``healthpointReconciliationReport`` for a Sydney business day, parsed.

    Args:
        page: The terminal's page (the caller holds the terminal's lock).
        keys: The terminal's pairing keys.
        date: ``YYYY-MM-DD``.
        report_type: ``claims`` or ``payments``.

    Raises:
        TerminalError: no report within :data:`REPORT_TIMEOUT_S`, or the page crashed.
    """
    call = report_call(keys, date, report_type)
    op = await page.start(next_op_id("report"), call.method, call.request)
    try:
        event = await wait_kind(op, ("report",), REPORT_TIMEOUT_S)
    except TerminalError:
        # iClient may still hold the report's channel: every new call would be refused "already
        # in progress" until the page is loaded again (the page supervisor does it).
        page.stale = True
        raise
    finally:
        page.finish(op.op_id)
    answer = event.payload  # the page's JSON: an object, or nothing to read
    return healthpoint.parse_reconciliation(answer if isinstance(answer, Mapping) else {}, report_type)
