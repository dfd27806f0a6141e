"""bridge/cli/journal.py through ``claimbridge journal``: check (exit 0/1, a line per finding),
backup (a consistent 0600 copy while the journal is open), accept-gap (refused while a daemon
holds the state directory; records the note, writes the mark)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest

from bench.faults import flip_index_byte
from bridge.cli import main
from bridge.jobs import JobKind
from bridge.journal import Journal
from bridge.journal.gaps import JournalGaps
from bridge.journal.guard import MarkKeeper, check_before_open
from bridge.journal.mark import mark_path, read_mark
from bridge.statelock import StateDirLock
from tests.job_requests import request_for


def _config(tmp_path: Path) -> list[str]:
    cfg = tmp_path / "claimbridge.toml"
    cfg.write_text(f'state_dir = "{tmp_path / "state"}"\n')
    return ["--config", str(cfg)]


def _daemon_start(db: Path, jobs: int) -> None:
    """What the daemon does with its journal at start, then ``jobs`` new claims."""

    async def go() -> None:
        mark, problem = check_before_open(db)
        async with Journal(db) as j:
            keeper = MarkKeeper(j, mark, problem)
            await keeper.start()
            if j.behind is None:
                for _ in range(jobs):
                    await j.create_job(kind=JobKind.CLAIM, request_id=f"r-{j.thread.seq}-abcdefghijkl",
                                       terminal="t", request=request_for(JobKind.CLAIM, f"r-{j.thread.seq}-abcdefghijkl"))
            keeper.write_now()

    asyncio.run(go())


def test_check_says_ok_then_names_damage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _config(tmp_path)
    db = tmp_path / "state" / "claimbridge.db"
    _daemon_start(db, 3)
    assert main([*args, "journal", "check"]) == 0
    assert capsys.readouterr().out.startswith("ok ")
    flip_index_byte(db)
    assert main([*args, "journal", "check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out and all(line.startswith("FAIL ") for line in out) and "index" in out[0]


def test_backup_while_open_restore_is_behind_until_accept_gap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _config(tmp_path)
    db = tmp_path / "state" / "claimbridge.db"
    _daemon_start(db, 2)
    copy = tmp_path / "backup.db"

    async def backup_while_open() -> int:
        async with Journal(db):
            return await asyncio.to_thread(main, [*args, "journal", "backup", str(copy)])

    assert asyncio.run(backup_while_open()) == 0
    assert copy.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 2
    conn.close()
    assert main([*args, "journal", "backup", str(copy)]) == 1  # never overwrites
    _daemon_start(db, 3)
    shutil.copy(copy, db)  # the restore
    capsys.readouterr()
    assert main([*args, "journal", "check"]) == 1
    assert "behind its mark" in capsys.readouterr().out
    with StateDirLock(tmp_path / "state"):  # a running daemon holds it
        assert main([*args, "journal", "accept-gap", "--note", "restored"]) == 1
    assert "stop the daemon" in capsys.readouterr().err
    assert main([*args, "journal", "accept-gap", "--note", "restored after the disk died"]) == 0
    assert "accepted" in capsys.readouterr().out
    mark = read_mark(mark_path(db))
    assert mark is not None and mark.seq >= 5

    async def history() -> list[str]:
        async with Journal(db) as j:
            return [f"{h['event']}: {h['detail']}" for h in await JournalGaps(j).history()]

    assert asyncio.run(history())[-1] == "gap accepted: restored after the disk died"
    assert main([*args, "journal", "check"]) == 1  # reconciliation of the gap's days still to come
    assert "accepted gap" in capsys.readouterr().out
