"""The journal's one SQLite connection and the one thread it is used on.

Every call runs on that thread, so the event loop never waits on ``fsync`` and SQLite sees one
writer. This is where a ``sqlite3`` error stops: it becomes
:class:`~bridge.errors.JournalUnavailable` (a lock held by another process, a full disk, a
damaged file), which the protocol answers -32005.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from bridge.errors import JournalUnavailable
from bridge.journal_schema import SCHEMA

__all__ = ["JournalThread"]

_T = TypeVar("_T")


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
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claimbridge-journal")

    async def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn(*args)`` on the thread.

        Raises:
            JournalUnavailable: SQLite failed (its text in ``detail``).
        """
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            raise JournalUnavailable(str(exc)) from exc

    def open(self) -> None:
        """Connect and create the schema if missing (on the thread)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=self._busy_timeout_s)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(SCHEMA)
        self._db = db

    def close(self) -> None:
        """Close the connection (on the thread)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def shutdown(self) -> None:
        """Stop the thread once its calls are done."""
        self._executor.shutdown(wait=True)

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection; JournalUnavailable when it is not open."""
        if self._db is None:
            raise JournalUnavailable("journal is not open")
        return self._db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error: the one copy of it."""
        db = self.conn
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise
