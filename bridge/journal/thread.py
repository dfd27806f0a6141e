"""The journal's one SQLite connection and the one thread it is used on.

Every call runs on that thread, so the event loop never waits on ``fsync`` and SQLite sees one
writer. Calls wait in lanes, taken round-robin: a lane is whatever :data:`LANE` holds in the
caller's context (the server sets one per websocket connection), so one client's thousand
queued reads delay another client's read by one call, not by a thousand.

Group commit: a call made with ``grouped=True`` (a job created or moved) is committed together
with the other grouped calls waiting at the head of their lanes, in one ``BEGIN IMMEDIATE`` …
``COMMIT`` (one fsync for many), each call in its own savepoint so one that fails rolls back
alone. Every caller's answer waits for the ``COMMIT`` that holds its rows: a grouped write is as
durable, when it returns, as one committed alone. This is where a ``sqlite3`` error stops: it becomes
:class:`~bridge.errors.JournalUnavailable` (a lock held by another process, a full disk, a
damaged file), which the protocol answers -32005.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import sqlite3
import threading
import uuid
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bridge.errors import JournalUnavailable
from bridge.journal.records import NOT_UTF8
from bridge.journal.schema import ADD_SEQ, INDEX_SEQ, JOB_COUNTS, JOB_COUNTS_TRIGGERS, META_ROW, NEXT_SEQ, SCHEMA
from bridge.statelock import make_private

__all__ = ["LANE", "JournalThread", "Rider"]

_T = TypeVar("_T")

#: The fairness lane of the current task's journal calls (None: the daemon's own work).
LANE: contextvars.ContextVar[Hashable | None] = contextvars.ContextVar("claimbridge_journal_lane", default=None)

class Rider(Protocol):
    """Rows that ride along with whatever transaction commits next (the notification log's):
    they cost no commit of their own. Both methods run on the journal's thread."""

    def board(self, db: sqlite3.Connection) -> None:
        """Write the waiting rows into the open transaction (must not raise)."""

    def landed(self, committed: bool) -> None:
        """The transaction committed (the rows are on disk) or rolled back (they wait again)."""


_Call = tuple[Callable[..., Any], tuple[object, ...], "asyncio.Future[Any]", asyncio.AbstractEventLoop, bool]

#: The most grouped calls committed in one transaction.
_GROUP_MAX = 64


class JournalThread:
    """Opens the database (WAL, ``synchronous=FULL``) and runs calls on its thread.

    Args:
        path: the database file (created with its folder if missing).
        busy_timeout_s: how long a write waits for another process's lock before it fails
            (the one thread waits with it, so this stays short).
    """

    def __init__(self, path: Path, busy_timeout_s: float) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._db: sqlite3.Connection | None = None
        #: The highest change number committed (read at open, raised after each commit).
        self.seq = 0
        self._pending_seq: int | None = None
        #: The journal's identity (its ``meta`` row), known once open.
        self.journal_id = ""
        #: Whether opening made a new journal: the file was missing or empty.
        self.created_now = False
        self._riders: list[Rider] = []
        self._lanes: dict[Hashable | None, deque[_Call]] = {}
        self._order: deque[Hashable | None] = deque()
        self._wake = threading.Condition()
        self._stopping = False
        #: True while a group's transaction is open: :meth:`transaction` is then a savepoint.
        self._grouping = False
        self._thread = threading.Thread(target=self._serve, name="claimbridge-journal", daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[..., _T], *args: Any, grouped: bool = False) -> _T:
        """Run ``fn(*args)`` on the thread; ``grouped``: it may share its commit with other
        grouped calls (``fn`` writes only through :meth:`transaction`, and has no effect
        outside the database before its result is returned).

        Raises:
            JournalUnavailable: SQLite failed (its text in ``detail``).
        """
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[_T] = loop.create_future()
        lane = LANE.get()
        with self._wake:
            if self._stopping:
                raise JournalUnavailable("the journal is closed")
            queue = self._lanes.get(lane)
            if queue is None:
                queue = self._lanes[lane] = deque()
                self._order.append(lane)
            queue.append((fn, args, fut, loop, grouped))
            self._wake.notify()
        try:
            return await fut
        except sqlite3.Error as exc:
            raise JournalUnavailable(str(exc)) from exc

    def _next(self) -> list[_Call] | None:
        """The next call, round-robin over the lanes, with the grouped calls after it when it is
        grouped; None once stopping with nothing left."""
        with self._wake:
            while not self._order:
                if self._stopping:
                    return None
                self._wake.wait()
            calls = [self._pop()]
            while calls[0][4] and self._order and len(calls) < _GROUP_MAX and self._lanes[self._order[0]][0][4]:
                calls.append(self._pop())
            return calls

    def _pop(self) -> _Call:
        lane = self._order.popleft()
        queue = self._lanes[lane]
        call = queue.popleft()
        if queue:
            self._order.append(lane)
        else:
            del self._lanes[lane]
        return call

    def _serve(self) -> None:
        while (calls := self._next()) is not None:
            calls = [call for call in calls if not call[2].cancelled()]  # nobody waits for those any more
            if len(calls) == 1 or (calls and self._db is None):
                for fn, args, fut, loop, _ in calls:
                    try:
                        result = fn(*args)
                    except BaseException as exc:  # handed to the caller, who maps it
                        loop.call_soon_threadsafe(_settle, fut, None, exc)
                    else:
                        loop.call_soon_threadsafe(_settle, fut, result, None)
            elif calls:
                self._run_group(calls)

    def _run_group(self, calls: list[_Call]) -> None:
        """Run grouped calls in one transaction, each in a savepoint; settle them after COMMIT."""
        outcomes: list[tuple[object, BaseException | None]] = []
        db = self.conn
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            for _, _, fut, loop, _ in calls:
                loop.call_soon_threadsafe(_settle, fut, None, exc)
            return
        self._pending_seq = None
        self._grouping = True
        try:
            for fn, args, _, _, _ in calls:
                seq_before = self._pending_seq
                try:
                    outcomes.append((fn(*args), None))
                except BaseException as exc:  # its savepoint is rolled back: so is its seq
                    self._pending_seq = seq_before
                    outcomes.append((None, exc))
        finally:
            self._grouping = False
        boarded: list[Rider] = []
        try:
            for rider in list(self._riders):
                boarded.append(rider)
                rider.board(db)
            db.execute("COMMIT")
        except sqlite3.Error as exc:  # nothing of the group is written: every caller hears why
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            for rider in boarded:
                rider.landed(False)
            outcomes = [(None, error or exc) for _, error in outcomes]
        else:
            if self._pending_seq is not None:
                self.seq = max(self.seq, self._pending_seq)
            for rider in boarded:
                rider.landed(True)
        for (_, _, fut, loop, _), (result, error) in zip(calls, outcomes, strict=True):
            loop.call_soon_threadsafe(_settle, fut, result, error)

    def open(self) -> None:
        """Connect and create the schema if missing (on the thread)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.created_now = not self.path.exists() or self.path.stat().st_size == 0
        _private_files(self.path)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=self._busy_timeout_s)
        db.row_factory = sqlite3.Row
        db.text_factory = _text
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(SCHEMA)
        self._db = db
        with self.transaction():
            columns = {r["name"] for r in db.execute("PRAGMA table_info(jobs)")}
            if "seq" not in columns:
                for statement in ADD_SEQ:
                    db.execute(statement)
            db.execute(INDEX_SEQ)
            if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'job_counts'").fetchone() is None:
                for statement in JOB_COUNTS:
                    db.execute(statement)
            for statement in JOB_COUNTS_TRIGGERS:
                db.execute(statement)
            if "gap" not in {r["name"] for r in db.execute("PRAGMA table_info(meta)")}:
                db.execute("ALTER TABLE meta ADD COLUMN gap TEXT")
            db.execute(META_ROW, (str(uuid.uuid4()),))
            meta = db.execute("SELECT journal_id, seq FROM meta WHERE id = 1").fetchone()
            self.journal_id, self.seq = str(meta["journal_id"]), int(meta["seq"])

    def close(self) -> None:
        """Close the connection (on the thread)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop the thread once its queued calls are done; wait at most ``timeout`` seconds
        (a call stuck on another process's lock must not hold the daemon's exit). Returns
        whether the thread has ended (it is a daemon thread: the process may exit without it)."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def busy_timeout_s(self) -> float:
        """How long one write waits for another process's lock."""
        return self._busy_timeout_s

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection; JournalUnavailable when it is not open."""
        if self._db is None:
            raise JournalUnavailable("journal is not open")
        return self._db

    def next_seq(self) -> int:
        """Take the journal's next change number (inside the caller's transaction)."""
        row = self.conn.execute(NEXT_SEQ).fetchone()
        if row is None:
            raise sqlite3.DatabaseError("the journal has no meta row")
        self._pending_seq = int(row[0])
        return self._pending_seq

    def touch(self, job_id: str) -> None:
        """Give a job the next change number (a note, a receipt, a question: a change of that job)."""
        self.conn.execute("UPDATE jobs SET seq = ? WHERE job_id = ?", (self.next_seq(), job_id))

    def add_rider(self, rider: Rider) -> None:
        """Let ``rider``'s rows go with every transaction from now on."""
        self._riders.append(rider)

    def remove_rider(self, rider: Rider) -> None:
        """Stop carrying ``rider``'s rows."""
        if rider in self._riders:
            self._riders.remove(rider)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error: the one copy of it.
        The riders' rows go in just before the commit (one ``fsync`` for all). Within a group's
        transaction, a savepoint of it (committed, riders and all, with the group)."""
        db = self.conn
        if self._grouping:
            db.execute("SAVEPOINT claimbridge_call")
            try:
                yield db
                db.execute("RELEASE claimbridge_call")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK TO claimbridge_call")
                    db.execute("RELEASE claimbridge_call")
                raise
            return
        db.execute("BEGIN IMMEDIATE")
        self._pending_seq = None
        riders = list(self._riders)
        boarded: list[Rider] = []
        try:
            yield db
            for rider in riders:
                boarded.append(rider)
                rider.board(db)
            db.execute("COMMIT")
            if self._pending_seq is not None:
                self.seq = max(self.seq, self._pending_seq)
        except BaseException:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            for rider in boarded:
                rider.landed(False)
            raise
        for rider in boarded:
            rider.landed(True)


def _private_files(path: Path) -> None:
    """The journal file ``0600`` before SQLite opens it (created so when missing, whatever the
    umask), and its ``-wal``/``-shm`` if present: SQLite gives those the database's mode when it
    makes them. They hold terminals' integration keys. What cannot be done here (a directory
    in the way, a file not ours) is left for SQLite to refuse in its own words."""
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        for suffix in ("", "-wal", "-shm"):
            part = Path(str(path) + suffix)
            if part.exists():
                make_private(part, 0o600)
    except OSError:
        return


def _text(raw: bytes) -> str:
    """A text value as read: one that is not UTF-8 is marked (:data:`NOT_UTF8`), not raised, so
    one damaged row does not fail every query that reads it with others."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_UTF8 + raw.decode("utf-8", "replace")


def _settle(fut: asyncio.Future[Any], result: object, exc: BaseException | None) -> None:
    if fut.cancelled():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(result)
