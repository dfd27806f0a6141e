"""A terminal worker's audit trail: the rows it adds to the journal while a job runs, batched.

Status lines arrive many to a claim; writing each at once would cost a disk flush each on the
claim's path. They wait here, with the time they arrived, and go to the journal in one
transaction together with the job's next audit row or state change (a question, a receipt, the
outcome), so the history stays in order and complete. The only I/O is the journal's.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from bridge.journal import Journal

__all__ = ["AuditTrail", "question_detail"]

log = logging.getLogger("claimbridge.terminals")


def question_detail(text: str, options: list[str]) -> str:
    """How a question is kept in the journal (history shows its text and options)."""
    return json.dumps({"text": text, "options": options}, separators=(",", ":"))


class AuditTrail:
    """Buffered audit rows.

    Args:
        journal: where the rows go (its clock stamps them as they arrive).
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._rows: list[tuple[str, datetime, str, str | None]] = []

    def add(self, job_id: str, event: str, detail: str | None) -> None:
        """Keep a row for the next :meth:`flush` (status lines)."""
        self._rows.append((job_id, self.journal.clock_now(), event, detail))

    def take(self, job_id: str) -> list[tuple[datetime, str, str | None]]:
        """The kept rows of ``job_id`` ``(at, event, detail)``, for the caller to write with its
        next state change (one transaction); they are no longer kept here."""
        mine = [(at, ev, d) for j, at, ev, d in self._rows if j == job_id]
        self._rows = [row for row in self._rows if row[0] != job_id]
        return mine

    async def refused(self, job_id: str, outcome: str, exc: Exception, rows: list[tuple[datetime, str, str | None]]) -> None:
        """An outcome the journal refused (the job was moved meanwhile) is never dropped: it is
        logged at ERROR, whole, and kept in the job's history (held if the disk refuses), with
        the status rows that were to go with it. The job's state stays the journal's word."""
        log.error("job %s: the journal refused its outcome (%s); kept in its history: %s", job_id, exc, outcome)
        await self.journal.note_many(job_id, rows)
        await self.journal.note(job_id, "outcomeRefused", outcome)

    async def flush(self) -> None:
        """Write every kept row, one transaction per job, in arrival order."""
        rows, self._rows = self._rows, []
        for job_id in dict.fromkeys(row[0] for row in rows):
            await self.journal.note_many(job_id, [(at, ev, d) for j, at, ev, d in rows if j == job_id])

    async def note(self, job_id: str, event: str, detail: str | None) -> None:
        """Write a row now, after the rows kept before it."""
        self.add(job_id, event, detail)
        await self.flush()

    async def answer(self, job_id: str, label: str, by: str | None) -> None:
        """An answer to the pending question, and who gave it (history's ``by``), written now."""
        self.answer_later(job_id, label, by)
        await self.flush()

    def answer_later(self, job_id: str, label: str, by: str | None) -> None:
        """An answer the page already gave by policy: kept for the job's next write."""
        self.add(job_id, "answer", json.dumps({"answer": label, "by": by}))
