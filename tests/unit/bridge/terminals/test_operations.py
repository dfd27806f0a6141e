"""bridge/terminals/operations.py: operation ids, pairing keys and a job's HealthPoint operation
read off the journal's models (the page-driving helpers run against real Chromium in
tests/e2e/daemon: pairing, reports, re-attach)."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.jobs import JobKind, JobState
from bridge.journal import JobRecord, PairingRecord
from bridge.protocol import JobRequest, JobResult
from bridge.terminals.operations import healthpoint_operation, next_op_id, pairing_keys
from tests.job_requests import claim as claim_params, claim_outcome, payment_outcome, request_for


def test_operation_ids_are_unique_and_keep_their_prefix() -> None:
    ids = {next_op_id("report") for _ in range(100)}
    assert len(ids) == 100 and all(i.startswith("report-") for i in ids)


def test_pairing_keys_come_from_the_journal_record() -> None:
    record = PairingRecord("front-desk", 2187, 1, "secret-key", datetime(2026, 11, 22, tzinfo=UTC))
    keys = pairing_keys(record)
    assert keys.as_iclient() == {"mid": 2187, "tid": 1, "integrationKey": "secret-key"}
    assert "secret-key" not in repr(keys)


def _record(kind: JobKind, request: JobRequest, result: JobResult | None = None, parent: str | None = None) -> JobRecord:
    job = JobRecord.queued(f"{kind}-1", "r", kind, "t", request, parent, "2026-11-22T23:00:00+00:00", 1)
    return job.moved(JobState.COMPLETED, "2026-11-22T23:00:01+00:00", 2, result, None, False) if result else job


def test_a_job_s_operation_reads_the_journal_s_models_as_they_are() -> None:
    claim = _record(JobKind.CLAIM, claim_params("r", onApproved="accept"))
    hp = healthpoint_operation(claim, None)
    assert hp.request.claim is claim.request and hp.request.on_approved == "accept" and hp.parent is None
    call = hp.call(None)
    assert call.answers == ("ACCEPT",) and call.request is not None and call.request["transactionId"] == claim.job_id
    approved = _record(JobKind.CLAIM, claim_params("r"), claim_outcome(result="APPROVED", refTag="RT-1", gap=40,
                                                                        transactionId="hp-1"))
    gap = healthpoint_operation(_record(JobKind.GAP, request_for(JobKind.GAP, amount=30), parent=approved.job_id), approved)
    assert gap.request.amount == 30 and gap.parent is not None and gap.parent.result is approved.result
    assert gap.call(None).request is not None
    cancel = healthpoint_operation(_record(JobKind.CANCEL, request_for(JobKind.CANCEL)), approved)
    assert cancel.parent is not None and cancel.parent.claim is approved.request and cancel.request.claim is None
    refund = healthpoint_operation(_record(JobKind.REFUND, request_for(JobKind.REFUND, amount=20)),
                                   _record(JobKind.GAP, request_for(JobKind.GAP), payment_outcome(result="APPROVED")))
    assert refund.request.amount == 20 and refund.parent is not None and refund.parent.result is None
