"""A PMS that was away catches up: ``job.list {since}`` pages through every job in change order,
and ``events.subscribe {since}`` replays the notifications it missed, then goes on live.

The 1,500 jobs are written into the journal file before the daemon starts (one transaction, as
the journal itself numbers changes), so the test spends its time paging, not claiming.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from bridge.journal import Journal
from tests.daemon_harness import Running, Sim, claim_request, make_settings, start_daemon, stop_daemon

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
            [(str(uuid.uuid4()), f"est-{i}", json.dumps(_estimate(f"est-{i}")),
              json.dumps({"message": "NOT STARTED"}), at, at, i) for i in range(1, count + 1)],
        )
        db.execute("UPDATE meta SET seq = ? WHERE id = 1", (count,))
    db.close()


def _estimate(request_id: str) -> dict[str, object]:
    """A rebate estimate's request as the journal stores it (the claim fixture without onApproved)."""
    return {k: v for k, v in claim_request(requestId=request_id).items() if k != "onApproved"}


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


def _seqs(notes: list[dict[str, Any]]) -> list[int]:
    return [n["params"]["seq"] for n in notes]


async def _settled(watcher: Any, count: int) -> None:
    """Until ``count`` claims have reached a final job.updated on ``watcher``."""
    async def done() -> None:
        while sum(1 for n in watcher.notes if n["method"] == "job.updated"
                  and n["params"]["job"]["state"] in ("completed", "failed", "unknown")) < count:
            watcher.note_event.clear()
            await watcher.note_event.wait()
    await asyncio.wait_for(done(), 60)


async def test_events_subscribe_since_replays_exactly_what_was_missed_then_goes_live(daemon: Running) -> None:
    watcher = await daemon.client()  # connected the whole time: what the PMS should have seen
    await watcher.call("events.subscribe", {"topics": ["*"]})
    pms = await daemon.client()
    await pms.call("events.subscribe", {"topics": ["*"]})
    submitter = await daemon.client()
    await submitter.call("healthpoint.claim", claim_request(requestId="cu-1", onApproved="accept"))
    await _settled(pms, 1)
    last_seen = _seqs(pms.notes)[-1]
    await pms.close()  # the PMS is down ...
    for i in (2, 3):  # ... while these happen
        await submitter.call("healthpoint.claim", claim_request(requestId=f"cu-{i}", onApproved="accept"))
    await _settled(watcher, 3)
    missed = [n for n in watcher.notes if n["params"]["seq"] > last_seen]
    assert len(missed) >= 6  # at least queued/running/completed of two claims, and status lines

    back = await daemon.client()
    answer = await back.call("events.subscribe", {"topics": ["*"], "since": last_seen})
    assert answer["replayed"] == len(missed)
    assert back.notes == missed  # exactly the missed ones, in order, each as it was sent
    # then live, with no gap and no repeat
    await submitter.call("healthpoint.claim", claim_request(requestId="cu-4", onApproved="accept"))
    await _settled(watcher, 4)
    await _settled(back, 1)
    after = [n for n in watcher.notes if n["params"]["seq"] > last_seen]
    await asyncio.sleep(0.2)
    assert back.notes == after
    assert _seqs(back.notes) == sorted(set(_seqs(back.notes)))


async def test_replay_keeps_to_the_topics_asked(daemon: Running) -> None:
    c = await daemon.client()
    await c.call("healthpoint.claim", claim_request(requestId="cu-t", onApproved="accept"))
    later = await daemon.client()
    answer = await later.call("events.subscribe", {"topics": ["job.updated"], "since": 0})
    assert answer["replayed"] >= 3 and {n["method"] for n in later.notes} == {"job.updated"}
    assert [n["params"]["job"]["state"] for n in later.notes][-1] == "completed"
    assert _seqs(later.notes) == sorted(_seqs(later.notes))
