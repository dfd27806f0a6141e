"""bridge/journal/ages.py: the jobs that wait on evidence, and since when, on a real SQLite file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bridge.jobs import JobKind, JobState
from bridge.journal import Journal, Waiting, WaitingJobs
from tests.job_requests import claim_outcome, outcome, request_for

T0 = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def test_unknown_jobs_and_unpaid_collected_bills_with_when_they_began_waiting(tmp_path: Path) -> None:
    now = [T0]

    async def go() -> list[Waiting]:
        async with Journal(tmp_path / "j.db", clock=lambda: now[0]) as j:

            async def job(kind: JobKind, request_id: str, *moves: tuple[JobState, dict[str, object] | None]) -> None:
                created, _ = await j.create_job(kind=kind, request_id=request_id, terminal="t", request=request_for(kind, request_id))
                for state, result in moves:
                    await j.move(created.job_id, state, result=outcome(kind, result) if result is not None else None)

            running = (JobState.RUNNING, None)
            await job(JobKind.CLAIM, "done", running, (JobState.COMPLETED, {"result": "APPROVED"}))
            now[0] = T0 + timedelta(minutes=5)
            await job(JobKind.CLAIM, "lost", running, (JobState.UNKNOWN, None))
            now[0] = T0 + timedelta(hours=2)
            await job(JobKind.HEALTHCODE_BILL, "collected", running, (JobState.COMPLETED, {"status": "Collected"}))
            await job(JobKind.HEALTHCODE_BILL, "paid", running, (JobState.COMPLETED, {"status": "Collected", "paid": 4200}))
            await job(JobKind.HEALTHCODE_BILL, "replaced", running,
                      (JobState.COMPLETED, {"status": "Collected", "replacedBy": "job-x"}))
            await job(JobKind.HEALTHCODE_BILL, "waiting", running, (JobState.COMPLETED, {"status": "AwaitingCollection"}))
            await job(JobKind.GAP, "queued")
            now[0] = T0 + timedelta(days=3)
            return await WaitingJobs(j).all()

    waiting = asyncio.run(go())
    assert waiting == [
        Waiting("unknown", "claim", T0 + timedelta(minutes=5)),
        Waiting("unpaid", "healthcodeBill", T0 + timedelta(hours=2)),
    ]


def test_a_job_moved_on_since_is_counted_from_its_latest_state(tmp_path: Path) -> None:
    now = [T0]

    async def go() -> list[Waiting]:
        async with Journal(tmp_path / "j.db", clock=lambda: now[0]) as j:
            created, _ = await j.create_job(kind=JobKind.CLAIM, request_id="r", terminal="t", request=request_for(JobKind.CLAIM, "r"))
            await j.move(created.job_id, JobState.RUNNING)
            now[0] = T0 + timedelta(hours=1)
            await j.move(created.job_id, JobState.UNKNOWN)
            now[0] = T0 + timedelta(hours=5)
            await j.update_result(created.job_id, claim_outcome(note="candidate rows"))  # not a state change
            return await WaitingJobs(j).all()

    assert asyncio.run(go()) == [Waiting("unknown", "claim", T0 + timedelta(hours=1))]
