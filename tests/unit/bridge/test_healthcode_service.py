"""Tests for bridge/healthcode_service.py: its exports (the pure helpers are in test_healthcode_jobs.py)."""

from __future__ import annotations

from bridge import healthcode_jobs, healthcode_worker
from bridge.healthcode_service import (
    __all__ as exported,
)
from bridge.healthcode_service import (
    HealthcodeWorker,
    backoff_delay,
    bill_result,
    job_state_for,
    problem_to_wire,
    uk_today,
)


def test_exports_are_public_names() -> None:
    assert all(not name.startswith("_") for name in exported)


def test_worker_and_pure_helpers_are_re_exported_unchanged() -> None:
    assert HealthcodeWorker is healthcode_worker.HealthcodeWorker
    assert (backoff_delay, bill_result, job_state_for, problem_to_wire, uk_today) == (
        healthcode_jobs.backoff_delay, healthcode_jobs.bill_result, healthcode_jobs.job_state_for,
        healthcode_jobs.problem_to_wire, healthcode_jobs.uk_today)
