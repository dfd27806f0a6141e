"""bridge/worker/runner.py's pure helpers: the policy a job carries, the wire shape."""

import dataclasses
from datetime import UTC, datetime

from bridge.jobs import JobKind, JobState
from bridge.journal import JobRecord
from bridge.worker.runner import _auto_answers, job_to_wire

AT = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def _job(request: dict[str, object]) -> JobRecord:
    return JobRecord("j1", "r1", JobKind.CLAIM, "front-desk", JobState.RUNNING, dict(request), None, None, None, AT, AT)


def test_auto_answers_follow_on_approved() -> None:
    assert _auto_answers(_job({"onApproved": "accept"})) == ("ACCEPT",)
    assert _auto_answers(_job({"onApproved": "reject"})) == ("REJECT",)
    assert _auto_answers(_job({"onApproved": "ask"})) == ()
    assert _auto_answers(_job({})) == ()


def test_job_to_wire_has_the_interfaces_fields() -> None:
    wire = job_to_wire(_job({"requestId": "r1"}))
    assert set(wire) == {"jobId", "requestId", "kind", "terminal", "state", "createdAt", "updatedAt",
                         "request", "result", "error", "question"}
    assert wire["state"] == "running" and wire["createdAt"] == AT.isoformat()
    assert wire["question"] is None


def test_job_to_wire_lifts_receipts_out_of_the_result() -> None:
    job = dataclasses.replace(_job({"requestId": "r1"}), result={"result": "APPROVED", "receipts": {"merchant": "M"}})
    wire = job_to_wire(job, {"text": "Accept?", "options": ["ACCEPT"]})
    assert wire["receipts"] == {"merchant": "M"} and wire["result"] == {"result": "APPROVED"}
    assert wire["question"] == {"text": "Accept?", "options": ["ACCEPT"]}
