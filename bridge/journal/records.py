"""What the journal hands out: a job, a pairing, a remembered terminal (pure: no SQLite here).

Rows are decoded from anything indexable by column name (a ``sqlite3.Row`` in the journal, a
plain dict in a test or in code that builds a record without a database), so this module
imports no database driver and can be used by the pure core.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from bridge.errors import JournalUnavailable
from bridge.jobs import JobId, JobKind, JobState, RequestId
from bridge.protocol.requests import JOB_REQUESTS, JobRequest, JobResult, decode_result
from bridge.protocol.results import JobError, Receipts

__all__ = [
    "NOT_UTF8", "JobRecord", "PairingRecord", "StoredRow", "TerminalRecord", "decode_every_job", "decode_jobs",
    "job_from_row", "pairing_from_row",
]


#: What the journal's connection reads for a text value that is not UTF-8 (a damaged page), as a
#: prefix: a job row holding one does not decode, so one damaged row cannot fail a whole query.
NOT_UTF8 = "\x00not utf-8:"

_R = TypeVar("_R", bound=BaseModel)

_TEXT_COLUMNS = ("job_id", "request_id", "kind", "terminal", "state", "request", "result", "error", "parent_job_id",
                 "created_at", "updated_at")


class StoredRow(Protocol):
    """A stored row read by column name (``sqlite3.Row`` and ``dict`` both fit)."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One row of the ``jobs`` table, as the rest of the daemon sees it: ``request`` and
    ``result`` are the protocol's models of the job's kind (:data:`bridge.protocol.JOB_REQUESTS`,
    :data:`bridge.protocol.JOB_RESULTS`), ``receipts`` lifted out of the stored result."""

    job_id: JobId
    request_id: RequestId
    kind: JobKind
    terminal: str | None
    state: JobState
    request: JobRequest
    result: JobResult | None
    error: JobError | None
    parent_job_id: JobId | None
    created_at: datetime
    updated_at: datetime
    #: The journal-wide change number of this job's last change (create, move, result, note):
    #: larger means later, across every job of the journal.
    seq: int = 0
    #: Receipt text the terminal sent with the outcome (stored inside the result).
    receipts: Receipts | None = None

    def request_as(self, model: type[_R]) -> _R:
        """``request`` as the model its kind has (the caller knows the kind: a bill's job has a
        :class:`~bridge.protocol.BillRequest`).

        Raises:
            TypeError: the job is not of a kind with that model (a bug).
        """
        if not isinstance(self.request, model):
            raise TypeError(f"job {self.job_id} ({self.kind}) has no {model.__name__} request")
        return self.request

    def result_as(self, model: type[_R]) -> _R | None:
        """``result`` as the model its kind has, or None while there is none.

        Raises:
            TypeError: the job is not of a kind with that model (a bug).
        """
        if self.result is not None and not isinstance(self.result, model):
            raise TypeError(f"job {self.job_id} ({self.kind}) has no {model.__name__} result")
        return self.result

    @classmethod
    def queued(
        cls, job_id: str, request_id: str, kind: JobKind, terminal: str | None, request: JobRequest,
        parent_job_id: str | None, at: str, seq: int,
    ) -> JobRecord:
        """A new ``queued`` job's row as the journal has just written it (no need to read it back)."""
        written = datetime.fromisoformat(at)
        parent = JobId(parent_job_id) if parent_job_id is not None else None
        return cls(JobId(job_id), RequestId(request_id), kind, terminal, JobState.QUEUED, request, None, None, parent,
                   written, written, seq)

    def moved(
        self, state: JobState, at: str, seq: int, result: JobResult | None, error: JobError | None,
        clear_error: bool, receipts: Receipts | None = None,
    ) -> JobRecord:
        """This row after a move as the journal writes it: ``result`` (with its ``receipts``) and
        ``error`` kept unless given (the UPDATE's COALESCE), the error dropped when ``clear_error``."""
        kept = result is None
        return dataclasses.replace(
            self, state=state, updated_at=datetime.fromisoformat(at), seq=seq,
            result=self.result if kept else result, receipts=self.receipts if kept else receipts,
            error=None if clear_error else self.error if error is None else error,
        )


@dataclass(frozen=True, slots=True)
class PairingRecord:
    """A terminal's pairing keys; ``integration_key`` is a secret and is kept out of repr."""

    terminal: str
    mid: int
    tid: int
    integration_key: str
    paired_at: datetime

    def __repr__(self) -> str:
        return f"PairingRecord(terminal={self.terminal!r}, mid={self.mid}, tid={self.tid}, integration_key=***)"


@dataclass(frozen=True, slots=True)
class TerminalRecord:
    """A terminal created by ``terminal.pair`` that the journal remembers across restarts."""

    name: str
    mid: int
    tid: int


def job_from_row(row: StoredRow) -> JobRecord:
    """A ``jobs`` row as a record: JSON columns decoded into the models of the job's kind (once,
    from the stored text), times parsed, kind and state typed.

    Raises:
        ValueError: a kind or state this version does not know, a malformed time, text that
            is not UTF-8, or a request, result or error that does not fit its model
            (``pydantic.ValidationError`` is one).
    """
    for column in _TEXT_COLUMNS:
        value = row[column]
        if isinstance(value, str) and value.startswith(NOT_UTF8):
            raise ValueError(f"{column} is not UTF-8 (a damaged page)")
    kind = JobKind(row["kind"])
    result, receipts = decode_result(kind, row["result"])
    error = row["error"]
    return JobRecord(
        job_id=JobId(row["job_id"]),
        request_id=RequestId(row["request_id"]),
        kind=kind,
        terminal=row["terminal"],
        state=JobState(row["state"]),
        request=JOB_REQUESTS[kind].model_validate_json(row["request"]),
        result=result,
        receipts=receipts,
        error=JobError.model_validate_json(error) if error is not None else None,
        parent_job_id=JobId(row["parent_job_id"]) if row["parent_job_id"] is not None else None,
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        seq=int(row["seq"]),
    )


def decode_jobs(rows: Iterable[StoredRow], skipped: list[str]) -> list[JobRecord]:
    """The rows that decode, as records; each one that does not is described in ``skipped``
    (one damaged row must not hide every other job)."""
    out: list[JobRecord] = []
    for row in rows:
        try:
            out.append(job_from_row(row))
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            skipped.append(f"job {row['job_id']} (requestId {row['request_id']}): {exc}")
    return out


def decode_every_job(rows: Iterable[StoredRow]) -> list[JobRecord]:
    """Every row decoded; a row that cannot be is -32005, never skipped: what is left out of these
    answers (a job by its id, the money guards' job tree, reconciliation's candidates) could let
    a re-sent claim, a guard or a match pass that should not.

    Raises:
        JournalUnavailable: a row does not decode (a damaged page).
    """
    skipped: list[str] = []
    jobs = decode_jobs(rows, skipped)
    if skipped:
        raise JournalUnavailable(f"a job row cannot be decoded: {skipped[0]}")
    return jobs


def pairing_from_row(row: StoredRow) -> PairingRecord:
    """A ``pairings`` row as a record."""
    return PairingRecord(
        row["terminal"], row["mid"], row["tid"], row["integration_key"], datetime.fromisoformat(row["paired_at"]),
    )
