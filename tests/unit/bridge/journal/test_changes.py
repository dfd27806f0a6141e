"""bridge/journal/changes.py: jobs by change number, paged, on a real SQLite file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bridge.jobs import JobKind, JobState
from bridge.journal import Journal
from bridge.journal.changes import JobChanges
from tests.job_requests import request_for

AT = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def test_pages_reach_every_job_in_change_order(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            changes = JobChanges(j)
            made = [(await j.create_job(kind=JobKind.CLAIM, request_id=f"r{i}", terminal="t", request=request_for(JobKind.CLAIM, f"r{i}")))[0]
                    for i in range(25)]
            # the fifth job changes again: it moves to the end of the order
            moved = await j.move(made[4].job_id, JobState.RUNNING)
            seen: list[str] = []
            since, more, pages = 0, True, 0
            while more:
                page = await changes.since(since, 10)
                seqs = [job.seq for job in page.jobs]
                assert seqs == sorted(seqs) and all(s > since for s in seqs)
                seen += [job.job_id for job in page.jobs]
                since, more, pages = page.next_since, page.more, pages + 1
            assert pages == 3 and len(seen) == 25 and seen[-1] == moved.job_id
            assert set(seen) == {job.job_id for job in made}
            empty = await changes.since(since, 10)
            assert empty.jobs == [] and empty.next_since == since and not empty.more
            running = await changes.since(0, 100, state=JobState.RUNNING)
            assert [job.job_id for job in running.jobs] == [moved.job_id]
            assert (await changes.since(0, 100, kind=JobKind.GAP)).jobs == []

    asyncio.run(go())
