"""bridge/journal/events.py: numbered notifications kept in a real SQLite journal."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bridge.journal import Journal
from bridge.journal.events import EventLog

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
            log = EventLog(j)
            await log.open()
            assert log.last == 5  # numbers are never reused
            assert log.record("job.updated", {"job": {}}) == 6
            await log.flush()
            assert [e.method for e in await log.since(4, 6)] == ["job.status", "job.updated"]

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


def test_a_burst_of_events_is_committed_in_few_transactions(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            log = EventLog(j)
            await log.open()
            writes = []
            real_write = j.write

            async def counting_write(fn, *args, **kw):  # type: ignore[no-untyped-def]
                writes.append(fn)
                return await real_write(fn, *args, **kw)

            j.write = counting_write  # type: ignore[method-assign]
            for i in range(200):
                log.record("job.updated", {"n": i})
            await log.flush()
            assert 1 <= len(writes) <= 2  # one fsync'd commit for the burst, not 200
            assert [e.params["n"] for e in await log.since(0, log.last)] == list(range(200))
            log.record("job.updated", {"n": 200})  # a later event: a new writer
            await log.flush()
            assert len(writes) <= 3 and len(await log.since(0, log.last)) == 201

    asyncio.run(go())
