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
    job = Job(jobId="j1", requestId="r1", kind=JobKind.CLAIM, state=JobState.QUEUED,
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
    from bridge.protocol.results import BillOutcome, ClaimOutcome, PaymentOutcome, ReconciliationReport

    claim = ClaimOutcome.model_validate({**_claim_result(), "terminalAddedThis": 1})
    assert claim.totalBenefit == 4800 and claim.model_dump()["terminalAddedThis"] == 1
    gap = PaymentOutcome.model_validate({"result": "APPROVED", "transactionId": "x", "authorisationCode": "471244",
                                         "rrn": "501387828819", "elidedPan": "XXXXXXXXXXXX7829", "cardType": "Visa"})
    assert gap.cardType == "Visa"
    with pytest.raises(ValidationError):
        BillOutcome.model_validate({"status": "Posted", "invoiceNumber": "INV-1"})
    report = ReconciliationReport.model_validate({
        "type": "claims", "available": True, "terminalId": "SIM00001", "date": "20261201",
        "claims": [{"refTag": "1", "status": "APP", "totalClaimAmount": 20100, "terminalDateTime": "20261201181819"}],
        "totals": {"totalNumberClaims": 1, "sumBenefitAmount": 12060, "sumClaimAmount": 20100}})
    assert report.totals is not None and report.totals.sumClaimAmount == 20100
    with pytest.raises(ValidationError):
        ReconciliationReport.model_validate({"type": "claims", "available": True, "date": "2026-12-01"})


def test_every_job_kind_has_a_result_model() -> None:
    from bridge.protocol.results import JOB_RESULTS

    assert {str(kind) for kind in JobKind} <= set(JOB_RESULTS)
