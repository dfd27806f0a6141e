"""bridge.journal.pairings: terminals and pairing keys as rows, on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from bridge.journal import Journal
from tests.job_requests import request_for


async def test_a_pairing_is_stored_replaced_and_read_back(tmp_path: Path) -> None:
    async with Journal(tmp_path / "j.db") as journal:
        assert await journal.pairing("desk") is None
        await journal.save_pairing("desk", 1, 2, "key-1")
        await journal.save_pairing("desk", 1, 3, "key-2")
        got = await journal.pairing("desk")
        assert got is not None and (got.mid, got.tid, got.integration_key) == (1, 3, "key-2")


async def test_terminals_are_remembered_by_name(tmp_path: Path) -> None:
    async with Journal(tmp_path / "j.db") as journal:
        await journal.remember_terminal("b", 1, 2)
        await journal.remember_terminal("a", 3, 4)
        await journal.remember_terminal("b", 5, 6)
        assert [(t.name, t.mid, t.tid) for t in await journal.terminals()] == [("a", 3, 4), ("b", 5, 6)]


async def test_the_job_started_last_is_found_by_the_journal_s_order_not_its_clock(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from bridge.jobs import JobKind, JobState

    now = [datetime(2026, 11, 23, tzinfo=UTC)]
    async with Journal(tmp_path / "j.db", clock=lambda: now[0]) as journal:
        assert await journal.last_started("desk") is None
        today, _ = await journal.create_job(kind=JobKind.CLAIM, request_id="a", terminal="desk", request=request_for(JobKind.CLAIM, "a"))
        await journal.move(today.job_id, JobState.RUNNING, from_state=JobState.QUEUED)
        await journal.move(today.job_id, JobState.UNKNOWN, from_state=JobState.RUNNING)
        now[0] = datetime(2026, 11, 22, tzinfo=UTC)  # the clock jumps back a day
        yesterday, _ = await journal.create_job(kind=JobKind.CLAIM, request_id="b", terminal="desk", request=request_for(JobKind.CLAIM, "b"))
        await journal.move(yesterday.job_id, JobState.RUNNING, from_state=JobState.QUEUED)
        other, _ = await journal.create_job(kind=JobKind.CLAIM, request_id="c", terminal="other", request=request_for(JobKind.CLAIM, "c"))
        await journal.move(other.job_id, JobState.RUNNING, from_state=JobState.QUEUED)
        last = await journal.last_started("desk")
        assert last is not None and last.job_id == yesterday.job_id
        assert yesterday.created_at < today.created_at
