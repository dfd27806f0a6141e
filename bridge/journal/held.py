"""Writes the disk refused, held in memory until it takes them (no I/O of its own).

When a job's outcome cannot be committed (another process holds the journal's lock, the disk is
full) the terminal has already spoken: the outcome must not be lost, nor guessed. It is kept
here, readers see the job as ``unknown`` meanwhile, and :meth:`HeldWrites.flush` commits it,
oldest first, through the journal once writes work again.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bridge.errors import ClaimbridgeError, JournalUnavailable
from bridge.jobs import IllegalTransition, JobState
from bridge.journal.records import JobRecord
from bridge.protocol.requests import JobResult, result_json
from bridge.protocol.results import JobError, Receipts

__all__ = ["HELD_ERROR", "HeldMove", "HeldNote", "HeldWrites", "outcome_json"]


@dataclass(frozen=True, slots=True)
class HeldMove:
    """A state change the disk refused, waiting in memory to be committed."""

    job_id: str
    to_state: JobState
    result: JobResult | None
    error: JobError | None
    note: str | None
    #: The receipts that came with ``result``.
    receipts: Receipts | None = None


@dataclass(frozen=True, slots=True)
class HeldNote:
    """An audit row the disk refused."""

    job_id: str
    event: str
    detail: str | None
    at: str


#: What readers are shown for a job whose outcome is held in memory.
HELD_ERROR = JobError(
    message="the outcome is known but the journal could not record it yet;"
    " it is recorded as soon as the journal accepts writes again",
)


def outcome_json(
    to_state: JobState, result: JobResult | None, error: JobError | None, receipts: Receipts | None = None,
) -> str:
    """An outcome, whole, as one line of JSON: what the log keeps of one the journal refused."""
    fields: dict[str, object] = {
        "toState": str(to_state),
        "result": json.loads(result_json(result, receipts)) if result is not None else None,
        "error": error.model_dump(mode="json", exclude_unset=True) if error is not None else None,
    }
    return json.dumps({k: v for k, v in fields.items() if v is not None}, sort_keys=True, default=str)


class HeldWrites:
    """State changes and audit notes waiting for the disk, in the order they happened."""

    def __init__(self) -> None:
        self.moves: dict[str, list[HeldMove]] = {}
        self.notes: list[HeldNote] = []

    @property
    def count(self) -> int:
        """How many writes wait."""
        return sum(len(v) for v in self.moves.values()) + len(self.notes)

    def add_move(
        self, job_id: str, to_state: JobState, result: JobResult | None, error: JobError | None, note: str | None,
        receipts: Receipts | None = None,
    ) -> None:
        """Hold one state change (``result`` with the ``receipts`` that came with it)."""
        self.moves.setdefault(job_id, []).append(HeldMove(job_id, to_state, result, error, note, receipts))

    def add_note(self, job_id: str, event: str, detail: str | None, at: str) -> None:
        """Hold one audit row (with the time it happened)."""
        self.notes.append(HeldNote(job_id, event, detail, at))

    def overlay(self, job: JobRecord) -> JobRecord:
        """The job as readers must see it: ``unknown`` while a state change of it is held."""
        if job.job_id not in self.moves:
            return job
        return dataclasses.replace(job, state=JobState.UNKNOWN, error=HELD_ERROR)

    async def flush(
        self,
        move: Callable[[HeldMove], Awaitable[JobRecord]],
        note: Callable[[HeldNote], Awaitable[None]],
        refused: Callable[[HeldMove, Exception], None] = lambda _m, _e: None,
    ) -> list[JobRecord]:
        """Commit everything held through ``move`` and ``note``; returns the moved jobs.

        A held move the state table refuses by now (an operator settled the job meanwhile) is
        handed to ``refused`` (which keeps it in the log and history): the journal's word stands.

        Raises:
            JournalUnavailable: the disk still refuses; what is left stays held.
        """
        done: list[JobRecord] = []
        while self.notes:
            await note(self.notes[0])
            self.notes.pop(0)
        for job_id in list(self.moves):
            moves = self.moves[job_id]
            while moves:
                record: JobRecord | None
                try:
                    record = await move(moves[0])
                except JournalUnavailable:
                    raise
                except (ClaimbridgeError, IllegalTransition) as exc:
                    refused(moves[0], exc)
                    record = None
                moves.pop(0)
                if record is not None:
                    done.append(record)
            del self.moves[job_id]
        while self.notes:  # what ``refused`` kept of a refused move
            await note(self.notes[0])
            self.notes.pop(0)
        return done
