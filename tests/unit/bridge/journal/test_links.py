"""bridge/journal/links.py: jobs made against other jobs, on a real SQLite file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bridge.jobs import JobKind
from bridge.journal import JobLinks, Journal
from tests.job_requests import request_for

AT = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def test_related_jobs_follow_the_links_oldest_first(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            links = JobLinks(j)
            claim, _ = await j.create_job(kind=JobKind.CLAIM, request_id="c", terminal="t", request=request_for(JobKind.CLAIM, "c"))
            gap, _ = await j.create_job(kind=JobKind.GAP, request_id="g", terminal="t", request=request_for(JobKind.GAP, "g"), parent_job_id=claim.job_id)
            refund, _ = await j.create_job(kind=JobKind.REFUND, request_id="r", terminal="t", request=request_for(JobKind.REFUND, "r"), parent_job_id=gap.job_id)
            await j.create_job(kind=JobKind.CLAIM, request_id="other", terminal="t", request=request_for(JobKind.CLAIM, "other"))
            assert [x.job_id for x in await links.related(claim.job_id)] == [gap.job_id, refund.job_id]
            assert [x.job_id for x in await links.related(gap.job_id)] == [refund.job_id]
            assert await links.related(refund.job_id) == []

    asyncio.run(go())


def test_a_related_row_that_cannot_be_decoded_is_refused_not_skipped(tmp_path: Path) -> None:
    import pytest

    from bridge.errors import JournalUnavailable

    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            claim, _ = await j.create_job(kind=JobKind.CLAIM, request_id="c", terminal="t", request=request_for(JobKind.CLAIM, "c"))
            await j.create_job(kind=JobKind.CANCEL, request_id="x", terminal="t", request=request_for(JobKind.CANCEL, "x"), parent_job_id=claim.job_id)
            await j.read(lambda: j.thread.conn.execute("UPDATE jobs SET state = 'teleported' WHERE request_id = 'x'"))
            with pytest.raises(JournalUnavailable):  # a guard must not pass for want of the cancel
                await JobLinks(j).related(claim.job_id)

    asyncio.run(go())
