"""Every notification, numbered and kept in the journal: what ``events.subscribe {since}`` replays
to a PMS that was away.

:meth:`EventLog.record` is called on the event loop as a notification is published: it takes the
next event number at once (the notification goes out carrying it as ``seq``) and writes the event
behind it, in order, on the journal's thread: one writer commits every event waiting at that
moment in one transaction (one fsync for a burst of notifications, not one each; nobody waits for
an event's commit). Until the row is committed the event is kept in memory too, so a replay never
misses one that is on its way to the disk. Events older than
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

#: The most events committed in one transaction.
_BATCH = 500


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
        #: Recorded, not yet handed to the writer, in order.
        self._unwritten: list[Event] = []
        self._written = 0
        self._writer: asyncio.Task[None] | None = None

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
        self._unwritten.append(event)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_behind(), name="claimbridge.events.write")
        return event.seq

    async def _write_behind(self) -> None:
        """Commit what waits, a batch at a time, until nothing does."""
        while self._unwritten:
            batch, self._unwritten = self._unwritten[:_BATCH], self._unwritten[_BATCH:]
            try:
                await self.journal.write(self._insert, batch, self.journal.clock_now(), grouped=True)
            except JournalUnavailable as exc:
                # Kept in memory: replays still have them while the daemon runs.
                log.warning("events %s-%s not written to the journal: %s", batch[0].seq, batch[-1].seq, exc.detail)
                continue
            for event in batch:
                self._pending.pop(event.seq, None)

    def _insert(self, batch: list[Event], at: datetime) -> None:
        with self.journal.thread.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO events (seq, at, method, params) VALUES (?, ?, ?, ?)",
                [(e.seq, iso(at), e.method, json.dumps(e.params, separators=(",", ":"))) for e in batch],
            )
            before, self._written = self._written, self._written + len(batch)
            if before // _PRUNE_EVERY != self._written // _PRUNE_EVERY:
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
        while self._writer is not None and not self._writer.done():
            await asyncio.gather(self._writer, return_exceptions=True)
