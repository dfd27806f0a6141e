"""The reconciliation's store: the day's jobs a claims report is held against, the jobs its
refTags name, and the runs kept for ``healthpoint.reconcile``.

It shares the journal's file, thread and connection (:attr:`Journal.thread`), given to it
explicitly; reads go through :meth:`Journal.read` and writes through :meth:`Journal.write`, so a
refused write marks the journal unwritable like any other. Settling a job is a state change and
stays :meth:`Journal.settle`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bridge.jobs import JobKind
from bridge.journal.records import JobRecord, decode_every_job
from bridge.journal.schema import dumps, iso, loads
from bridge.journal.store import Journal
from bridge.protocol.reports import ReconcileResult

__all__ = ["ReconciliationStore"]


class ReconciliationStore:
    """Reconciliation queries and runs, on the journal's one connection.

    Args:
        journal: the open journal whose thread runs every call.
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def jobs_created_between(
        self, terminal: str, kinds: Sequence[JobKind], start: datetime, end: datetime
    ) -> list[JobRecord]:
        """A terminal's jobs of these kinds created in ``[start, end)``, oldest first.

        Raises:
            JournalUnavailable: SQLite failed.
        """
        return await self.journal.read(self._jobs_created_between, terminal, list(kinds), start, end)

    def _jobs_created_between(
        self, terminal: str, kinds: list[JobKind], start: datetime, end: datetime
    ) -> list[JobRecord]:
        rows = self.journal.thread.conn.execute(
            f"SELECT * FROM jobs WHERE terminal = ? AND kind IN ({','.join('?' * len(kinds))})"
            " AND created_at >= ? AND created_at < ? ORDER BY created_at, rowid",
            (terminal, *(str(k) for k in kinds), iso(start), iso(end)),
        ).fetchall()
        return decode_every_job(rows)

    async def jobs_with_ref_tags(self, ref_tags: Sequence[str]) -> list[JobRecord]:
        """Jobs whose result carries one of these refTags (any day, any terminal).

        Raises:
            JournalUnavailable: SQLite failed.
        """
        return await self.journal.read(self._jobs_with_ref_tags, list(ref_tags))

    def _jobs_with_ref_tags(self, ref_tags: list[str]) -> list[JobRecord]:
        if not ref_tags:
            return []
        rows = self.journal.thread.conn.execute(
            "SELECT * FROM jobs WHERE json_extract(result, '$.refTag') IN"
            f" ({','.join('?' * len(ref_tags))})",
            ref_tags,
        ).fetchall()
        return decode_every_job(rows)

    async def save_reconciliation(self, terminal: str, day: str, report: ReconcileResult) -> None:
        """Keep one reconciliation run (the daemon's answer to ``healthpoint.reconcile``), the
        fields it was built with, as the PMS was answered.

        Raises:
            JournalUnavailable: the disk refused it (the journal is marked unwritable).
        """
        await self.journal.write(self._save_reconciliation, terminal, day, report)

    def _save_reconciliation(self, terminal: str, day: str, report: ReconcileResult) -> None:
        with self.journal.thread.transaction() as db:
            db.execute(
                "INSERT INTO reconciliations (terminal, day, at, report) VALUES (?,?,?,?)",
                (terminal, day, iso(self.journal.clock_now()), dumps(report.model_dump(mode="json", exclude_unset=True))),
            )

    async def last_reconciliation(self, terminal: str, day: str) -> ReconcileResult | None:
        """The newest reconciliation run kept for that terminal and day, if any.

        Raises:
            JournalUnavailable: SQLite failed.
            ValueError: the kept run does not fit the documented result (a ``ValidationError``).
        """
        return await self.journal.read(self._last_reconciliation, terminal, day)

    def _last_reconciliation(self, terminal: str, day: str) -> ReconcileResult | None:
        row = self.journal.thread.conn.execute(
            "SELECT report FROM reconciliations WHERE terminal = ? AND day = ? ORDER BY seq DESC LIMIT 1",
            (terminal, day),
        ).fetchone()
        return None if row is None else ReconcileResult.model_validate(loads(row["report"]))

