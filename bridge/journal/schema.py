"""The journal's SQLite schema and row encoding (pure: no connection is opened here).

Kept apart from :mod:`bridge.journal.thread` and :mod:`bridge.journal.store` so that they hold
only what talks to SQLite.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypedDict

__all__ = [
    "ADD_SEQ", "INDEX_SEQ", "JOB_COUNTS", "JOB_COUNTS_TRIGGERS", "META_ROW", "NEXT_SEQ", "SCHEMA", "HistoryRow",
    "JobEventRow", "audit_rows", "dumps", "iso", "job_filters", "loads", "payload_digest",
]

#: Tables and indexes, created if missing when the journal opens.
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id        TEXT PRIMARY KEY,
    request_id    TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    terminal      TEXT,
    state         TEXT NOT NULL,
    digest        TEXT NOT NULL,
    request       TEXT NOT NULL,
    result        TEXT,
    error         TEXT,
    parent_job_id TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    seq           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, terminal, created_at);
CREATE INDEX IF NOT EXISTS jobs_by_kind ON jobs (kind, state);
CREATE TABLE IF NOT EXISTS job_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     TEXT NOT NULL REFERENCES jobs (job_id),
    at         TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT,
    event      TEXT NOT NULL,
    detail     TEXT
);
CREATE INDEX IF NOT EXISTS job_events_by_job ON job_events (job_id, seq);
CREATE TABLE IF NOT EXISTS terminals (
    name       TEXT PRIMARY KEY,
    mid        INTEGER NOT NULL,
    tid        INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reconciliations (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    terminal TEXT NOT NULL,
    day      TEXT NOT NULL,
    at       TEXT NOT NULL,
    report   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    journal_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    gap        TEXT
);
CREATE TABLE IF NOT EXISTS journal_history (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    event  TEXT NOT NULL,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS pairings (
    terminal        TEXT PRIMARY KEY,
    mid             INTEGER NOT NULL,
    tid             INTEGER NOT NULL,
    integration_key TEXT NOT NULL,
    paired_at       TEXT NOT NULL
);
"""

#: A journal made before the change number: the column, then every existing job numbered in
#: the order it last changed (``updated_at``, then insertion). Run once, inside one transaction.
ADD_SEQ = (
    "ALTER TABLE jobs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0",
    "UPDATE jobs SET seq = o.n FROM (SELECT rowid AS r, ROW_NUMBER() OVER (ORDER BY updated_at, rowid) AS n"
    " FROM jobs) AS o WHERE o.r = jobs.rowid",
)

#: Made once the ``seq`` column exists (an old journal gets it from :data:`ADD_SEQ` first).
INDEX_SEQ = "CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_seq ON jobs (seq)"

#: The one ``meta`` row, made when missing: the journal's identity (parameter: a new random id)
#: and its change counter, starting where the jobs already are.
META_ROW = (
    "INSERT OR IGNORE INTO meta (id, journal_id, seq) SELECT 1, ?, COALESCE(MAX(seq), 0) FROM jobs"
)

def _status(row: str) -> str:
    """A job row's ``result.status`` (Healthcode bills carry one) as SQL; '' when it has none or
    the stored result is not JSON (a damaged row must not fail the write that counts it)."""
    return (f"CASE WHEN json_valid({row}.result) THEN CASE WHEN json_type({row}.result, '$.status') = 'text'"
            f" THEN json_extract({row}.result, '$.status') ELSE '' END ELSE '' END")


#: How many jobs there are of each kind, state and ``result.status``, kept by the triggers below
#: in the transaction of every job write, so ``/metrics`` reads a handful of rows instead of
#: scanning the jobs. Made once, counted from the jobs already there, inside one transaction.
JOB_COUNTS = (
    "CREATE TABLE job_counts (kind TEXT NOT NULL, state TEXT NOT NULL, status TEXT NOT NULL,"
    " n INTEGER NOT NULL, PRIMARY KEY (kind, state, status))",
    f"INSERT INTO job_counts (kind, state, status, n) SELECT kind, state, {_status('jobs')}, COUNT(*)"
    " FROM jobs GROUP BY 1, 2, 3",
)
_ADD = ("INSERT INTO job_counts (kind, state, status, n) VALUES (NEW.kind, NEW.state, {status}, 1)"
        " ON CONFLICT (kind, state, status) DO UPDATE SET n = n + 1;").format(status=_status("NEW"))
_TAKE = ("UPDATE job_counts SET n = n - 1 WHERE kind = OLD.kind AND state = OLD.state AND status = {status};"
         ).format(status=_status("OLD"))
JOB_COUNTS_TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS job_counts_insert AFTER INSERT ON jobs BEGIN {_ADD} END",
    f"CREATE TRIGGER IF NOT EXISTS job_counts_update AFTER UPDATE OF kind, state, result ON jobs BEGIN {_TAKE} {_ADD} END",
    f"CREATE TRIGGER IF NOT EXISTS job_counts_delete AFTER DELETE ON jobs BEGIN {_TAKE} END",
)

#: The journal-wide change number: every change of any job takes the next one, in the
#: transaction that makes the change.
NEXT_SEQ = "UPDATE meta SET seq = seq + 1 WHERE id = 1 RETURNING seq"


class JobEventRow(TypedDict):
    """One row of a job's audit trail (``job_events``), as the journal hands it out."""

    at: str
    from_state: str | None
    to_state: str | None
    event: str
    detail: str | None


class HistoryRow(TypedDict):
    """One row of ``journal_history`` (a gap, a pairing change), as the journal hands it out."""

    at: str
    event: str
    detail: str | None


def job_filters(terminal: str | None, kind: str | None) -> tuple[list[str], list[object]]:
    """``WHERE`` clauses (joined with AND by the caller) and their arguments for the job lists'
    ``terminal`` and ``kind`` filters; none for a filter not given."""
    clauses: list[str] = []
    args: list[object] = []
    if terminal is not None:
        clauses.append("terminal = ?")
        args.append(terminal)
    if kind is not None:
        clauses.append("kind = ?")
        args.append(str(kind))
    return clauses, args


def payload_digest(payload: dict[str, Any]) -> str:
    """A stable fingerprint of a request: a repeated ``requestId`` must carry the same one."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def iso(value: datetime) -> str:
    """A time as stored: UTC, ISO 8601, microseconds."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def audit_rows(notes: Sequence[tuple[datetime, str, str | None]]) -> list[tuple[str, str, str | None]]:
    """Audit rows ``(at, event, detail)`` with their times as the journal stores them."""
    return [(iso(at), event, detail) for at, event, detail in notes]


def loads(text: str | None) -> Any:
    """A stored JSON column (NULL stays None)."""
    return None if text is None else json.loads(text)


def dumps(value: Any) -> str | None:
    """A value for a JSON column (None stays NULL)."""
    return None if value is None else json.dumps(value, separators=(",", ":"), default=str)
