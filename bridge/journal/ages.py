"""How long the jobs that wait on evidence have waited: ``unknown`` jobs (a claim, cancel or
payment whose outcome is not proven) and collected Healthcode bills no remittance has paid yet.

What the metrics read at scrape time (:mod:`bridge.observability`), on the journal's one
connection. The age runs from the journal's own record of when the job entered its state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bridge.healthcode import BillStatus
from bridge.jobs import JobKind, JobState
from bridge.journal.store import Journal

__all__ = ["Waiting", "WaitingJobs"]

WaitingKind = Literal["unknown", "unpaid"]


@dataclass(frozen=True, slots=True)
class Waiting:
    """One job waiting on evidence, and since when (its move into the state it is in)."""

    kind: WaitingKind
    job_kind: str
    since: datetime


class WaitingJobs:
    """Read-only queries for jobs that wait on evidence.

    Args:
        journal: the open journal whose thread runs every call.
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def all(self) -> list[Waiting]:
        """Every ``unknown`` job and every collected bill not paid (nor replaced), oldest first.

        Raises:
            JournalUnavailable: SQLite failed.
        """
        return await self.journal.read(self._all)

    def _all(self) -> list[Waiting]:
        rows = self.journal.thread.conn.execute(
            "SELECT j.kind, j.state,"
            " (SELECT MAX(e.at) FROM job_events e WHERE e.job_id = j.job_id AND e.to_state = j.state) AS since,"
            " j.updated_at"
            " FROM jobs j"
            " WHERE j.state = ?"
            " OR (j.kind = ? AND j.state = ? AND json_extract(j.result, '$.status') = ?"
            "     AND json_extract(j.result, '$.paid') IS NULL AND json_extract(j.result, '$.replacedBy') IS NULL)",
            (str(JobState.UNKNOWN), str(JobKind.HEALTHCODE_BILL), str(JobState.COMPLETED), str(BillStatus.COLLECTED)),
        ).fetchall()
        waiting = [
            Waiting(
                "unknown" if row["state"] == JobState.UNKNOWN else "unpaid",
                row["kind"],
                datetime.fromisoformat(row["since"] or row["updated_at"]),
            )
            for row in rows
        ]
        return sorted(waiting, key=lambda w: w.since)
