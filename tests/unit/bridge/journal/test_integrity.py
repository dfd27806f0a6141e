"""bridge/journal/integrity.py on real SQLite files: a whole journal passes; a byte flipped in the
requestId index (which quick_check passes), a file cut mid-page, and an emptied file whose mark
says it had changes are damage; a row this version cannot decode is listed, not damage."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

from bench.faults import flip_index_byte, truncate_mid_page
from bridge.jobs import JobKind
from bridge.journal import Journal
from bridge.journal.integrity import check_journal
from bridge.journal.mark import Mark
from tests.job_requests import request_for


def _journal(path: Path, jobs: int = 5) -> None:
    async def go() -> None:
        async with Journal(path) as j:
            for i in range(jobs):
                await j.create_job(kind=JobKind.CLAIM, request_id=f"request-{i:04d}-abcdefghijkl", terminal="t",
                                   request=request_for(JobKind.CLAIM, f"request-{i:04d}-abcdefghijkl"))

    asyncio.run(go())


def test_a_whole_journal_passes_and_a_missing_one_is_no_damage(tmp_path: Path) -> None:
    _journal(tmp_path / "j.db")
    found = check_journal(tmp_path / "j.db", Mark("x", 5, ""), rows=True)
    assert found.damage == [] and found.rows == []
    assert check_journal(tmp_path / "none.db", Mark("x", 5, "")).damage == []


def test_a_byte_flipped_in_the_request_id_index_is_damage(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    _journal(db)
    flip_index_byte(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"  # what doctor used to ask
    conn.close()
    found = check_journal(db, None)
    assert found.damage and "index" in found.damage[0]


def test_a_file_cut_mid_page_is_damage(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    _journal(db, jobs=40)
    truncate_mid_page(db)
    assert "truncated mid-page" in check_journal(db, None).damage[0]


def test_an_emptied_file_is_damage_only_when_its_mark_says_it_had_changes(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    _journal(db)
    os.truncate(db, 0)
    assert check_journal(db, None).damage == []
    assert check_journal(db, Mark("x", 0, "")).damage == []
    assert "empty (0 bytes)" in check_journal(db, Mark("x", 5, "")).damage[0]


def test_a_file_that_is_not_a_database_is_damage(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    db.write_bytes(b"not sqlite at all" * 300)
    assert "not an SQLite database" in check_journal(db, None).damage[0]


def test_a_row_that_cannot_be_decoded_is_listed_not_damage(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    _journal(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE jobs SET state = 'teleported' WHERE request_id = 'request-0002-abcdefghijkl'")
    conn.close()
    found = check_journal(db, None, rows=True)
    assert found.damage == []
    assert len(found.rows) == 1 and "request-0002-abcdefghijkl" in found.rows[0]


def test_a_row_whose_text_is_not_utf8_is_listed(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    _journal(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE jobs SET result = CAST(x'7b22ff' AS TEXT) WHERE request_id = 'request-0001-abcdefghijkl'")
    conn.close()
    found = check_journal(db, None, rows=True)
    assert found.damage == [] and len(found.rows) == 1 and "not UTF-8" in found.rows[0]
