"""Jobs in the order they changed: what a PMS catching up after downtime reads (``job.list
{since}``), on the journal's one connection.

Every change of any job takes the journal's next change number and stores it on the job's row
(``seq``), so "the jobs changed after N, in ``seq`` order" is one indexed range read, and a page
that ends at ``seq`` M is followed by the page after M: paging reaches every job, and a job
changed while the PMS pages comes again later, in its new place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bridge.jobs import JobKind, JobState
from bridge.journal.records import JobRecord, decode_jobs
from bridge.journal.schema import job_filters
from bridge.journal.store import Journal

__all__ = ["ChangedJobs", "JobChanges"]

log = logging.getLogger("claimbridge.journal")


@dataclass(frozen=True, slots=True)
class ChangedJobs:
    """One page of changed jobs.

    Attributes:
        jobs: the jobs, ``seq`` ascending (each as it is now).
        next_since: the ``since`` of the next page: the last row's ``seq`` (the ``since`` asked
            when the page is empty).
        more: whether rows were left for the next page.
    """

    jobs: list[JobRecord]
    next_since: int
    more: bool


class JobChanges:
    """Read jobs by change number.

    Args:
        journal: the open journal whose thread runs every call.
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def since(
        self,
        since: int,
        limit: int,
        *,
        state: JobState | None = None,
        terminal: str | None = None,
        kind: JobKind | None = None,
    ) -> ChangedJobs:
        """The jobs whose last change came after ``since``, oldest change first, at most ``limit``.

        Raises:
            JournalUnavailable: SQLite failed.
        """
        page = await self.journal.read(self._since, since, limit, state, terminal, kind)
        jobs = [self.journal.overlay(job) for job in page.jobs]
        if state is not None:
            jobs = [job for job in jobs if job.state is state]
        return ChangedJobs(jobs, page.next_since, page.more)

    def _since(
        self, since: int, limit: int, state: JobState | None, terminal: str | None, kind: JobKind | None,
    ) -> ChangedJobs:
        filters, filter_args = job_filters(terminal, kind)
        clauses = ["seq > ?", *filters]
        args: list[object] = [since, *filter_args]
        if state is not None and not self.journal.held_count:
            clauses.append("state = ?")
            args.append(str(state))
        rows = self.journal.thread.conn.execute(
            f"SELECT * FROM jobs WHERE {' AND '.join(clauses)} ORDER BY seq LIMIT ?", (*args, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        skipped: list[str] = []
        jobs = decode_jobs(rows, skipped)
        for line in skipped:
            log.error("job.list: skipped a row that cannot be decoded: %s", line)
        return ChangedJobs(jobs, int(rows[-1]["seq"]) if rows else since, more)
