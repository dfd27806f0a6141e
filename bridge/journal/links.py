"""Jobs made against other jobs: a claim's cancels and gap payments, a payment's refunds.

What the money guards read (:mod:`bridge.healthpoint.guards`), on the journal's one connection.
"""

from __future__ import annotations

from bridge.journal.records import JobRecord, decode_every_job
from bridge.journal.store import Journal

__all__ = ["JobLinks"]


class JobLinks:
    """Read-only queries over the jobs' ``parent_job_id`` links.

    Args:
        journal: the open journal whose thread runs every call.
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def related(self, job_id: str) -> list[JobRecord]:
        """Jobs made against ``job_id`` and against those, oldest first.

        Raises:
            JournalUnavailable: SQLite failed.
        """
        return await self.journal.read(self._related, job_id)

    def _related(self, job_id: str) -> list[JobRecord]:
        rows = self.journal.thread.conn.execute(
            "WITH RECURSIVE tree(id) AS (SELECT job_id FROM jobs WHERE parent_job_id = ?"
            " UNION SELECT j.job_id FROM jobs j JOIN tree t ON j.parent_job_id = t.id)"
            " SELECT * FROM jobs WHERE job_id IN (SELECT id FROM tree) ORDER BY created_at, rowid",
            (job_id,),
        ).fetchall()
        return decode_every_job(rows)

