"""bridge/journal/reconciliations.py against a real SQLite file: the day's window, refTag lookups,
kept runs, and a refused write marking the journal it shares unwritable."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import JournalUnavailable
from bridge.jobs import JobKind, JobState
from bridge.journal import Journal, ReconciliationStore
from tests.job_requests import request_for
from bridge.protocol.reports import ReconcileResult, ReconcileSide, ReconcileTotals
from tests.job_requests import claim_outcome

AT = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def _run(claims: int, *, terminal: str = "t") -> ReconcileResult:
    """A reconciliation run as ``healthpoint.reconcile`` answers it."""
    side = ReconcileSide(claims=claims, claimed=100 * claims, benefit=60 * claims)
    return ReconcileResult(
        terminal=terminal, date="2026-11-23", available=True, settled=(), discrepancies=(), ambiguous=(),
        totals=ReconcileTotals(fund=side, journal=side),
    )


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_window_and_ref_tag_queries_and_reconciliations(tmp_path: Path) -> None:
    now = [AT]

    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: now[0]) as j:
            store = ReconciliationStore(j)
            a, _ = await j.create_job(kind=JobKind.CLAIM, request_id="a", terminal="t", request=request_for(JobKind.CLAIM, "a"))
            now[0] = AT + timedelta(hours=2)
            b, _ = await j.create_job(kind=JobKind.CANCEL, request_id="b", terminal="t", request=request_for(JobKind.CANCEL, "b"))
            await j.create_job(kind=JobKind.GAP, request_id="c", terminal="t", request=request_for(JobKind.GAP, "c"))
            await j.create_job(kind=JobKind.CLAIM, request_id="d", terminal="u", request=request_for(JobKind.CLAIM, "d"))
            got = await store.jobs_created_between("t", [JobKind.CLAIM, JobKind.CANCEL], AT, AT + timedelta(hours=3))
            assert [x.job_id for x in got] == [a.job_id, b.job_id]
            assert await store.jobs_created_between("t", [JobKind.CLAIM], AT + timedelta(hours=1), AT + timedelta(hours=3)) == []
            assert await store.jobs_created_between("t", [], AT, AT + timedelta(hours=3)) == []
            await j.move(a.job_id, JobState.RUNNING)
            await j.move(a.job_id, JobState.COMPLETED, result=claim_outcome(refTag="2120601"))
            assert [x.job_id for x in await store.jobs_with_ref_tags(["2120601", "9"])] == [a.job_id]
            assert await store.jobs_with_ref_tags([]) == []
            assert await store.last_reconciliation("t", "2026-11-23") is None
            await store.save_reconciliation("t", "2026-11-23", _run(1))
            await store.save_reconciliation("t", "2026-11-23", _run(2))
            assert await store.last_reconciliation("t", "2026-11-23") == _run(2)
            assert await store.last_reconciliation("u", "2026-11-23") is None

    run(go())


def test_runs_survive_a_reopen_with_the_journal_clock(tmp_path: Path) -> None:
    async def write() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            await ReconciliationStore(j).save_reconciliation("t", "2026-11-23", _run(1))

    async def read() -> tuple[ReconcileResult | None, str]:
        async with Journal(tmp_path / "j.db") as j:
            at = await j.read(lambda: j.thread.conn.execute("SELECT at FROM reconciliations").fetchone()[0])
            return await ReconciliationStore(j).last_reconciliation("t", "2026-11-23"), at

    run(write())
    report, at = run(read())
    assert report == _run(1) and at.startswith("2026-11-22T23:00:00")


def test_a_refused_run_marks_the_shared_journal_unwritable(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            store = ReconciliationStore(j)
            pages = await j.read(lambda: j.thread.conn.execute("PRAGMA page_count").fetchone()[0])
            await j.read(lambda: j.thread.conn.execute(f"PRAGMA max_page_count = {pages}"))
            with pytest.raises(JournalUnavailable) as full:
                await store.save_reconciliation("t", "2026-11-23", _run(1, terminal="y" * 20000))
            assert "full" in full.value.detail and not j.writable and j.last_error
            assert await store.last_reconciliation("t", "2026-11-23") is None

    run(go())
