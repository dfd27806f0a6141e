"""The Job's wire form, pure: a journal record as the protocol's :class:`~bridge.protocol.results.Job`.

The journal keeps a job as one row; this module is the one place that row becomes what a PMS
reads (INTERFACES.md "A Job"), for answers and for ``job.updated`` alike. It takes the row's
fields through :class:`JobFields` (the journal's ``JobRecord`` has them), so it needs no
journal and does no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bridge.jobs import JobKind, JobState
from bridge.protocol.requests import JobRequest, JobResult, request_data
from bridge.protocol.results import HistoryEntry, Job, JobError, PendingQuestion, Receipts

__all__ = [
    "JobFields",
    "job_from_record",
    "job_wire",
]


class JobFields(Protocol):
    """What a journal row of a job holds (the journal's ``JobRecord``)."""

    @property
    def job_id(self) -> str: ...
    @property
    def request_id(self) -> str: ...
    @property
    def kind(self) -> JobKind: ...
    @property
    def seq(self) -> int: ...
    @property
    def terminal(self) -> str | None: ...
    @property
    def state(self) -> JobState: ...
    @property
    def request(self) -> JobRequest: ...
    @property
    def result(self) -> JobResult | None: ...
    @property
    def error(self) -> JobError | None: ...
    @property
    def receipts(self) -> Receipts | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


def job_from_record(
    job: JobFields,
    question: PendingQuestion | None = None,
    history: Sequence[HistoryEntry] | None = None,
) -> Job:
    """A journal row as the protocol's Job, from the models the journal decoded (nothing is
    validated again but the request's JSON form).

    ``result``, ``error``, ``question`` and ``terminal`` are always on the wire (null when
    empty); ``receipts`` and ``history`` only when there are some. Serialise with
    :func:`job_wire` (or ``model_dump(mode="json", exclude_unset=True)``).

    Args:
        job: The row.
        question: The question pending now, if any.
        history: With ``job.get {history: true}``: the audit entries, oldest first.

    Raises:
        pydantic.ValidationError: The row does not fit the documented Job (a bug: the
            dispatcher answers -32603 rather than send it).
    """
    fields: dict[str, object] = {
        "jobId": job.job_id,
        "requestId": job.request_id,
        "kind": job.kind,
        "seq": job.seq,
        "terminal": job.terminal,
        "state": job.state,
        "createdAt": job.created_at,
        "updatedAt": job.updated_at,
        "request": request_data(job.request),
        "result": job.result,
        "error": job.error,
        "question": question,
    }
    if job.receipts is not None:
        fields["receipts"] = job.receipts
    if history is not None:
        fields["history"] = tuple(history)
    return Job.model_validate(fields)


def job_wire(job: Job) -> dict[str, object]:
    """A Job as JSON values, exactly the fields it was built with (see :func:`job_from_record`)."""
    return job.model_dump(mode="json", exclude_unset=True)
