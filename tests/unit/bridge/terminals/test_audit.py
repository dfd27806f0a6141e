"""bridge/terminals/audit.py against a real SQLite journal: batched rows keep their order and times."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bridge.jobs import JobKind
from bridge.journal import Journal
from bridge.terminals.audit import AuditTrail, question_detail
from tests.job_requests import request_for


def test_rows_wait_for_the_next_note_and_keep_their_times(tmp_path: Path) -> None:
    now = [datetime(2026, 11, 22, 23, 0, tzinfo=UTC)]

    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: now[0]) as j:
            job, _ = await j.create_job(kind=JobKind.CLAIM, request_id="c", terminal="t", request=request_for(JobKind.CLAIM, "c"))
            trail = AuditTrail(j)
            trail.add(job.job_id, "status", "Reading card")
            now[0] += timedelta(seconds=3)
            assert len(await j.events(job.job_id)) == 1  # only "created": nothing written yet
            await trail.note(job.job_id, "question", question_detail("Accept?", ["ACCEPT"]))
            await trail.answer(job.job_id, "ACCEPT", "Dr Jones")
            rows = (await j.events(job.job_id))[1:]
            assert [r["event"] for r in rows] == ["status", "question", "answer"]
            assert rows[0]["at"] < rows[1]["at"]
            assert json.loads(rows[2]["detail"]) == {"answer": "ACCEPT", "by": "Dr Jones"}

    asyncio.run(go())
