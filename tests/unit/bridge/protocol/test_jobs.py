"""bridge/protocol/jobs.py: a journal row as the protocol's Job, and its exact wire form."""

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bridge.jobs import JobKind, JobState
from bridge.journal import JobRecord
from bridge.protocol import METHODS, ClaimOutcome, Job, JobPage, PaymentOutcome, PendingQuestion, job_from_record, job_wire

AT = datetime(2026, 11, 22, 23, 0, 0, 226887, tzinfo=UTC)


def _job(request: dict[str, object], kind: JobKind = JobKind.CLAIM) -> JobRecord:
    return JobRecord("j1", "r1", kind, "front-desk", JobState.RUNNING, dict(request), None, None, None, AT, AT)


def test_the_wire_has_the_interfaces_fields_with_nulls_where_empty() -> None:
    wire = job_wire(job_from_record(_job({"requestId": "r1"})))
    assert set(wire) == {"jobId", "requestId", "kind", "seq", "terminal", "state", "createdAt", "updatedAt",
                         "request", "result", "error", "question"}
    assert wire["result"] is None and wire["error"] is None and wire["question"] is None
    assert wire["state"] == "running" and wire["kind"] == "claim"


def test_times_keep_the_offset_as_isoformat_writes_it() -> None:
    wire = job_wire(job_from_record(_job({})))
    assert wire["createdAt"] == AT.isoformat() == "2026-11-22T23:00:00.226887+00:00"


def test_receipts_are_lifted_out_of_the_result_and_the_question_carried() -> None:
    job = dataclasses.replace(_job({}), result={"result": "APPROVED", "receipts": {"merchant": "M"}})
    model = job_from_record(job, PendingQuestion(text="Accept?", options=("ACCEPT",)))
    wire = job_wire(model)
    assert wire["receipts"] == {"merchant": "M"} and wire["result"] == {"result": "APPROVED"}
    assert wire["question"] == {"text": "Accept?", "options": ["ACCEPT"]}
    assert "history" not in wire


def test_the_result_is_read_by_the_model_of_its_kind_and_keeps_extra_fields() -> None:
    claim = dataclasses.replace(_job({}), result={"result": "APPROVED", "fundNote": "x"})
    assert isinstance(job_from_record(claim).result, ClaimOutcome)
    assert job_wire(job_from_record(claim))["result"] == {"result": "APPROVED", "fundNote": "x"}
    gap = dataclasses.replace(_job({}, JobKind.GAP), result={"result": "APPROVED", "amount": 3000})
    assert isinstance(job_from_record(gap).result, PaymentOutcome)


def test_errors_as_the_daemon_writes_them_fit() -> None:
    for error in ({"message": "no answer from the terminal"}, {"message": "Declined", "code": "93"},
                  {"code": -32003, "message": "not paired", "data": {"terminal": "t"}}):
        assert job_wire(job_from_record(dataclasses.replace(_job({}), error=error)))["error"] == error


def test_history_only_when_asked_for_with_times_as_the_journal_stores_them() -> None:
    entries = [{"at": "2026-11-22T23:00:00.000000+00:00", "event": "state", "state": "queued"},
               {"at": AT.isoformat(), "event": "answer", "message": "ACCEPT", "by": "Sam"}]
    wire = job_wire(job_from_record(_job({}), None, entries))
    assert wire["history"] == entries


def test_an_unknown_job_resolved_by_hand_fits_with_only_its_resolution() -> None:
    resolution = {"outcome": "approved", "note": "fund says approved", "at": AT.isoformat()}
    for kind in (JobKind.CLAIM, JobKind.GAP):
        row = dataclasses.replace(_job({}, kind), state=JobState.RESOLVED, result={"resolution": resolution})
        assert job_wire(job_from_record(row))["result"] == {"resolution": resolution}


def test_a_row_that_does_not_fit_the_documented_job_is_refused() -> None:
    with pytest.raises(ValidationError):
        job_from_record(dataclasses.replace(_job({}), result={"totalBenefit": "twelve dollars"}))


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
        row = JobRecord(wire["jobId"], wire["requestId"], JobKind(wire["kind"]), wire["terminal"], JobState(wire["state"]),
                        wire["request"], result, wire["error"], None,
                        datetime.fromisoformat(wire["createdAt"]), datetime.fromisoformat(wire["updatedAt"]),
                        wire["seq"])
        history = wire.get("history")
        question = PendingQuestion.model_validate(wire["question"]) if wire["question"] is not None else None
        assert job_wire(job_from_record(row, question, history)) == wire, wire["jobId"]
