"""A journal found behind its mark: the gap, kept in the journal until an engineer accepts it.

The gap is recorded in the journal's ``meta`` row as soon as it is found, so a restart cannot
forget it (the journal may go on taking changes — recovery, reads that note — and pass the
mark's number without having got back what it lost). While a gap is ``open``
:attr:`Journal.behind <bridge.journal.store.Journal.behind>` is set: no new job is created
(-32005 ``journalBehind``) and no queued one starts. ``claimbridge journal accept-gap --note``
(daemon stopped) moves it to ``accepted``: the change counter jumps past the mark's, so
``seq`` never goes back for a client; the daemon then reconciles the fund's claims reports for
the gap's days and clears it. Every step is a row of ``journal_history``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from pydantic import TypeAdapter

from bridge.journal.schema import HistoryRow, iso
from bridge.journal.store import Journal

__all__ = ["Gap", "JournalGaps"]


@dataclass(frozen=True, slots=True)
class Gap:
    """What the journal lost, as far as can be known.

    Attributes:
        state: ``open`` (money refused) or ``accepted`` (reconciliation of its days pending).
        reason: why the journal was found behind, in plain words.
        detected_at: when (UTC ISO 8601).
        since: the last change the journal still held (its newest ``updated_at``), or None when
            it held no job: the fund's reports from that day on may list what was lost.
        mark_seq: the change number the mark had reached.
        note: the engineer's note on accepting.
        accepted_at: when it was accepted.
    """

    state: str
    reason: str
    detected_at: str
    since: str | None
    mark_seq: int
    note: str | None = None
    accepted_at: str | None = None


_GAP: TypeAdapter[Gap] = TypeAdapter(Gap)


def _gap(text: str | None) -> Gap | None:
    if not text:
        return None
    return _GAP.validate_json(text)


class JournalGaps:
    """The journal's gap, on the journal's one connection.

    Args:
        journal: the open journal.
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def load(self) -> Gap | None:
        """The recorded gap (sets ``journal.behind`` while it is open)."""
        gap = await self.journal.read(self._current)
        self._apply(gap)
        return gap

    def _current(self) -> Gap | None:
        row = self.journal.thread.conn.execute("SELECT gap FROM meta WHERE id = 1").fetchone()
        return None if row is None else _gap(row["gap"])

    def _apply(self, gap: Gap | None) -> None:
        self.journal.behind = gap.reason if gap is not None and gap.state == "open" else None

    def _save(self, gap: Gap | None, at: datetime, event: str, detail: str) -> None:
        with self.journal.thread.transaction() as db:
            db.execute("UPDATE meta SET gap = ? WHERE id = 1", (None if gap is None else json.dumps(asdict(gap)),))
            db.execute("INSERT INTO journal_history (at, event, detail) VALUES (?,?,?)", (iso(at), event, detail))

    async def open(self, reason: str, mark_seq: int) -> Gap:
        """Record a gap just found (kept if one is already open)."""
        gap = await self.journal.write(self._open, reason, mark_seq, self.journal.clock_now())
        self._apply(gap)
        return gap

    def _open(self, reason: str, mark_seq: int, at: datetime) -> Gap:
        current = self._current()
        if current is not None and current.state == "open":
            return current
        row = self.journal.thread.conn.execute("SELECT MAX(updated_at) AS since FROM jobs").fetchone()
        since = row["since"] if row is not None else None
        if current is not None and current.since is not None:
            since = min(current.since, since) if since is not None else current.since
        gap = Gap("open", reason, iso(at), since, max(mark_seq, current.mark_seq if current else 0))
        self._save(gap, at, "gap found", reason)
        return gap

    async def accept(self, note: str) -> Gap | None:
        """Accept the open gap (None when there is none): the change counter jumps past the
        mark's, the note is kept, and reconciliation of the gap's days is left to the daemon."""
        gap = await self.journal.write(self._accept, note, self.journal.clock_now())
        self._apply(gap)
        return gap

    def _accept(self, note: str, at: datetime) -> Gap | None:
        current = self._current()
        if current is None or current.state != "open":
            return None
        gap = Gap("accepted", current.reason, current.detected_at, current.since, current.mark_seq, note, iso(at))
        with self.journal.thread.transaction() as db:
            db.execute("UPDATE meta SET seq = MAX(seq, ?), gap = ? WHERE id = 1", (current.mark_seq, json.dumps(asdict(gap))))
            db.execute("INSERT INTO journal_history (at, event, detail) VALUES (?,?,?)", (iso(at), "gap accepted", note))
        self.journal.thread.seq = max(self.journal.thread.seq, current.mark_seq)
        return gap

    async def reconciled(self, detail: str) -> None:
        """The fund's reports for the gap's days were reconciled: the gap is closed."""
        await self.journal.write(self._save, None, self.journal.clock_now(), "gap reconciled", detail)
        self.journal.behind = None

    async def history(self) -> list[HistoryRow]:
        """Every gap found, accepted and reconciled, oldest first."""
        return await self.journal.read(self._history)

    def _history(self) -> list[HistoryRow]:
        rows = self.journal.thread.conn.execute("SELECT at, event, detail FROM journal_history ORDER BY seq")
        return [HistoryRow(at=r["at"], event=r["event"], detail=r["detail"]) for r in rows]
