"""bridge/journal.py's money/history/reconciliation block against a real SQLite file (kept apart
from test_journal.py, which covers the journal's core)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bridge.jobs import IllegalTransition, JobKind, JobState
from bridge.journal import Journal

AT = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_related_jobs_and_settle(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            claim, _ = await j.create_job(kind=JobKind.CLAIM, request_id="c", terminal="t", request={})
            gap, _ = await j.create_job(kind=JobKind.GAP, request_id="g", terminal="t", request={}, parent_job_id=claim.job_id)
            refund, _ = await j.create_job(kind=JobKind.REFUND, request_id="r", terminal="t", request={}, parent_job_id=gap.job_id)
            await j.create_job(kind=JobKind.CLAIM, request_id="other", terminal="t", request={})
            assert [x.job_id for x in await j.related_jobs(claim.job_id)] == [gap.job_id, refund.job_id]
            await j.move(claim.job_id, JobState.RUNNING)
            await j.move(claim.job_id, JobState.UNKNOWN, error={"message": "lost"})
            done = await j.settle(claim.job_id, JobState.COMPLETED, result={"result": "APPROVED"}, note="report")
            assert done.state is JobState.COMPLETED and done.error is None and done.result == {"result": "APPROVED"}
            events = await j.events(claim.job_id)
            assert events[-1]["to_state"] == "completed" and events[-1]["detail"] == "report"
            with pytest.raises(IllegalTransition):
                await j.settle(claim.job_id, JobState.COMPLETED, result={}, note="again")

    run(go())


def test_note_many_keeps_times_and_order(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            job, _ = await j.create_job(kind=JobKind.CLAIM, request_id="c", terminal="t", request={})
            await j.note_many(job.job_id, [(AT + timedelta(seconds=1), "status", "one"), (AT + timedelta(seconds=2), "status", "two")])
            await j.note_many(job.job_id, [])
            rows = (await j.events(job.job_id))[1:]
            assert [(r["event"], r["detail"]) for r in rows] == [("status", "one"), ("status", "two")]
            assert rows[0]["at"].startswith("2026-11-22T23:00:01")
            assert j.clock_now() == AT

    run(go())


def test_window_and_ref_tag_queries_and_reconciliations(tmp_path: Path) -> None:
    now = [AT]

    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: now[0]) as j:
            a, _ = await j.create_job(kind=JobKind.CLAIM, request_id="a", terminal="t", request={})
            now[0] = AT + timedelta(hours=2)
            b, _ = await j.create_job(kind=JobKind.CANCEL, request_id="b", terminal="t", request={})
            await j.create_job(kind=JobKind.GAP, request_id="c", terminal="t", request={})
            await j.create_job(kind=JobKind.CLAIM, request_id="d", terminal="u", request={})
            got = await j.jobs_created_between("t", [JobKind.CLAIM, JobKind.CANCEL], AT, AT + timedelta(hours=3))
            assert [x.job_id for x in got] == [a.job_id, b.job_id]
            assert await j.jobs_created_between("t", [JobKind.CLAIM], AT + timedelta(hours=1), AT + timedelta(hours=3)) == []
            await j.move(a.job_id, JobState.RUNNING)
            await j.move(a.job_id, JobState.COMPLETED, result={"refTag": "2120601"})
            assert [x.job_id for x in await j.jobs_with_ref_tags(["2120601", "9"])] == [a.job_id]
            assert await j.jobs_with_ref_tags([]) == []
            assert await j.last_reconciliation("t", "2026-11-23") is None
            await j.save_reconciliation("t", "2026-11-23", {"settled": [1]})
            await j.save_reconciliation("t", "2026-11-23", {"settled": [2]})
            assert await j.last_reconciliation("t", "2026-11-23") == {"settled": [2]}

    run(go())
