"""Every notification, numbered and kept in the journal: what ``events.subscribe {since}`` replays
to a PMS that was away.

:meth:`EventLog.record` is called on the event loop as a notification is published: it takes the
next event number at once (the notification goes out carrying it as ``seq``) and writes the event
behind it, in order, on the journal's thread. Until the row is committed the event is kept in
memory too, so a replay never misses one that is on its way to the disk. Events older than
``keep_s`` are pruned as new ones are written. Numbers are never reused: a new log starts after
the highest one the table holds.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bridge.errors import JournalUnavailable
from bridge.journal.schema import iso
from bridge.journal.store import Journal

__all__ = ["EVENTS_TABLE", "Event", "EventLog"]

log = logging.getLogger("claimbridge.journal")

#: Made when the log opens (a journal from before the log gets it then).
EVENTS_TABLE = (
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, at TEXT NOT NULL,"
    " method TEXT NOT NULL, params TEXT NOT NULL)"
)

#: How many events are written between two prunings.
_PRUNE_EVERY = 500


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

    @property
    def last(self) -> int:
        """The number of the last event recorded (0: none yet)."""
        return self._last

    async def open(self) -> None:
        """Make the table if missing and continue after its highest number.

        Raises:
            JournalUnavailable: SQLite failed.
        """
        self._last = await self.journal.write(self._open)

    def _open(self) -> int:
        db = self.journal.thread.conn
        db.execute(EVENTS_TABLE)
        row = db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        return int(row[0])

    def take(self) -> int:
        """A new number for a notification that is not recorded (one sent to a single peer)."""
        self._last += 1
        return self._last

    def record(self, method: str, params: dict[str, Any]) -> int:
        """Number the notification and write it behind; returns its number (on the event loop)."""
        event = Event(self.take(), method, params)
        self._pending[event.seq] = event
        task = asyncio.get_running_loop().create_task(self._write(event), name="claimbridge.events.write")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return event.seq

    async def _write(self, event: Event) -> None:
        try:
            await self.journal.write(self._insert, event, self.journal.clock_now())
        except JournalUnavailable as exc:
            # Kept in memory: replays still have it while the daemon runs.
            log.warning("event %s (%s) not written to the journal: %s", event.seq, event.method, exc.detail)
            return
        self._pending.pop(event.seq, None)

    def _insert(self, event: Event, at: datetime) -> None:
        with self.journal.thread.transaction() as db:
            db.execute("INSERT OR IGNORE INTO events (seq, at, method, params) VALUES (?, ?, ?, ?)",
                       (event.seq, iso(at), event.method, json.dumps(event.params, separators=(",", ":"))))
            self._written += 1
            if self._written % _PRUNE_EVERY == 0:
                db.execute("DELETE FROM events WHERE at < ?", (iso(at - timedelta(seconds=self.keep_s)),))

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

    async def flush(self) -> None:
        """Wait for the events being written (before the journal closes)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
