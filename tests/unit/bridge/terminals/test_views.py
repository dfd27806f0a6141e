"""bridge/terminals/views.py: the money guards' view, read off the journal's request and result models."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.jobs import JobKind, JobState
from bridge.journal import JobRecord
from bridge.protocol import JobRequest, JobResult
from bridge.terminals.views import job_view
from tests.job_requests import bill_outcome, claim_outcome, payment_outcome, request_for


def _record(kind: JobKind, request: JobRequest, result: JobResult | None, state: JobState = JobState.COMPLETED) -> JobRecord:
    job = JobRecord.queued("j", "r", kind, "t", request, "p", "2026-11-22T23:00:00+00:00", 1)
    return job.moved(state, "2026-11-22T23:00:01+00:00", 2, result, None, False)


def test_a_claim_s_view_has_its_result_word_gap_and_times() -> None:
    claim = _record(JobKind.CLAIM, request_for(JobKind.CLAIM), claim_outcome(
        result="APPROVED", gap=4000, terminalAt="2026-11-23T10:00:00+11:00", settlementAt="2026-11-24T14:00:00+11:00",
    ))
    view = job_view(claim)
    assert (view.result, view.gap, view.asked, view.paid, view.parent_job_id) == ("APPROVED", 4000, None, None, "p")
    assert view.terminal_at == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    assert view.settlement_at == datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def test_a_payment_s_view_has_the_amount_asked_and_the_amount_the_terminal_reported() -> None:
    gap = job_view(_record(JobKind.GAP, request_for(JobKind.GAP, amount=4000), payment_outcome(result="DECLINED", amount=3000)))
    assert (gap.result, gap.asked, gap.paid, gap.gap) == ("DECLINED", 4000, 3000, None)
    queued = job_view(_record(JobKind.REFUND, request_for(JobKind.REFUND, amount=500), None, JobState.QUEUED))
    assert (queued.result, queued.asked, queued.paid, queued.state) == (None, 500, None, JobState.QUEUED)


def test_a_job_that_is_no_transaction_has_nothing_a_guard_counts() -> None:
    bill = job_view(_record(JobKind.HEALTHCODE_BILL, request_for(JobKind.HEALTHCODE_BILL), bill_outcome()))
    assert (bill.kind, bill.result, bill.asked, bill.paid, bill.gap) == (JobKind.HEALTHCODE_BILL, None, None, None, None)
