"""bridge/journal/held.py: held writes, shown as unknown, committed in order, refused ones dropped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bridge.errors import JournalUnavailable
from bridge.jobs import IllegalTransition, JobKind, JobState
from bridge.journal import JobRecord
from bridge.journal.held import HELD_ERROR, HeldMove, HeldNote, HeldWrites

AT = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def _job(job_id: str, state: JobState = JobState.RUNNING) -> JobRecord:
    return JobRecord(job_id, f"r-{job_id}", JobKind.CLAIM, "t", state, {}, None, None, None, AT, AT)


def test_a_held_job_reads_as_unknown_and_others_as_they_are() -> None:
    held = HeldWrites()
    held.add_move("a", JobState.COMPLETED, {"result": "APPROVED"}, None, None)
    assert held.overlay(_job("a")).state is JobState.UNKNOWN and held.overlay(_job("a")).error == HELD_ERROR
    assert held.overlay(_job("b")).state is JobState.RUNNING
    assert held.count == 1


def test_flush_commits_notes_then_moves_in_order_and_keeps_what_still_fails() -> None:
    held = HeldWrites()
    held.add_note("a", "receipt", "x", "t0")
    held.add_move("a", JobState.COMPLETED, None, None, None)
    held.add_move("a", JobState.COMPLETED, None, None, "again")
    held.add_move("b", JobState.UNKNOWN, None, None, None)
    seen: list[str] = []
    fail = {"b"}

    async def move(m: HeldMove) -> JobRecord:
        if m.job_id in fail:
            raise JournalUnavailable("database is locked")
        if m.note == "again":
            raise IllegalTransition(JobState.COMPLETED, JobState.COMPLETED)
        seen.append(f"move {m.job_id}")
        return _job(m.job_id, m.to_state)

    async def note(n: HeldNote) -> None:
        seen.append(f"note {n.event}")

    with pytest.raises(JournalUnavailable):
        asyncio.run(held.flush(move, note))
    assert seen == ["note receipt", "move a"] and held.count == 1  # b stays held
    fail.clear()
    done = asyncio.run(held.flush(move, note))
    assert [(j.job_id, j.state) for j in done] == [("b", JobState.UNKNOWN)] and held.count == 0
