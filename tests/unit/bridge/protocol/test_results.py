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
