"""bridge/journal/events.py: numbered notifications kept in a real SQLite journal."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bridge.jobs import JobKind
from bridge.journal import Journal
from bridge.journal.events import EVENTS_TABLE, RESERVE, WRITE_AFTER_S, EventLog
from tests.job_requests import request_for

AT = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def test_events_are_numbered_kept_and_replayed_in_order(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            log = EventLog(j)
            await log.open()
            assert log.last == 0
            seqs = [log.record("job.status", {"jobId": "a", "message": f"line {i}"}) for i in range(5)]
            assert seqs == [1, 2, 3, 4, 5]
            # before the rows are written, a replay has them (kept in memory)
            assert [e.seq for e in await log.since(2, log.last)] == [3, 4, 5]
            await log.flush()
            replay = await log.since(0, 4)
            assert [e.seq for e in replay] == [1, 2, 3, 4] and replay[0].params["message"] == "line 0"
            assert log.take() == 6  # a number for a notification that is not recorded
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            # the first log was not closed (a daemon killed): it may have sent numbers up to its
            # reservation, so this one starts after them, never reusing one
            async with EventLog(j) as log:
                assert log.last == 6 + RESERVE - 1
                assert log.record("job.updated", {"job": {}}) == 6 + RESERVE
            assert [e.method for e in await log.since(4, log.last)] == ["job.status", "job.updated"]
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            async with EventLog(j) as log:  # the last one closed cleanly: numbers go on from its last
                assert log.last == 6 + RESERVE

    asyncio.run(go())


def test_old_events_are_pruned(tmp_path: Path) -> None:
    async def go() -> None:
        now = [AT]
        async with Journal(tmp_path / "j.db", clock=lambda: now[0]) as j:
            log = EventLog(j, keep_s=3600)
            await log.open()
            log.record("job.status", {"m": "old"})
            await log.flush()
            now[0] = AT + timedelta(hours=2)
            for _ in range(500):
                log.record("job.status", {"m": "new"})
            await log.flush()
            kept = await log.since(0, log.last)
            assert kept[0].seq == 2 and len(kept) == 500

    asyncio.run(go())


def _rows(path: Path) -> list[int]:
    with sqlite3.connect(path) as db:
        return [int(r[0]) for r in db.execute("SELECT seq FROM events ORDER BY seq")]


def test_events_ride_along_with_the_next_job_write_and_cost_no_commit_of_their_own(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            log = EventLog(j)
            await log.open()
            commits: list[str] = []
            await j.read(lambda: j.thread.conn.set_trace_callback(
                lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None))
            log.record("job.status", {"jobId": "a", "message": "one"})
            log.record("job.status", {"jobId": "a", "message": "two"})
            assert _rows(tmp_path / "j.db") == []  # not written at once, each in its own commit
            await j.create_job(kind=JobKind.CLAIM, request_id="r1", terminal="t", request=request_for(JobKind.CLAIM, "r1"))
            assert _rows(tmp_path / "j.db") == [1, 2]  # committed with the job's row
            assert len(commits) == 1  # one commit (one fsync) for the job and both events
            await j.read(lambda: j.thread.conn.set_trace_callback(None))
            await asyncio.sleep(0)
            assert log._pending == {}  # on disk: the memory copy goes
            log.record("job.status", {"jobId": "a", "message": "alone"})
            await asyncio.sleep(WRITE_AFTER_S + 0.3)  # no job write came: committed alone
            assert _rows(tmp_path / "j.db") == [1, 2, 3]
            await log.flush()

    asyncio.run(go())


def test_a_job_write_commits_even_when_the_events_cannot_be_written(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            log = EventLog(j)
            await log.open()
            await j.read(lambda: j.thread.conn.execute("DROP TABLE events"))
            log.record("job.status", {"jobId": "a", "message": "kept"})
            job, created = await j.create_job(kind=JobKind.CLAIM, request_id="r1", terminal="t", request=request_for(JobKind.CLAIM, "r1"))
            assert created and (await j.get(job.job_id)).request == request_for(JobKind.CLAIM, "r1")
            await j.read(lambda: j.thread.conn.execute(EVENTS_TABLE))
            assert _rows(tmp_path / "j.db") == []
            # still replayed from memory, and written by the next commit
            assert [e.params["message"] for e in await log.since(0, log.last)] == ["kept"]
            await log.flush()
            assert _rows(tmp_path / "j.db") == [1]
            j.thread.remove_rider(log)

    asyncio.run(go())
