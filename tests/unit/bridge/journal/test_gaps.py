"""bridge/journal/gaps.py on a real SQLite file: an open gap refuses new jobs (a repeated
requestId still answers), survives a reopen, and once accepted lets work in again with the
change counter past the mark's; every step is in the journal's history."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import JournalBehind
from bridge.jobs import JobKind
from bridge.journal import Journal
from bridge.journal.gaps import JournalGaps
from tests.job_requests import request_for


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_an_open_gap_refuses_new_jobs_until_it_is_accepted(tmp_path: Path) -> None:
    db = tmp_path / "j.db"

    async def first() -> None:
        async with Journal(db) as j:
            await j.create_job(kind=JobKind.CLAIM, request_id="kept", terminal="t", request=request_for(JobKind.CLAIM, "kept"))
            gap = await JournalGaps(j).open("the journal holds changes up to 1, but the mark says 40", 40)
            assert gap.state == "open" and gap.mark_seq == 40 and gap.since is not None
            assert j.behind is not None
            with pytest.raises(JournalBehind) as refused:
                await j.create_job(kind=JobKind.CLAIM, request_id="new", terminal="t", request=request_for(JobKind.CLAIM, "new"))
            data = refused.value.data() or {}
            assert data["reason"] == "journalBehind" and "accept-gap" in data["message"] and data["retryAfterMs"] > 0
            again, created = await j.create_job(kind=JobKind.CLAIM, request_id="kept", terminal="t", request=request_for(JobKind.CLAIM, "kept"))
            assert not created and again.request_id == "kept"

    async def second() -> None:
        async with Journal(db) as j:
            gaps = JournalGaps(j)
            assert (await gaps.load()) is not None and j.behind is not None  # a restart does not forget it
            accepted = await gaps.accept("restored Friday's backup after the disk died")
            assert accepted is not None and accepted.state == "accepted" and j.behind is None
            assert j.thread.seq >= 40
            job, created = await j.create_job(kind=JobKind.CLAIM, request_id="new", terminal="t", request=request_for(JobKind.CLAIM, "new"))
            assert created and job.seq == 41  # seq never goes back for a client
            assert await gaps.accept("twice") is None
            await gaps.reconciled("days 2026-12-05..2026-12-06: 1 claim(s) notInJournal")
            assert await gaps.load() is None
            history = await gaps.history()
            assert [h["event"] for h in history] == ["gap found", "gap accepted", "gap reconciled"]
            assert all(set(h) == {"at", "event", "detail"} for h in history)

    run(first())
    run(second())
