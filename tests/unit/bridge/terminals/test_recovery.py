"""bridge/terminals/recovery.py without a browser, on a real journal: waiting for the page, what is
left alone, what is re-queued (the page-driving part, re-attaching with continueLastTransaction,
is tests/e2e/daemon's and tests/crash's)."""

import asyncio
import typing
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import TemporarilyUnavailable
from bridge.jobs import JobKind, JobState
from bridge.healthpoint.operation import Call, Finish, HealthPointOperation, LeaveUnknown
from bridge.journal import JobRecord, Journal
from bridge.browser.page import TerminalPage
from bridge.terminals.audit import AuditTrail
from bridge.terminals.recovery import Recovery, wait_ready
from bridge.protocol import JobError
from tests.job_requests import request_for


def test_wait_ready_returns_once_the_page_is_back() -> None:
    async def scenario() -> int:
        checks = [False, False, True]
        asked = 0

        def ready() -> bool:
            nonlocal asked
            asked += 1
            return checks.pop(0)

        await wait_ready(ready, timeout=5.0, poll_s=0.001)
        return asked

    assert asyncio.run(scenario()) == 3


def test_wait_ready_gives_up_as_temporarily_unavailable() -> None:
    with pytest.raises(TemporarilyUnavailable, match="did not come back"):
        asyncio.run(wait_ready(lambda: False, timeout=0.01, poll_s=0.001))


# --------------------------------------------------------------------------- Recovery, real journal


class _Runner:
    """The runner recovery drives, as far as these tests reach (no page, no browser)."""

    name = "front-desk"
    ready = True

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.enqueued: list[str] = []
        self.continued: list[str] = []

    async def load_page(self) -> None:
        raise AssertionError("no page in these tests")

    def enqueue(self, job_id: str) -> None:
        self.enqueued.append(job_id)

    async def operation(self, job: JobRecord) -> HealthPointOperation:
        raise AssertionError("not reached without a pairing")

    async def continue_last(self, hp: HealthPointOperation, call: Call) -> Finish | LeaveUnknown | None:
        self.continued.append(hp.job_id)
        return None

    async def conclude(self, job_id: str, end: Finish | LeaveUnknown, kind: JobKind) -> None:
        raise AssertionError("never concluded here")


class _NoPage:
    """Recovery must not touch the page on these paths: any use fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the page was used: {name}")


async def _job(journal: Journal, request_id: str, state: JobState | None = None, terminal: str = "front-desk") -> str:
    job, _ = await journal.create_job(kind=JobKind.CLAIM, request_id=request_id, terminal=terminal, request=request_for(JobKind.CLAIM, request_id))
    if state is not None:
        await journal.move(job.job_id, JobState.RUNNING)
        if state is not JobState.RUNNING:
            await journal.move(job.job_id, state, error=JobError(message="lost"))
    return job.job_id


def _recovery(journal: Journal, runner: _Runner) -> Recovery:
    return Recovery(runner, journal, typing.cast(TerminalPage, _NoPage()), AuditTrail(journal))


def test_reattach_leaves_a_job_that_is_not_unknown_and_one_without_pairing(tmp_path: Path) -> None:
    async def scenario() -> tuple[bool, bool, list[str]]:
        async with Journal(tmp_path / "j.db") as journal:
            runner = _Runner()
            recovery = _recovery(journal, runner)
            done = await _job(journal, "r-done", JobState.COMPLETED)
            lost = await _job(journal, "r-lost", JobState.UNKNOWN)
            return await recovery.reattach(done), await recovery.reattach(lost), runner.continued

    not_unknown, unpaired, continued = asyncio.run(scenario())
    assert not not_unknown and not unpaired and continued == []


def test_recover_requeues_this_terminals_queued_jobs_oldest_first(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        async with Journal(tmp_path / "j.db") as journal:
            runner = _Runner()
            first = await _job(journal, "r1")
            await _job(journal, "r-elsewhere", terminal="back-room")
            await _job(journal, "r-ran", JobState.COMPLETED)
            second = await _job(journal, "r2")
            await _recovery(journal, runner).recover()
            return runner.enqueued, [first, second]

    enqueued, expected = asyncio.run(scenario())
    assert enqueued == expected
