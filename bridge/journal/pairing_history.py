"""Pairing changes on the journal's connection: a terminal re-paired to another mid/tid, or its
pairing forgotten (``terminal.unpair``). Each change is a row of ``journal_history`` written in
the same transaction, so what the terminal was paired to before stays on record."""

from __future__ import annotations

from bridge.journal.records import PairingRecord, pairing_from_row
from bridge.journal.schema import HistoryRow, iso
from bridge.journal.store import Journal

__all__ = ["PairingChanges"]


def _keys(record: PairingRecord | None) -> str:
    return "nothing" if record is None else f"mid {record.mid} tid {record.tid}"


class PairingChanges:
    """Re-pairing and unpairing, recorded.

    Args:
        journal: the open journal.
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def paired(self, terminal: str, before: PairingRecord | None, by: str | None = None) -> None:
        """Record a pairing that was just saved: ``terminal paired`` (or ``terminal re-paired``
        when it replaced another mid/tid), with what it was paired to before."""
        await self.journal.write(self._paired, terminal, before, by)

    def _paired(self, terminal: str, before: PairingRecord | None, by: str | None) -> None:
        conn = self.journal.thread.conn
        now = conn.execute("SELECT * FROM pairings WHERE terminal = ?", (terminal,)).fetchone()
        after = None if now is None else pairing_from_row(now)
        moved = before is not None and after is not None and (before.mid, before.tid) != (after.mid, after.tid)
        event = "terminal re-paired" if moved else "terminal paired"
        detail = f"{terminal}: {_keys(after)} (was {_keys(before)})" + (f" by {by}" if by else "")
        with self.journal.thread.transaction() as db:
            db.execute("INSERT INTO journal_history (at, event, detail) VALUES (?,?,?)",
                       (iso(self.journal.clock_now()), event, detail))

    async def forget(self, terminal: str, by: str | None = None) -> PairingRecord | None:
        """Forget the terminal's pairing (and the journal's memory of a terminal that
        ``terminal.pair`` created); the record that was forgotten, or None when there was none."""
        return await self.journal.write(self._forget, terminal, by)

    def _forget(self, terminal: str, by: str | None) -> PairingRecord | None:
        conn = self.journal.thread.conn
        row = conn.execute("SELECT * FROM pairings WHERE terminal = ?", (terminal,)).fetchone()
        before = None if row is None else pairing_from_row(row)
        detail = f"{terminal}: was {_keys(before)}" + (f" by {by}" if by else "")
        with self.journal.thread.transaction() as db:
            db.execute("DELETE FROM pairings WHERE terminal = ?", (terminal,))
            db.execute("DELETE FROM terminals WHERE name = ?", (terminal,))
            db.execute("INSERT INTO journal_history (at, event, detail) VALUES (?,?,?)",
                       (iso(self.journal.clock_now()), "terminal unpaired", detail))
        return before

    async def history(self, terminal: str) -> list[HistoryRow]:
        """The terminal's pairing changes, oldest first (``{at, event, detail}``)."""
        return await self.journal.read(self._history, terminal)

    def _history(self, terminal: str) -> list[HistoryRow]:
        rows = self.journal.thread.conn.execute(
            "SELECT at, event, detail FROM journal_history WHERE event LIKE 'terminal %' AND detail LIKE ?"
            " ORDER BY seq", (f"{terminal}:%",),
        )
        return [HistoryRow(at=r["at"], event=r["event"], detail=r["detail"]) for r in rows]
