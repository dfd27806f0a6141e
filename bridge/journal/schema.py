"""The journal's SQLite schema and row encoding (pure: no connection is opened here).

Kept apart from :mod:`bridge.journal.thread` and :mod:`bridge.journal.store` so that they hold
only what talks to SQLite.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "audit_rows","SCHEMA", "dumps", "iso", "loads", "payload_digest"]

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
    updated_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, terminal, created_at);
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
CREATE TABLE IF NOT EXISTS pairings (
    terminal        TEXT PRIMARY KEY,
    mid             INTEGER NOT NULL,
    tid             INTEGER NOT NULL,
    integration_key TEXT NOT NULL,
    paired_at       TEXT NOT NULL
);
"""


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
