"""The journal's store: the only code that writes the database; it decides no state change.

Every job, its request and result, every state change with its time (the audit trail) and every
terminal's pairing live in one SQLite file in WAL mode with ``synchronous=FULL``, so a row that
:meth:`Journal.create_job` or :meth:`Journal.move` returned is on disk before the caller goes on to
talk to a terminal. Whether a move is allowed is asked of :mod:`bridge.jobs`; the journal only
refuses what that table refuses. Nothing is ever deleted.

Calls run on one thread (:mod:`bridge.journal.thread`, where ``sqlite3`` errors become
``JournalUnavailable``). :meth:`Journal.probe` commits a real write. An outcome the disk refuses is
held (:mod:`bridge.journal.held`), shown ``unknown``, and committed once writes work again; so are
audit notes. Other stores on the same file run through :meth:`Journal.read`/:meth:`Journal.write`.
Every change of a job takes the journal-wide change number (``seq``); while the journal is behind
its mark (:mod:`bridge.journal.gaps`) no new job is created.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from bridge.errors import JobMoved, JobNotFound, JournalBehind, JournalUnavailable, RequestIdReused
from bridge.jobs import JobKind, JobState, check_move
from bridge.journal.held import HeldMove, HeldWrites, outcome_json
from bridge.journal import pairings
from bridge.journal.records import JobRecord, PairingRecord, TerminalRecord, decode_every_job, decode_jobs
from bridge.journal.schema import JobEventRow, audit_rows, dumps, iso, job_filters, payload_digest
from bridge.protocol.requests import JobRequest, JobResult, request_data, result_json
from bridge.protocol.results import JobError, Receipts
from bridge.journal.thread import JournalThread

__all__ = ["Journal"]

_T = TypeVar("_T")

log = logging.getLogger("claimbridge.journal")


def _now() -> datetime:
    return datetime.now(UTC)


class Journal:
    """Durable job queue and audit log in one SQLite file.

    Use as an async context manager: the database is opened in ``__aenter__`` and closed in
    ``__aexit__``.

    Args:
        path: the database file (created with its folder if missing).
        clock: where times come from; tests pass a fixed one.
        busy_timeout_s: how long a write waits for another process's lock before it fails
            (the one journal thread waits with it, so this stays short).
    """

    def __init__(self, path: Path, clock: Callable[[], datetime] = _now, busy_timeout_s: float = 1.0) -> None:
        self.path = path
        self._clock = clock
        self._thread = JournalThread(path, busy_timeout_s)
        #: Whether the last write (a probe or a real one) succeeded.
        self.writable = True
        #: SQLite's text for the last failed write, for health and the log; None while writable.
        self.last_error: str | None = None
        self._held = HeldWrites()
        self._fault = asyncio.Event()
        #: Why the journal is behind its mark while a gap is open (:mod:`bridge.journal.gaps`), else None.
        self.behind: str | None = None

    async def __aenter__(self) -> Journal:
        await self.read(self._thread.open)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(JournalUnavailable):
            await self.flush_held()
        self.log_unwritten("the daemon stops")
        with contextlib.suppress(JournalUnavailable):
            await self.read(self._thread.close)
        self._thread.shutdown(timeout=self._thread.busy_timeout_s * 2 + 1)

    def log_unwritten(self, why: str) -> None:
        """Log every outcome still held in memory at ERROR, whole: ``why`` it will not be written."""
        for m in (m for moves in self._held.moves.values() for m in moves):
            log.error("job %s: %s before the journal took its outcome; not written: %s", m.job_id, why,
                      outcome_json(m.to_state, m.result, m.error, m.receipts))

    # -- plumbing -----------------------------------------------------------------------------

    @property
    def thread(self) -> JournalThread:
        """The one thread and connection: what a function given to :meth:`read` or :meth:`write` uses."""
        return self._thread

    async def read(self, fn: Callable[..., _T], *args: Any, grouped: bool = False) -> _T:
        """Run ``fn(*args)`` on the journal's thread (``grouped``: see :meth:`JournalThread.run`).

        Raises:
            JournalUnavailable: SQLite failed.
        """
        return await self._thread.run(fn, *args, grouped=grouped)

    async def write(self, fn: Callable[..., _T], *args: Any, grouped: bool = False) -> _T:
        """Like :meth:`read`, for a write: a failure marks the journal unwritable and wakes
        :meth:`wait_fault` (the daemon then probes until writes work again). ``grouped``: it
        may share its commit with concurrent grouped writes, and returns once that is done."""
        try:
            return await self.read(fn, *args, grouped=grouped)
        except JournalUnavailable as exc:
            self._mark_unwritable(exc.detail)
            raise

    def _mark_unwritable(self, detail: str) -> None:
        self.writable = False
        self.last_error = detail
        self._fault.set()

    async def wait_fault(self) -> None:
        """Return once a write has failed since the last call."""
        await self._fault.wait()
        self._fault.clear()

    # -- measured health and held writes ------------------------------------------------------

    async def probe(self) -> list[JobRecord]:
        """A real write (one row, fsynced), then every held write (a tiny write alone can pass on a
        full disk); sets :attr:`writable`. Returns the jobs whose held state change was committed now."""
        try:
            await self.read(self._probe)
            committed = await self.flush_held()
        except JournalUnavailable as exc:
            self._mark_unwritable(exc.detail)
            return []
        self.writable = True
        self.last_error = None
        return committed

    def _probe(self) -> None:
        with self._thread.transaction() as db:
            db.execute("INSERT OR REPLACE INTO probe (id, at) VALUES (1, ?)", (iso(self._clock()),))

    @property
    def held_count(self) -> int:
        """How many state changes and notes wait in memory for the disk."""
        return self._held.count

    def overlay(self, job: JobRecord) -> JobRecord:
        return self._held.overlay(job)  # as callers must see it: ``unknown`` while a change is held

    async def hold(self, job_id: str, to_state: JobState, *, result: JobResult | None = None,
                   receipts: Receipts | None = None, error: JobError | None = None,
                   note: str | None = None) -> JobRecord:
        """Keep a state change the disk refused (logged at ERROR, whole); return the job as callers
        must see it now, ``unknown``. Raises JobNotFound, JournalUnavailable (cannot even read it)."""
        self._held.add_move(job_id, to_state, result, error, note, receipts)
        self._mark_unwritable(self.last_error or "a write failed")
        log.error("job %s: the journal refuses writes (%s); its outcome is held and committed once it"
                  " accepts them: %s", job_id, self.last_error, outcome_json(to_state, result, error, receipts))
        return await self.get(job_id)

    async def flush_held(self) -> list[JobRecord]:
        """Commit held writes, oldest first; returns the jobs whose state changed.

        Raises:
            JournalUnavailable: the disk still refuses (what is left stays held).
        """
        return await self._held.flush(
            lambda m: self.read(self._move, m.job_id, m.to_state, m.result, m.error, m.note, False, (), None, m.receipts),
            lambda n: self.read(self._insert_note, n.job_id, n.event, n.detail, n.at),
            self._refused,
        )

    def _refused(self, move: HeldMove, exc: Exception) -> None:
        """A held outcome refused by now (the job moved meanwhile): kept in the log and history."""
        log.error("job %s: the journal refused its held outcome (%s); kept in its history: %s", move.job_id, exc,
                  text := outcome_json(move.to_state, move.result, move.error, move.receipts))
        self._held.add_note(move.job_id, "outcomeRefused", text, iso(self._clock()))

    # -- jobs ---------------------------------------------------------------------------------

    async def create_job(
        self, *, kind: JobKind, request_id: str, terminal: str | None, request: JobRequest,
        parent_job_id: str | None = None, by: str | None = None,
    ) -> tuple[JobRecord, bool]:
        """Store a new ``queued`` job (made by client ``by``), or return the one stored under ``request_id``.

        Returns:
            The job and whether this call created it.

        Raises:
            RequestIdReused: ``request_id`` is stored with a different payload.
        """
        job, created = await self.write(
            self._create_job, kind, request_id, terminal, request, parent_job_id, by, grouped=True,
        )
        return self._held.overlay(job), created

    def _create_job(
        self, kind: JobKind, request_id: str, terminal: str | None, request: JobRequest, parent_job_id: str | None,
        by: str | None = None,
    ) -> tuple[JobRecord, bool]:
        data = request_data(request)  # serialised once: the digest and the stored text
        digest = payload_digest({"kind": str(kind), "terminal": terminal, "request": data})
        # A repeated requestId needs no write: answer it even while the disk refuses writes.
        if (known := self._known(request_id, digest)) is not None:
            return known, False
        if self.behind is not None:
            raise JournalBehind(self.behind)
        with self._thread.transaction() as db:
            if (known := self._known(request_id, digest)) is not None:
                return known, False
            job_id = str(uuid.uuid4())
            at = iso(self._clock())
            seq = self._thread.next_seq()
            db.execute(
                "INSERT INTO jobs (job_id, request_id, kind, terminal, state, digest, request,"
                " parent_job_id, created_at, updated_at, seq) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (job_id, request_id, str(kind), terminal, str(JobState.QUEUED), digest,
                 dumps(data), parent_job_id, at, at, seq),
            )
            db.execute(
                "INSERT INTO job_events (job_id, at, from_state, to_state, event, detail) VALUES (?,?,?,?,?,?)",
                (job_id, at, None, str(JobState.QUEUED), "created", dumps({"by": by}) if by else None),
            )
        return JobRecord.queued(job_id, request_id, kind, terminal, request, parent_job_id, at, seq), True

    def _known(self, request_id: str, digest: str) -> JobRecord | None:
        row = self._thread.conn.execute("SELECT digest FROM jobs WHERE request_id = ?", (request_id,)).fetchone()
        if row is not None and row["digest"] != digest:
            raise RequestIdReused(request_id)
        return None if row is None else self._get(request_id, "request_id")

    async def move(
        self, job_id: str, to_state: JobState, *, result: JobResult | None = None,
        receipts: Receipts | None = None, error: JobError | None = None, note: str | None = None,
        notes: Sequence[tuple[datetime, str, str | None]] = (), from_state: JobState | None = None,
    ) -> JobRecord:
        """Move a job to ``to_state`` if :mod:`bridge.jobs` allows it, with its audit row.

        ``result`` (with the ``receipts`` that came with it) replaces the job's result; ``error``
        its error; each is kept when not given. ``from_state``: the state the caller decided from, checked in the write's transaction:
        a job another task moved meanwhile is refused and nothing is written. ``notes``
        (``(at, event, detail)``, the status lines that led here) go in the same transaction.

        Raises:
            JobNotFound: no such job.
            JobMoved: the job is no longer in ``from_state``.
            IllegalTransition: the state table forbids the move.
        """
        return await self.write(
            self._move, job_id, to_state, result, error, note, False, audit_rows(notes), from_state, receipts,
            grouped=True,
        )

    def _move(
        self, job_id: str, to_state: JobState, result: JobResult | None, error: JobError | None,
        note: str | None, clear_error: bool = False, notes: Sequence[tuple[str, str, str | None]] = (),
        expected: JobState | None = None, receipts: Receipts | None = None,
    ) -> JobRecord:
        with self._thread.transaction() as db:
            if notes:
                db.executemany(
                    "INSERT INTO job_events (job_id, at, event, detail) VALUES (?,?,?,?)",
                    [(job_id, at, event, detail) for at, event, detail in notes],
                )
            before = self._get(job_id)  # the record returned is this row as the UPDATE leaves it
            from_state = before.state
            if expected is not None and from_state is not expected:
                raise JobMoved(job_id, str(from_state), str(expected))
            check_move(from_state, to_state)
            at = iso(self._clock())
            cursor = db.execute(
                "UPDATE jobs SET state = ?, updated_at = ?, result = COALESCE(?, result),"
                " error = CASE WHEN ? THEN NULL ELSE COALESCE(?, error) END, seq = ?"
                " WHERE job_id = ? AND state = ?",
                (str(to_state), at, result_json(result, receipts) if result is not None else None, clear_error,
                 error.model_dump_json(exclude_unset=True) if error is not None else None,
                 seq := self._thread.next_seq(), job_id, str(from_state)),
            )
            if cursor.rowcount != 1:  # another connection moved it between the read and the write
                raise JobMoved(job_id, "changed", str(from_state))
            db.execute(
                "INSERT INTO job_events (job_id, at, from_state, to_state, event, detail)"
                " VALUES (?,?,?,?,?,?)",
                (job_id, at, str(from_state), str(to_state), "state", note),
            )
        return before.moved(to_state, at, seq, result, error, clear_error, receipts)

    async def update_result(self, job_id: str, result: JobResult, note: str | None = None) -> JobRecord:
        """Replace a job's ``result`` without a state change (a running Healthcode bill's status).

        Raises:
            JobNotFound: no such job.
        """
        return await self.write(self._update_result, job_id, result, note)

    def _update_result(self, job_id: str, result: JobResult, note: str | None) -> JobRecord:
        with self._thread.transaction() as db:
            at = iso(self._clock())
            cursor = db.execute(
                "UPDATE jobs SET result = ?, updated_at = ?, seq = ? WHERE job_id = ?",
                (result_json(result, None), at, self._thread.next_seq(), job_id),
            )
            if cursor.rowcount == 0:
                raise JobNotFound(job_id)
            db.execute(
                "INSERT INTO job_events (job_id, at, event, detail) VALUES (?,?,?,?)",
                (job_id, at, "result", note),
            )
        return self._get(job_id)

    async def note(self, job_id: str, event: str, detail: str | None = None) -> None:
        """Add an audit row that is not a state change (a question asked, an answer given).

        A note the disk refuses is held and written later, never raised: the transaction it
        describes must go on.
        """
        at = iso(self._clock())
        if not self._held.notes:
            try:
                await self.write(self._insert_note, job_id, event, detail, at)
                return
            except JournalUnavailable:
                pass
        self._held.add_note(job_id, event, detail, at)

    def _insert_note(self, job_id: str, event: str, detail: str | None, at: str) -> None:
        with self._thread.transaction() as db:
            db.execute(
                "INSERT INTO job_events (job_id, at, event, detail) VALUES (?,?,?,?)", (job_id, at, event, detail),
            )
            self._thread.touch(job_id)

    async def get(self, job_id: str) -> JobRecord:
        """Raises: JobNotFound, JournalUnavailable."""
        return self._held.overlay(await self.read(self._get, job_id))

    def _get(self, job_id: str, column: str = "job_id") -> JobRecord:
        row = self._thread.conn.execute(f"SELECT * FROM jobs WHERE {column} = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFound(job_id)
        # -32005, never -32603 nor "not found": a re-sent claim must not go again.
        return decode_every_job([row])[0]

    async def get_by_request_id(self, request_id: str) -> JobRecord:
        """Raises: JobNotFound, JournalUnavailable."""
        return self._held.overlay(await self.read(self._get, request_id, "request_id"))

    async def list_jobs(
        self,
        *,
        states: Sequence[JobState] | None = None,
        terminal: str | None = None,
        kind: JobKind | None = None,
        limit: int | None = None,
        oldest_first: bool = False,
    ) -> list[JobRecord]:
        """Jobs matching every given filter, newest first unless ``oldest_first``."""
        wanted = states
        if states and self._held.count:
            # A held job shows as unknown while its row still says where it was (queued,
            # running): ask for those rows too, then keep what shows in a wanted state.
            wanted = sorted({*states, JobState.QUEUED, JobState.RUNNING, JobState.UNKNOWN})
        jobs = [self._held.overlay(j) for j in await self.read(self._list_jobs, wanted, terminal, kind, limit, oldest_first)]
        if wanted is not states and states:
            jobs = [j for j in jobs if j.state in states]
        return jobs

    def _list_jobs(
        self, states: Sequence[JobState] | None, terminal: str | None, kind: JobKind | None, limit: int | None,
        oldest_first: bool,
    ) -> list[JobRecord]:
        clauses, args = job_filters(terminal, kind)
        if states:
            clauses.append(f"state IN ({','.join('?' * len(states))})")
            args.extend(str(s) for s in states)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        order = "ASC" if oldest_first else "DESC"
        sql = f"SELECT * FROM jobs {where} ORDER BY created_at {order}, rowid {order}"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        skipped: list[str] = []
        jobs = decode_jobs(self._thread.conn.execute(sql, args).fetchall(), skipped)
        for problem in skipped:  # one damaged row must not hide every other job
            log.error("a job row cannot be decoded and is left out (run 'claimbridge journal check'): %s", problem)
        return jobs

    async def events(self, job_id: str) -> list[JobEventRow]:
        """The audit trail of one job, oldest first."""
        return await self.read(self._events, job_id)

    def _events(self, job_id: str) -> list[JobEventRow]:
        rows = self._thread.conn.execute(
            "SELECT at, from_state, to_state, event, detail FROM job_events WHERE job_id = ? ORDER BY seq",
            (job_id,),
        ).fetchall()
        return [JobEventRow(at=r["at"], from_state=r["from_state"], to_state=r["to_state"], event=r["event"],
                            detail=r["detail"]) for r in rows]

    async def count_by_state(self) -> dict[str, int]:
        """How many jobs are in each (kind, state); for health and metrics."""
        return await self.read(self._count_by_state)

    def _count_by_state(self) -> dict[str, int]:
        rows = self._thread.conn.execute("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").fetchall()
        return {r["state"]: r["n"] for r in rows}

    async def count_jobs(self) -> list[tuple[str, str, str | None, int]]:
        """``(kind, state, result.status, count)`` rows, for metrics (Healthcode bills carry a status)."""
        return await self.read(self._count_jobs)

    def _count_jobs(self) -> list[tuple[str, str, str | None, int]]:
        # Kept by triggers in every job write (schema.JOB_COUNTS): a few rows, never a scan.
        rows = self._thread.conn.execute("SELECT kind, state, status, n FROM job_counts WHERE n > 0").fetchall()
        return [(r["kind"], r["state"], r["status"] or None, r["n"]) for r in rows]

    # -- terminals and pairing (rows in bridge.journal.pairings) ---------------------------------
    async def remember_terminal(self, name: str, mid: int, tid: int) -> None:
        """Record a terminal created through ``terminal.pair`` (or update its mid/tid)."""
        await self.write(pairings.remember_terminal, self._thread, name, mid, tid, iso(self._clock()))

    async def terminals(self) -> list[TerminalRecord]:
        """Terminals the journal remembers."""
        return await self.read(pairings.terminals, self._thread)

    async def save_pairing(self, terminal: str, mid: int, tid: int, integration_key: str) -> None:
        """Store (or replace) a terminal's pairing keys."""
        await self.write(pairings.save_pairing, self._thread, terminal, mid, tid, integration_key, iso(self._clock()))

    async def pairing(self, terminal: str) -> PairingRecord | None:
        """The terminal's pairing keys, or None when it was never paired."""
        return await self.read(pairings.pairing, self._thread, terminal)

    async def last_started(self, terminal: str) -> JobRecord | None:
        """The job the terminal was sent last, by the journal's own order (never the clock)."""
        return self._held.overlay(j) if (j := await self.read(pairings.last_started, self._thread, terminal)) else None

    async def size_bytes(self) -> int:
        """Size of the database file and its WAL, for health and metrics."""
        return await self.read(self._size_bytes)

    def _size_bytes(self) -> int:
        paths = (self.path, Path(str(self.path) + "-wal"))
        return sum(p.stat().st_size for p in paths if p.exists())

    # -- money and history (bridge/terminals/methods.py, the worker): reconciliation has its own store

    def clock_now(self) -> datetime:
        """The journal's clock: audit rows that are batched keep the time they happened."""
        return self._clock()

    async def settle(
        self, job_id: str, to_state: JobState, *, result: JobResult, note: str, receipts: Receipts | None = None,
        notes: Sequence[tuple[datetime, str, str | None]] = (), from_state: JobState = JobState.UNKNOWN,
    ) -> JobRecord:
        """Move a job (an ``unknown`` one whose outcome is now known) and drop its stale ``error``,
        in one transaction; :meth:`move` keeps the error it had (COALESCE).

        Raises:
            JobNotFound: no such job.
            JobMoved: the job is no longer in ``from_state`` (an operator or another task settled it).
            IllegalTransition: the state table forbids the move.
        """
        return await self.write(
            self._move, job_id, to_state, result, None, note, True, audit_rows(notes), from_state, receipts,
        )

    async def note_many(self, job_id: str, notes: Sequence[tuple[datetime, str, str | None]]) -> None:
        """Several audit rows ``(at, event, detail)`` in one transaction (one fsync): a claim's
        status lines, written together rather than one disk flush each. Rows the disk refuses are
        held and written later, never raised (as :meth:`note`)."""
        rows = audit_rows(notes)
        if not rows:
            return
        if not self._held.notes:
            try:
                await self.write(self._note_many, job_id, rows)
                return
            except JournalUnavailable:
                pass
        for at, event, detail in rows:
            self._held.add_note(job_id, event, detail, at)

    def _note_many(self, job_id: str, notes: list[tuple[str, str, str | None]]) -> None:
        with self._thread.transaction() as db:
            db.executemany(
                "INSERT INTO job_events (job_id, at, event, detail) VALUES (?,?,?,?)",
                [(job_id, at, event, detail) for at, event, detail in notes],
            )
            self._thread.touch(job_id)
