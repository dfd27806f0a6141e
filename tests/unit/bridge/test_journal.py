"""bridge/journal.py against a real SQLite file: durability settings, idempotency, audit trail."""

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import JobNotFound, RequestIdReused
from bridge.jobs import IllegalTransition, JobKind, JobState
from bridge.journal import Journal

AT = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_wal_and_synchronous_full(tmp_path: Path) -> None:
    async def go() -> tuple[str, int]:
        async with Journal(tmp_path / "j.db") as j:
            return (
                await j._run(lambda: j._conn.execute("PRAGMA journal_mode").fetchone()[0]),
                await j._run(lambda: j._conn.execute("PRAGMA synchronous").fetchone()[0]),
            )

    mode, sync = run(go())
    assert mode == "wal" and sync == 2  # 2 = FULL


def test_same_request_id_same_payload_returns_the_same_job(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            a, created_a = await j.create_job(kind=JobKind.CLAIM, request_id="r1", terminal="t", request={"x": 1})
            b, created_b = await j.create_job(kind=JobKind.CLAIM, request_id="r1", terminal="t", request={"x": 1})
            assert created_a and not created_b and a == b
            with pytest.raises(RequestIdReused):
                await j.create_job(kind=JobKind.CLAIM, request_id="r1", terminal="t", request={"x": 2})
            assert a.state is JobState.QUEUED and a.created_at == AT

    run(go())


def test_moves_follow_the_table_and_are_audited(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db") as j:
            job, _ = await j.create_job(kind=JobKind.CLAIM, request_id="r", terminal="t", request={})
            await j.move(job.job_id, JobState.RUNNING)
            with pytest.raises(IllegalTransition):
                await j.move(job.job_id, JobState.RESOLVED)
            done = await j.move(job.job_id, JobState.COMPLETED, result={"result": "APPROVED"}, note="ok")
            assert done.result == {"result": "APPROVED"}
            events = await j.events(job.job_id)
            assert [(e["from_state"], e["to_state"]) for e in events] == [
                (None, "queued"), ("queued", "running"), ("running", "completed"),
            ]
            with pytest.raises(JobNotFound):
                await j.move("nope", JobState.RUNNING)

    run(go())


def test_jobs_survive_a_reopen_and_nothing_is_deleted(tmp_path: Path) -> None:
    async def write() -> str:
        async with Journal(tmp_path / "j.db") as j:
            job, _ = await j.create_job(kind=JobKind.GAP, request_id="g", terminal="t", request={"amount": 5})
            await j.save_pairing("t", 1, 2, "secret-key")
            return job.job_id

    job_id = run(write())
    # a second connection (another process would do the same) sees the committed rows
    with sqlite3.connect(tmp_path / "j.db") as db:
        assert db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 1

    async def read() -> None:
        async with Journal(tmp_path / "j.db") as j:
            assert (await j.get(job_id)).request == {"amount": 5}
            assert (await j.get_by_request_id("g")).job_id == job_id
            pairing = await j.pairing("t")
            assert pairing is not None and pairing.integration_key == "secret-key"
            assert "secret-key" not in repr(pairing)
            assert [x.job_id for x in await j.list_jobs(states=[JobState.QUEUED], terminal="t")] == [job_id]

    run(read())
