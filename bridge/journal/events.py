"""Every notification, numbered and kept in the journal: what ``events.subscribe {since}`` replays
to a PMS that was away.

:meth:`EventLog.record` is called on the event loop as a notification is published: it takes the
next event number at once (the notification goes out carrying it as ``seq``) and writes the event
behind it: its row rides along with the journal's next transaction (a job's move: the log costs
a claim no ``fsync`` of its own), or is committed alone when none comes soon. Until the row is
committed the event is kept in memory too, so a replay never misses one that is on its way to
the disk. Events older than
``keep_s`` are pruned as new ones are written. Numbers are never reused: a new log starts after
the highest one the table holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bridge.errors import JournalUnavailable
from bridge.journal.schema import iso
from bridge.journal.store import Journal

__all__ = ["EVENTS_TABLE", "EVENT_NUMBERS_TABLE", "RESERVE", "WRITE_AFTER_S", "Event", "EventLog"]

log = logging.getLogger("claimbridge.journal")

#: Made when the log opens (a journal from before the log gets it then).
EVENTS_TABLE = (
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, at TEXT NOT NULL,"
    " method TEXT NOT NULL, params TEXT NOT NULL)"
)

#: How many events are written between two prunings.
_PRUNE_EVERY = 500
#: Numbers the log may hand out beyond the last one committed: the journal keeps the ceiling
#: (``event_numbers``), so a daemon killed before its last events reached the disk starts after
#: every number it may have sent (a replay ``since`` one of them then misses nothing new).
RESERVE = 1000
EVENT_NUMBERS_TABLE = (
    "CREATE TABLE IF NOT EXISTS event_numbers (id INTEGER PRIMARY KEY CHECK (id = 1), reserved INTEGER NOT NULL)"
)
_RESERVE_SQL = (
    "INSERT INTO event_numbers (id, reserved) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET reserved = excluded.reserved"
)
#: The longest an event waits for a transaction to ride along with before it is committed alone.
WRITE_AFTER_S = 0.2


@dataclass(frozen=True, slots=True)
class Event:
    """One notification as it was sent (without its ``seq``, which is :attr:`seq`)."""

    seq: int
    method: str
    params: dict[str, Any]


class EventLog:
    """The numbered notifications of one journal.

    Args:
        journal: the open journal.
        keep_s: how long an event is kept for replay (default 7 days).
    """

    def __init__(self, journal: Journal, keep_s: float = 7 * 86400) -> None:
        self.journal = journal
        self.keep_s = keep_s
        self._last = 0
        self._pending: dict[int, Event] = {}
        self._written = 0
        self._tasks: set[asyncio.Task[None]] = set()
        #: Recorded, not yet handed to a transaction (appended on the loop, taken on the thread).
        self._waiting: deque[Event] = deque()
        self._boarded: list[Event] = []
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def last(self) -> int:
        """The number of the last event recorded (0: none yet)."""
        return self._last

    async def open(self) -> None:
        """Make the table if missing and continue after its highest number (or the numbers a
        daemon that did not stop cleanly had reserved).

        Raises:
            JournalUnavailable: SQLite failed.
        """
        self._last = await self.journal.write(self._open)
        self.journal.thread.add_rider(self)

    def _open(self) -> int:
        db = self.journal.thread.conn
        db.execute(EVENTS_TABLE)
        db.execute(EVENT_NUMBERS_TABLE)
        row = db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        reserved = db.execute("SELECT reserved FROM event_numbers WHERE id = 1").fetchone()
        last = max(int(row[0]), int(reserved[0]) if reserved is not None else 0)
        db.execute(_RESERVE_SQL, (last + RESERVE,))
        return last

    def _close(self) -> None:
        """A clean stop: every event is written, the next daemon goes on from the last number."""
        with self.journal.thread.transaction() as db:
            db.execute(_RESERVE_SQL, (self._last,))

    def take(self) -> int:
        """A new number for a notification that is not recorded (one sent to a single peer)."""
        self._last += 1
        return self._last

    def record(self, method: str, params: dict[str, Any]) -> int:
        """Number the notification and write it behind; returns its number (on the event loop).

        The row goes with the journal's next transaction (a job's move, say: no commit of its
        own on a claim's path); if none comes within :data:`WRITE_AFTER_S`, it is committed alone.
        """
        event = Event(self.take(), method, params)
        self._pending[event.seq] = event
        self._waiting.append(event)
        if self._timer is None:
            self._loop = asyncio.get_running_loop()
            self._timer = self._loop.call_later(WRITE_AFTER_S, self._write_soon)
        return event.seq

    def _write_soon(self) -> None:
        self._timer = None
        if self._waiting:
            task = asyncio.get_running_loop().create_task(self._write(), name="claimbridge.events.write")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _write(self) -> None:
        try:
            await self.journal.write(self._commit_waiting)
        except JournalUnavailable as exc:
            # Kept in memory: replays still have them while the daemon runs, and the next
            # transaction that commits takes them along.
            log.warning("%d events not written to the journal yet: %s", len(self._waiting), exc.detail)

    def _commit_waiting(self) -> None:
        if self._waiting:  # else a job's transaction took them since
            with self.journal.thread.transaction():
                pass  # the rows board as a rider (:meth:`board`)

    def board(self, db: sqlite3.Connection) -> None:
        """Insert the waiting events into the journal's open transaction (journal thread)."""
        batch: list[Event] = []
        while self._waiting:
            batch.append(self._waiting.popleft())
        if not batch:
            return
        at = iso(self.journal.clock_now())
        try:
            db.execute("SAVEPOINT events")
            db.executemany("INSERT OR IGNORE INTO events (seq, at, method, params) VALUES (?, ?, ?, ?)",
                           [(e.seq, at, e.method, json.dumps(e.params, separators=(",", ":"))) for e in batch])
            db.execute(_RESERVE_SQL, (self._last + RESERVE,))
            self._written += len(batch)
            if self._written >= _PRUNE_EVERY:
                self._written = 0
                cutoff = iso(self.journal.clock_now() - timedelta(seconds=self.keep_s))
                db.execute("DELETE FROM events WHERE at < ?", (cutoff,))
            db.execute("RELEASE events")
        except sqlite3.Error:
            # The job's own rows must not fail for the log's: the events wait for the next commit.
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK TO events")
                db.execute("RELEASE events")
            self._waiting.extendleft(reversed(batch))
            return
        self._boarded = batch

    def landed(self, committed: bool) -> None:
        """The transaction carrying the boarded events ended (journal thread)."""
        batch, self._boarded = self._boarded, []
        if not batch:
            return
        if not committed:
            self._waiting.extendleft(reversed(batch))
        elif self._loop is not None:
            self._loop.call_soon_threadsafe(self._forget, [e.seq for e in batch])

    def _forget(self, seqs: list[int]) -> None:
        for seq in seqs:
            self._pending.pop(seq, None)

    async def since(self, since: int, upto: int) -> list[Event]:
        """The events numbered after ``since`` up to ``upto``, in order (kept ones only).

        Raises:
            JournalUnavailable: SQLite failed.
        """
        rows = await self.journal.read(self._since, since, upto)
        found = {event.seq: event for event in rows}
        for seq, event in list(self._pending.items()):
            if since < seq <= upto:
                found.setdefault(seq, event)
        return [found[seq] for seq in sorted(found)]

    def _since(self, since: int, upto: int) -> list[Event]:
        rows = self.journal.thread.conn.execute(
            "SELECT seq, method, params FROM events WHERE seq > ? AND seq <= ? ORDER BY seq", (since, upto),
        ).fetchall()
        return [Event(int(r[0]), str(r[1]), json.loads(r[2])) for r in rows]

    async def __aenter__(self) -> EventLog:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.flush()
        self.journal.thread.remove_rider(self)
        if not self._waiting:
            try:
                await self.journal.write(self._close)
            except JournalUnavailable as exc:  # the reservation stands: the next start skips ahead
                log.warning("the event log's last number not written at shutdown: %s", exc.detail)

    async def flush(self) -> None:
        """Write the waiting events now (before the journal closes)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._waiting:
            self._loop = asyncio.get_running_loop()
            await self._write()
