"""bridge/protocol/jobs.py: a journal row as the protocol's Job, and its exact wire form.

Rows are decoded from stored JSON text by the journal's own ``job_from_row`` (as the daemon
reads them), so what is checked here is the whole way from the stored bytes to the wire."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bridge.jobs import JobKind
from bridge.journal import JobRecord
from bridge.journal.records import job_from_row
from bridge.protocol import METHODS, ClaimOutcome, HistoryEntry, Job, JobPage, PaymentOutcome, PendingQuestion, job_from_record, job_wire
from bridge.protocol import request_data
from tests.job_requests import request_for

AT = datetime(2026, 11, 22, 23, 0, 0, 226887, tzinfo=UTC)


def _row(
    kind: str, request: Any, result: Any = None, error: Any = None, state: str = "running", **fields: Any,
) -> JobRecord:
    """A stored row (JSON columns as text, as the journal keeps them) decoded as the journal does."""
    row = {
        "job_id": "j1", "request_id": "r1", "kind": kind, "terminal": "front-desk", "state": state,
        "request": json.dumps(request), "result": None if result is None else json.dumps(result),
        "error": None if error is None else json.dumps(error), "parent_job_id": None,
        "created_at": AT.isoformat(), "updated_at": AT.isoformat(), "seq": 0, **fields,
    }
    return job_from_row(row)


def _job(kind: JobKind = JobKind.CLAIM, result: Any = None, error: Any = None, state: str = "running") -> JobRecord:
    return _row(str(kind), request_data(request_for(kind, "r1")), result, error, state)


def test_the_wire_has_the_interfaces_fields_with_nulls_where_empty() -> None:
    wire = job_wire(job_from_record(_job()))
    assert set(wire) == {"jobId", "requestId", "kind", "seq", "terminal", "state", "createdAt", "updatedAt",
                         "request", "result", "error", "question"}
    assert wire["result"] is None and wire["error"] is None and wire["question"] is None
    assert wire["state"] == "running" and wire["kind"] == "claim"
    assert wire["request"] == request_data(request_for(JobKind.CLAIM, "r1"))


def test_times_keep_the_offset_as_isoformat_writes_it() -> None:
    wire = job_wire(job_from_record(_job()))
    assert wire["createdAt"] == AT.isoformat() == "2026-11-22T23:00:00.226887+00:00"


def test_receipts_are_lifted_out_of_the_result_and_the_question_carried() -> None:
    job = _job(result={"result": "APPROVED", "receipts": {"merchant": "M"}})
    model = job_from_record(job, PendingQuestion(text="Accept?", options=("ACCEPT",)))
    wire = job_wire(model)
    assert wire["receipts"] == {"merchant": "M"} and wire["result"] == {"result": "APPROVED"}
    assert wire["question"] == {"text": "Accept?", "options": ["ACCEPT"]}
    assert "history" not in wire


def test_the_result_is_read_by_the_model_of_its_kind_and_keeps_extra_fields() -> None:
    claim = _job(result={"result": "APPROVED", "fundNote": "x"})
    assert isinstance(job_from_record(claim).result, ClaimOutcome)
    assert job_wire(job_from_record(claim))["result"] == {"result": "APPROVED", "fundNote": "x"}
    gap = _job(JobKind.GAP, result={"result": "APPROVED", "amount": 3000})
    assert isinstance(job_from_record(gap).result, PaymentOutcome)


def test_errors_as_the_daemon_writes_them_fit() -> None:
    for error in ({"message": "no answer from the terminal"}, {"message": "Declined", "code": "93"},
                  {"code": -32003, "message": "not paired", "data": {"terminal": "t"}}):
        assert job_wire(job_from_record(_job(error=error)))["error"] == error


def test_history_only_when_asked_for_with_times_as_the_journal_stores_them() -> None:
    entries = [{"at": "2026-11-22T23:00:00.000000+00:00", "event": "state", "state": "queued"},
               {"at": AT.isoformat(), "event": "answer", "message": "ACCEPT", "by": "Sam"}]
    wire = job_wire(job_from_record(_job(), None, [HistoryEntry.model_validate(e) for e in entries]))
    assert wire["history"] == entries


def test_an_unknown_job_resolved_by_hand_fits_with_only_its_resolution() -> None:
    resolution = {"outcome": "approved", "note": "fund says approved", "at": AT.isoformat()}
    for kind in (JobKind.CLAIM, JobKind.GAP):
        row = _job(kind, result={"resolution": resolution}, state="resolved")
        assert job_wire(job_from_record(row))["result"] == {"resolution": resolution}


def test_a_row_that_does_not_fit_the_documented_job_is_refused_where_it_is_read() -> None:
    # The journal decodes it once (a ValueError: skipped in a list, -32005 for a single job).
    with pytest.raises(ValidationError):
        _job(result={"totalBenefit": "twelve dollars"})


def _recorded_jobs() -> list[dict[str, Any]]:
    examples = json.loads((Path(__file__).resolve().parents[4] / "docs" / "protocol_examples.json").read_text())
    jobs: list[dict[str, Any]] = []
    for method, exchanges in examples["methods"].items():
        if METHODS[method].result in (Job, list[Job], list[Job] | JobPage):
            for exchange in exchanges:
                result = exchange.get("result")
                if isinstance(result, dict) and "nextSince" in result:
                    result = result["jobs"]
                jobs.extend(result if isinstance(result, list) else [result] if result else [])
    return jobs


def test_every_recorded_job_comes_out_exactly_as_the_daemon_sent_it() -> None:
    jobs = _recorded_jobs()
    assert len(jobs) >= 10 and {j["kind"] for j in jobs} >= {"claim", "cancel", "gap", "refund", "healthcodeBill"}
    for wire in jobs:
        result = wire["result"] if wire.get("receipts") is None else {**wire["result"], "receipts": wire["receipts"]}
        row = _row(wire["kind"], wire["request"], result, wire["error"], wire["state"], job_id=wire["jobId"],
                   request_id=wire["requestId"], terminal=wire["terminal"], created_at=wire["createdAt"],
                   updated_at=wire["updatedAt"], seq=wire["seq"])
        history = [HistoryEntry.model_validate(e) for e in wire["history"]] if "history" in wire else None
        question = PendingQuestion.model_validate(wire["question"]) if wire["question"] is not None else None
        assert job_wire(job_from_record(row, question, history)) == wire, wire["jobId"]
