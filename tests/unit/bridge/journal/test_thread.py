"""bridge/journal/thread.py against a real SQLite file: settings on open, sqlite3 errors stopped
here as JournalUnavailable, the one transaction helper, fair lanes, and a clean shutdown."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import JournalUnavailable
from bridge.journal.thread import LANE, JournalThread


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def _opened(path: Path) -> JournalThread:
    thread = JournalThread(path, busy_timeout_s=0.05)
    thread.open()
    return thread


def test_open_makes_the_folder_and_sets_wal_and_full_sync(tmp_path: Path) -> None:
    thread = _opened(tmp_path / "state" / "deep" / "j.db")
    try:
        assert (tmp_path / "state" / "deep" / "j.db").exists()
        assert thread.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert thread.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert thread.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        thread.close()
        thread.shutdown()


def test_a_closed_connection_is_journal_unavailable(tmp_path: Path) -> None:
    thread = JournalThread(tmp_path / "j.db", busy_timeout_s=0.05)
    try:
        with pytest.raises(JournalUnavailable):
            _ = thread.conn
    finally:
        thread.shutdown()


def test_calls_run_on_the_one_thread_and_sqlite_errors_become_journal_unavailable(tmp_path: Path) -> None:
    thread = _opened(tmp_path / "j.db")

    async def go() -> None:
        assert await thread.run(lambda: threading.current_thread().name) == "claimbridge-journal"
        with pytest.raises(JournalUnavailable) as failed:
            await thread.run(lambda: thread.conn.execute("SELECT * FROM no_such_table"))
        assert "no_such_table" in failed.value.detail
        with pytest.raises(KeyError):  # not SQLite's: handed back as it is
            await thread.run(lambda: {"y": 1}["x"])

    try:
        run(go())
    finally:
        thread.close()
        thread.shutdown()


def test_a_transaction_commits_or_rolls_back_whole(tmp_path: Path) -> None:
    thread = _opened(tmp_path / "j.db")
    insert = "INSERT INTO probe (id, at) VALUES (1, ?)"
    try:
        with pytest.raises(sqlite3.IntegrityError):
            with thread.transaction() as db:
                db.execute(insert, ("first",))
                db.execute(insert, ("again",))  # same id: the whole transaction goes
        assert thread.conn.execute("SELECT COUNT(*) FROM probe").fetchone()[0] == 0
        assert not thread.conn.in_transaction
        with thread.transaction() as db:
            db.execute(insert, ("kept",))
        with sqlite3.connect(tmp_path / "j.db") as other:  # committed: another connection sees it
            assert other.execute("SELECT at FROM probe").fetchone()[0] == "kept"
    finally:
        thread.close()
        thread.shutdown()


def test_lanes_take_turns(tmp_path: Path) -> None:
    """One lane's queue of calls delays another lane's call by one call, not by the queue."""
    thread = _opened(tmp_path / "j.db")
    order: list[str] = []
    gate = threading.Event()

    async def call(lane: str, tag: str) -> None:
        LANE.set(lane)
        await thread.run(order.append, tag)

    async def go() -> None:
        first = asyncio.create_task(thread.run(gate.wait), name="gate")  # holds the thread while the queues fill
        await asyncio.sleep(0)
        tasks = [asyncio.create_task(call("busy", f"busy{i}"), name=f"busy{i}") for i in range(4)]
        tasks.append(asyncio.create_task(call("quiet", "quiet"), name="quiet"))
        await asyncio.sleep(0)
        gate.set()
        await first
        await asyncio.gather(*tasks)

    try:
        run(go())
    finally:
        thread.close()
        thread.shutdown()
    assert order.index("quiet") <= 1, order


def test_grouped_writes_share_one_commit_and_a_failing_one_rolls_back_alone(tmp_path: Path) -> None:
    thread = _opened(tmp_path / "j.db")
    thread.conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
    gate = threading.Event()
    commits: list[str] = []
    thread.conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)

    def insert(k: int) -> int:
        with thread.transaction() as db:
            seq = thread.next_seq()
            db.execute("INSERT INTO t (k) VALUES (?)", (k,))
            if k == 3:
                raise ValueError("refused")  # its savepoint is rolled back, the others stand
        return seq

    async def go() -> list[Any]:
        first = asyncio.create_task(thread.run(gate.wait), name="gate")  # the calls queue up behind it
        await asyncio.sleep(0)
        tasks = [asyncio.create_task(thread.run(insert, k, grouped=True), name=f"w{k}") for k in range(6)]
        await asyncio.sleep(0)
        gate.set()
        await first
        return await asyncio.gather(*tasks, return_exceptions=True)

    try:
        answers = run(go())
        rows = [r[0] for r in thread.conn.execute("SELECT k FROM t ORDER BY k")]
        stored_seq = thread.conn.execute("SELECT seq FROM meta WHERE id = 1").fetchone()[0]
    finally:
        thread.close()
        thread.shutdown()
    assert isinstance(answers[3], ValueError)
    assert rows == [0, 1, 2, 4, 5]
    assert len(commits) == 1  # one COMMIT (one fsync) for the six callers
    # the refused call's change number was rolled back with it: the journal's seq is what was committed
    assert thread.seq == stored_seq == max(a for a in answers if isinstance(a, int))


def test_after_shutdown_calls_are_refused(tmp_path: Path) -> None:
    thread = _opened(tmp_path / "j.db")
    thread.close()
    thread.shutdown()

    async def go() -> None:
        with pytest.raises(JournalUnavailable):
            await thread.run(lambda: None)

    run(go())
