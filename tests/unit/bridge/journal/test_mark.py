"""bridge/journal/mark.py: the mark written atomically (0600, no temporary file left), read back,
refused when damaged, and each way a journal can be behind it named."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bridge.journal.mark import Mark, MarkUnreadable, behind_reason, mark_path, read_mark, write_mark


def test_a_mark_is_written_atomically_0600_and_read_back(tmp_path: Path) -> None:
    path = mark_path(tmp_path / "claimbridge.db")
    assert path.name == "claimbridge.db.mark"
    assert read_mark(path) is None
    write_mark(path, Mark("id-1", 7, "2026-12-06T01:00:00+00:00"))
    write_mark(path, Mark("id-1", 9, "2026-12-06T01:00:01+00:00"))
    assert read_mark(path) == Mark("id-1", 9, "2026-12-06T01:00:01+00:00")
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["claimbridge.db.mark"]


def test_writers_at_once_never_take_each_others_temporary_file(tmp_path: Path) -> None:
    """A cancelled loop's thread may still be writing when the next writer starts (seen in CI:
    ``FileNotFoundError`` renaming ``claimbridge.db.mark.tmp``): every write must still land."""
    path = mark_path(tmp_path / "claimbridge.db")
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        start.wait()
        for i in range(50):
            try:
                write_mark(path, Mark("id-1", n * 100 + i, ""))
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    mark = read_mark(path)
    assert mark is not None and mark.seq % 100 == 49
    assert [p.name for p in tmp_path.iterdir()] == ["claimbridge.db.mark"]


def test_a_damaged_mark_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "claimbridge.db.mark"
    path.write_text('{"journalId": "x"')
    with pytest.raises(MarkUnreadable):
        read_mark(path)


def test_each_way_of_being_behind_is_named() -> None:
    mark = Mark("id-1", 10, "")
    assert behind_reason(None, "any", 0, created_now=True) is None  # no mark: a first start
    assert behind_reason(mark, "id-1", 10, created_now=False) is None
    assert behind_reason(mark, "id-1", 12, created_now=False) is None  # the mark lags: fine
    assert "up to 9" in (behind_reason(mark, "id-1", 9, created_now=False) or "")
    assert "another file" in (behind_reason(mark, "id-2", 50, created_now=False) or "")
    assert "missing or empty" in (behind_reason(mark, "id-3", 0, created_now=True) or "")
