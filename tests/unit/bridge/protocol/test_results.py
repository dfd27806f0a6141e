"""Tests for bridge.protocol.results: results and notifications."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from bridge.jobs import JobKind, JobState
from bridge.protocol.results import NOTIFICATIONS, Job

FIXTURE = json.loads(
    (Path(__file__).parents[4] / "fixtures" / "protocol" / "methods.json").read_text()
)


def test_notifications_are_exactly_the_interfaces():
    assert sorted(NOTIFICATIONS) == sorted(FIXTURE["notifications"])


def test_results_are_frozen_and_keep_interface_names() -> None:
    job = Job(jobId="j1", requestId="r1", kind=JobKind.CLAIM, seq=3, state=JobState.QUEUED,
              createdAt=datetime(2026, 11, 22, tzinfo=UTC), updatedAt=datetime(2026, 11, 22, tzinfo=UTC),
              request={"requestId": "r1"})
    assert {"jobId", "requestId", "kind", "state", "createdAt", "updatedAt"} <= set(job.model_dump())
    with pytest.raises(ValidationError):
        job.state = JobState.RUNNING  # type: ignore[misc]


def test_every_notification_is_a_model() -> None:
    assert all(issubclass(model, BaseModel) for model in NOTIFICATIONS.values())


def _claim_result() -> dict[str, object]:
    return {"result": "CANCELLED", "transactionId": "t", "refTag": "2120603",
            "fund": {"id": "PHF00999", "name": "ISOFT FUND"}, "memberNumber": "12345678",
            "totalBenefit": 4800, "gap": None, "settlementAt": None,
            "items": [{"serviceCode": "00500", "claimAmount": 8000, "benefit": 4800, "responseCode": "00",
                       "responseText": "APPROVED", "approved": True, "bonus": False}],
            "freeText": None, "phfResponseCode": "00", "phfResponseText": "CANCELLED"}


def test_result_models_type_the_known_fields_and_keep_new_ones() -> None:
    from bridge.protocol.results import BillOutcome, ClaimOutcome, PaymentOutcome

    claim = ClaimOutcome.model_validate({**_claim_result(), "terminalAddedThis": 1})
    assert claim.totalBenefit == 4800 and claim.model_dump()["terminalAddedThis"] == 1
    gap = PaymentOutcome.model_validate({"result": "APPROVED", "transactionId": "x", "authorisationCode": "471244",
                                         "rrn": "501387828819", "elidedPan": "XXXXXXXXXXXX7829", "cardType": "Visa"})
    assert gap.cardType == "Visa"
    with pytest.raises(ValidationError):
        BillOutcome.model_validate({"status": "Posted", "invoiceNumber": "INV-1"})


def test_job_carries_question_receipts_and_history() -> None:
    at = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    job = Job.model_validate({
        "jobId": "j", "requestId": "r", "kind": "claim", "seq": 4, "terminal": "front-desk", "state": "running",
        "createdAt": at, "updatedAt": at, "request": {}, "result": None, "error": None,
        "question": {"text": "Accept the gap of $80.40?", "options": ["ACCEPT", "REJECT"]},
        "receipts": {"merchant": "MERCHANT COPY"},
        "history": [{"at": at, "event": "state", "state": "running"}, {"at": at, "event": "answer", "by": "alice"}],
    })
    assert job.question is not None and job.question.options == ("ACCEPT", "REJECT")
    assert job.receipts is not None and job.receipts.customer is None
    assert job.history is not None and job.history[1].by == "alice"
    with pytest.raises(ValidationError):
        Job.model_validate({**job.model_dump(), "question": {"text": "no options"}})


def test_every_job_kind_has_a_result_model() -> None:
    from bridge.protocol.results import JOB_RESULTS

    assert {str(kind) for kind in JobKind} <= set(JOB_RESULTS)
