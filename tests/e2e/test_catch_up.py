"""A PMS that was away catches up: ``job.list {since}`` pages through every job in change order,
and ``events.subscribe {since}`` replays the notifications it missed, then goes on live.

The 1,500 jobs are written into the journal file before the daemon starts (one transaction, as
the journal itself numbers changes), so the test spends its time paging, not claiming.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from bridge.journal import Journal
from tests.daemon_harness import Sim, make_settings, start_daemon, stop_daemon

pytestmark = pytest.mark.e2e

JOBS = 1500


async def _journal_with_jobs(state_dir: Path, count: int) -> None:
    """A journal holding ``count`` failed rebate estimates, numbered 1..count as the journal numbers changes."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "claimbridge.db"
    async with Journal(path):
        pass  # the schema and the meta row, made by the journal itself
    db = sqlite3.connect(path)
    with db:
        at = "2026-11-22T23:00:00+00:00"
        db.executemany(
            "INSERT INTO jobs (job_id, request_id, kind, terminal, state, digest, request, result, error,"
            " parent_job_id, created_at, updated_at, seq) VALUES (?, ?, 'rebateEstimate', 'front-desk', 'failed',"
            " 'x', ?, NULL, ?, NULL, ?, ?, ?)",
            [(str(uuid.uuid4()), f"est-{i}", json.dumps({"requestId": f"est-{i}"}),
              json.dumps({"message": "NOT STARTED"}), at, at, i) for i in range(1, count + 1)],
        )
        db.execute("UPDATE meta SET seq = ? WHERE id = 1", (count,))
    db.close()


async def test_job_list_since_pages_through_every_job(tmp_path: Path, sim: Sim) -> None:
    state = tmp_path / "state"
    await _journal_with_jobs(state, JOBS)
    running = await start_daemon(make_settings(state, sim), sim)
    try:
        c = await running.client()
        # without since: the newest, as before (a plain list)
        newest = await c.call("job.list", {"limit": 1000})
        assert isinstance(newest, list) and len(newest) == 1000
        seen: list[dict[str, Any]] = []
        since, pages, more = 0, 0, True
        while more:
            page = await c.call("job.list", {"since": since, "limit": 400})
            seen += page["jobs"]
            assert all(job["seq"] > since for job in page["jobs"])
            since, more, pages = page["nextSince"], page["more"], pages + 1
        assert pages == 4 and len(seen) == JOBS
        assert [job["seq"] for job in seen] == list(range(1, JOBS + 1))
        assert len({job["jobId"] for job in seen}) == JOBS
        # a full page of 1000 is served as asked: no hidden cap below it
        assert len((await c.call("job.list", {"since": 0, "limit": 1000}))["jobs"]) == 1000
        # nothing changed since: an empty page that keeps the cursor
        assert await c.call("job.list", {"since": since}) == {"jobs": [], "nextSince": since, "more": False}
    finally:
        await stop_daemon(running)
