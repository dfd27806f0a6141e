"""The daemon's guard on its journal: checked before it is opened, compared with its mark once
open, and the mark kept up to date while it runs.

1. :func:`check_before_open`: the file is whole (:mod:`bridge.journal.integrity`), else
   :class:`~bridge.errors.JournalDamaged` (the daemon exits 1 with one line).
2. :meth:`MarkKeeper.start`: a journal behind its mark (:func:`~bridge.journal.mark.behind_reason`)
   records an open gap (:mod:`bridge.journal.gaps`): the daemon runs ``degraded`` until
   ``claimbridge journal accept-gap``. Otherwise the mark is brought up to date.
3. :meth:`MarkKeeper.run`: while the journal is not behind, the mark follows the committed change
   number, at most every ``interval_s`` and once more at shutdown (never on the claim's path).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

from bridge.errors import JournalDamaged
from bridge.journal.gaps import Gap, JournalGaps
from bridge.journal.integrity import check_journal
from bridge.journal.mark import Mark, MarkUnreadable, behind_reason, mark_path, read_mark, remove_leftovers, write_mark
from bridge.journal.store import Journal

__all__ = ["MarkKeeper", "check_before_open"]

log = logging.getLogger("claimbridge.journal")


def check_before_open(path: Path) -> tuple[Mark | None, str | None]:
    """Check the journal file before the daemon opens it; return its mark (or why the mark
    cannot be read).

    Raises:
        JournalDamaged: the file is damaged (the first finding is named).
    """
    problem: str | None = None
    try:
        mark = read_mark(mark_path(path))
    except (MarkUnreadable, OSError) as exc:
        mark, problem = None, f"the journal's mark cannot be read ({exc})"
    found = check_journal(path, mark)
    if found.damage:
        raise JournalDamaged(str(path), found.damage[0])
    return mark, problem


class MarkKeeper:
    """Compares the open journal with its mark, then keeps the mark up to date.

    Args:
        journal: the open journal.
        mark: its mark as read before it was opened (None: no mark yet).
        problem: why the mark could not be read, if it could not (counted as behind).
    """

    def __init__(self, journal: Journal, mark: Mark | None, problem: str | None = None) -> None:
        self.journal = journal
        self.gaps = JournalGaps(journal)
        self.path = mark_path(journal.path)
        self._mark = mark
        self._problem = problem
        self._written = (mark.journal_id, mark.seq) if mark is not None else None
        self._failing = False
        self._writing = threading.Lock()  # a cancelled loop's thread may still be writing

    async def start(self) -> Gap | None:
        """Record a gap when the journal is behind its mark (an open one stays open); else write
        the mark now. Returns the gap, if any."""
        for leftover in remove_leftovers(self.path):
            log.info("removed %s, left by a mark write that never finished", leftover.name)
        gap = await self.gaps.load()
        thread = self.journal.thread
        reason = self._problem or behind_reason(self._mark, thread.journal_id, thread.seq, thread.created_now)
        if reason is not None and (gap is None or gap.state != "open"):
            gap = await self.gaps.open(reason, self._mark.seq if self._mark is not None else 0)
        if self.journal.behind is not None:
            log.error(
                "the journal %s is behind its mark: %s. Money work is refused until an engineer runs "
                "'claimbridge journal accept-gap --note TEXT' (docs/operations.md)", self.journal.path, self.journal.behind,
            )
        else:
            await asyncio.to_thread(self.write_now)
        return gap

    def write_now(self) -> None:
        """Write the mark if the journal went further (never while it is behind).

        Raises:
            OSError: the state directory refuses the write.
        """
        with self._writing:
            now = (self.journal.thread.journal_id, self.journal.thread.seq)
            if self.journal.behind is not None or now == self._written:
                return
            write_mark(self.path, Mark(now[0], now[1], datetime.now(UTC).isoformat(timespec="seconds")))
            self._written = now

    async def run(self, interval_s: float = 0.2) -> None:
        """Follow the journal's change number until cancelled; write once more on the way out."""
        try:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    await asyncio.to_thread(self.write_now)
                    self._failing = False
                except OSError as exc:
                    if not self._failing:  # once per outage, not every interval
                        log.error("the journal's mark %s cannot be written: %s", self.path, exc)
                    self._failing = True
        finally:
            try:
                self.write_now()
            except OSError as exc:
                log.error("the journal's mark %s cannot be written at shutdown: %s", self.path, exc)
