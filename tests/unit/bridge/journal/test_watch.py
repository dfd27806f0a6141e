"""bridge/journal/watch.py: a storage failure logged once when it starts and once when it ends,
on a real SQLite file locked by another connection."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from bridge.journal import Journal
from bridge.journal.watch import JournalWatch


async def _nothing() -> None:
    return None


async def test_a_failure_is_logged_once_and_its_end_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    db = tmp_path / "j.db"
    async with Journal(db, busy_timeout_s=0.05) as journal:
        watch = JournalWatch(journal, lambda _job: None, _nothing)
        await watch.probe_once()
        assert not watch.failing
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        for _ in range(3):
            await watch.probe_once()
        assert watch.failing and not journal.writable
        other.execute("ROLLBACK")
        other.close()
        await watch.probe_once()
        await watch.probe_once()
        assert not watch.failing and journal.writable
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "refuses writes" in r.getMessage()]
    recovered = [r for r in caplog.records if "accepts writes again" in r.getMessage()]
    assert len(errors) == 1 and len(recovered) == 1
