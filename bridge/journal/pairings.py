"""Terminals, their pairing keys and the job each started last, as rows of the journal's file.

Each function runs on the journal's thread (:meth:`bridge.journal.Journal.read` or ``write``
calls it with the :class:`~bridge.journal.thread.JournalThread`); the journal keeps the API.
"""

from __future__ import annotations

from bridge.jobs import JobState
from bridge.journal.records import JobRecord, PairingRecord, TerminalRecord, job_from_row, pairing_from_row
from bridge.journal.thread import JournalThread

__all__ = ["last_started", "pairing", "remember_terminal", "save_pairing", "terminals"]


def remember_terminal(thread: JournalThread, name: str, mid: int, tid: int, at: str) -> None:
    """Record a terminal created through ``terminal.pair`` (or update its mid/tid)."""
    thread.conn.execute(
        "INSERT INTO terminals (name, mid, tid, created_at) VALUES (?,?,?,?)"
        " ON CONFLICT(name) DO UPDATE SET mid = excluded.mid, tid = excluded.tid",
        (name, mid, tid, at),
    )


def terminals(thread: JournalThread) -> list[TerminalRecord]:
    """Terminals the journal remembers, by name."""
    rows = thread.conn.execute("SELECT name, mid, tid FROM terminals ORDER BY name").fetchall()
    return [TerminalRecord(r["name"], r["mid"], r["tid"]) for r in rows]


def save_pairing(thread: JournalThread, terminal: str, mid: int, tid: int, integration_key: str, at: str) -> None:
    """Store (or replace) a terminal's pairing keys."""
    thread.conn.execute(
        "INSERT INTO pairings (terminal, mid, tid, integration_key, paired_at) VALUES (?,?,?,?,?)"
        " ON CONFLICT(terminal) DO UPDATE SET mid = excluded.mid, tid = excluded.tid,"
        " integration_key = excluded.integration_key, paired_at = excluded.paired_at",
        (terminal, mid, tid, integration_key, at),
    )


def pairing(thread: JournalThread, terminal: str) -> PairingRecord | None:
    """The terminal's pairing keys, or None when it was never paired."""
    row = thread.conn.execute("SELECT * FROM pairings WHERE terminal = ?", (terminal,)).fetchone()
    return None if row is None else pairing_from_row(row)


def last_started(thread: JournalThread, terminal: str) -> JobRecord | None:
    """The job the terminal was sent last: the latest move to ``running`` in the journal's own
    order (its audit rows' sequence), never by recorded time, which a clock jump reorders."""
    row = thread.conn.execute(
        "SELECT jobs.* FROM job_events JOIN jobs ON jobs.job_id = job_events.job_id"
        " WHERE job_events.to_state = ? AND jobs.terminal = ? ORDER BY job_events.seq DESC LIMIT 1",
        (str(JobState.RUNNING), terminal),
    ).fetchone()
    return None if row is None else job_from_row(row)
