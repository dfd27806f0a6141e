"""Is the journal file whole? Checked before the daemon opens it, and by ``journal check`` and doctor.

``PRAGMA integrity_check`` reads every page and checks every index against its table (a
flipped byte in the ``requestId`` index is found; ``quick_check`` would not compare index
content). A file truncated mid-page, or emptied while its mark says it held changes, is damaged
too. Rows that SQLite reads but this version cannot decode are not damage to the file: the
journal skips them (and logs them); :func:`check_journal` lists them when asked.

Each check opens its own short-lived connection that never creates the file (``mode=rw``).
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from bridge.journal.mark import Mark
from bridge.journal.records import NOT_UTF8, job_from_row

__all__ = ["Findings", "check_journal"]

#: How many lines of ``integrity_check`` are worth showing (the first ones name the damage).
_MAX_LINES = 5
_HEADER = b"SQLite format 3\x00"


@dataclass
class Findings:
    """What a check found.

    Attributes:
        damage: why the file cannot be trusted at all (the daemon refuses to start on it).
        rows: job rows that cannot be decoded (skipped by the journal, listed by the check).
    """

    damage: list[str] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=5.0)
    db.row_factory = sqlite3.Row
    db.text_factory = _text
    return db


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:  # listed by the row check, as the journal leaves the row out
        return NOT_UTF8 + raw.decode("utf-8", "replace")


def check_journal(path: Path, mark: Mark | None, *, rows: bool = False) -> Findings:
    """Check the journal file at ``path`` (a missing file is no damage: the mark tells whether
    it should be there).

    Args:
        path: the journal file.
        mark: its mark, if any (an empty file is damage when the mark says it had changes).
        rows: also decode every job row (slower: for ``journal check`` and doctor).
    """
    found = Findings()
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return found
    except OSError as exc:
        found.damage.append(f"cannot be read ({exc.strerror})")
        return found
    if size == 0:
        if mark is not None and mark.seq > 0:
            found.damage.append(f"is empty (0 bytes) but its mark says it had reached change {mark.seq}")
        return found
    with open(path, "rb") as fh:
        header = fh.read(100)
    if not header.startswith(_HEADER) or len(header) < 100:
        found.damage.append("is not an SQLite database (its header is wrong)")
        return found
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size and size % page_size:
        found.damage.append(f"is truncated mid-page ({size} bytes is not a whole number of {page_size}-byte pages)")
        return found
    try:
        db = _connect(path)
    except sqlite3.Error as exc:
        found.damage.append(f"cannot be opened ({exc})")
        return found
    try:
        lines = [str(r[0]) for r in db.execute(f"PRAGMA integrity_check({_MAX_LINES})").fetchall()]
        if lines != ["ok"]:
            found.damage.extend(f"integrity_check: {line}" for line in lines)
        elif rows:
            found.rows.extend(_undecodable(db))
    except sqlite3.Error as exc:
        found.damage.append(f"cannot be read ({exc})")
    finally:
        with contextlib.suppress(sqlite3.Error):
            db.close()
    return found


def _undecodable(db: sqlite3.Connection) -> list[str]:
    out: list[str] = []
    has_jobs = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'").fetchone()
    if has_jobs is None:
        return out
    for row in db.execute("SELECT * FROM jobs"):
        try:
            job_from_row(row)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            out.append(f"job {row['job_id']} (requestId {row['request_id']}) cannot be decoded: {exc}")
    return out

