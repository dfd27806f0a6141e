"""bridge/journal/guard.py on real files: a damaged journal stops the start; a journal behind its
mark (an older copy put back, another file, a missing one) opens a gap; a healthy one gets its
mark written, and the mark follows the journal while it runs."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from bench.faults import flip_index_byte
from bridge.errors import JournalDamaged
from bridge.jobs import JobKind
from bridge.journal import Journal
from bridge.journal.guard import MarkKeeper, check_before_open
from bridge.journal.mark import mark_path, read_mark
from tests.job_requests import request_for


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _start(db: Path, jobs: int = 0) -> tuple[bool, int]:
    mark, problem = check_before_open(db)
    async with Journal(db) as j:
        keeper = MarkKeeper(j, mark, problem)
        await keeper.start()
        for i in range(jobs):
            await j.create_job(kind=JobKind.CLAIM, request_id=f"request-{uuid.uuid4()}", terminal="t", request=request_for(JobKind.CLAIM, f"request-{uuid.uuid4()}"))
        keeper.write_now()
        return j.behind is not None, j.thread.seq


def test_a_healthy_journal_gets_its_mark_and_an_older_copy_is_behind(tmp_path: Path) -> None:
    db = tmp_path / "claimbridge.db"
    assert run(_start(db, jobs=2)) == (False, 2)
    shutil.copy(db, tmp_path / "backup.db")
    assert run(_start(db, jobs=3)) == (False, 5)
    mark = read_mark(mark_path(db))
    assert mark is not None and mark.seq == 5
    shutil.copy(tmp_path / "backup.db", db)  # the restore docs/operations.md used to describe
    behind, _ = run(_start(db))
    assert behind
    assert read_mark(mark_path(db)) == mark  # the mark is not moved back while behind


def test_another_file_or_a_missing_one_is_behind(tmp_path: Path) -> None:
    db = tmp_path / "claimbridge.db"
    run(_start(db, jobs=1))
    other = tmp_path / "other" / "claimbridge.db"
    run(_start(other, jobs=4))
    shutil.copy(other, db)
    assert run(_start(db))[0]
    db2 = tmp_path / "b" / "claimbridge.db"
    run(_start(db2, jobs=1))
    db2.unlink()
    assert run(_start(db2))[0]


def test_a_damaged_journal_stops_the_start_with_one_line(tmp_path: Path) -> None:
    db = tmp_path / "claimbridge.db"
    run(_start(db, jobs=3))
    flip_index_byte(db)
    with pytest.raises(JournalDamaged) as damaged:
        check_before_open(db)
    line = str(damaged.value)
    assert "\n" not in line and str(db) in line and "claimbridge journal check" in line


def test_the_mark_follows_the_journal_while_it_runs(tmp_path: Path) -> None:
    db = tmp_path / "claimbridge.db"

    async def go() -> None:
        async with Journal(db) as j:
            keeper = MarkKeeper(j, None)
            await keeper.start()
            loop = asyncio.create_task(keeper.run(interval_s=0.01))
            await j.create_job(kind=JobKind.CLAIM, request_id="a", terminal="t", request=request_for(JobKind.CLAIM, "a"))
            for _ in range(200):
                mark = read_mark(mark_path(db))
                if mark is not None and mark.seq == 1:
                    break
                await asyncio.sleep(0.01)
            await j.create_job(kind=JobKind.CLAIM, request_id="b", terminal="t", request=request_for(JobKind.CLAIM, "b"))
            loop.cancel()
            with pytest.raises(asyncio.CancelledError):
                await loop
            mark = read_mark(mark_path(db))
            assert mark is not None and mark.seq == 2 and mark.journal_id == j.thread.journal_id

    run(go())


def test_a_start_removes_the_temporary_files_of_unfinished_mark_writes(tmp_path: Path) -> None:
    # A daemon SIGKILLed in the middle of a mark write leaves <mark>.<random>.tmp behind.
    db = tmp_path / "claimbridge.db"
    run(_start(db, jobs=1))
    mark = mark_path(db)
    leftovers = [mark.with_name(f"{mark.name}.{tag}.tmp") for tag in ("a1b2c3d4", "zz_9")]
    for leftover in leftovers:
        leftover.write_text('{"journalId": "x", "se')
    unrelated = tmp_path / "claimbridge.db.other.tmp"
    unrelated.write_text("not ours")
    behind, _ = run(_start(db))
    assert not behind and read_mark(mark) is not None
    assert not any(leftover.exists() for leftover in leftovers)
    assert unrelated.exists()
