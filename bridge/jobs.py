"""Job kinds, job states and the one table of allowed moves between states.

All job states and transitions live here, and only here: the journal writes a state only after
:func:`check_move` allows it, and the docs' diagram is drawn from :data:`TRANSITIONS`. State names
appear as literals nowhere else. ``unknown`` is never guessed away: only the terminal (through
``continueLastTransaction`` or the reconciliation report) or an operator (``resolved``) ends it.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import NewType

__all__ = [
    "ANSWERED_STATES",
    "FINAL_STATES",
    "ICLIENT_RESULTS",
    "TRANSITIONS",
    "IllegalTransition",
    "JobId",
    "JobKind",
    "JobState",
    "RequestId",
    "can_move",
    "check_move",
    "is_final",
    "outcome_state",
]

#: The daemon's id for a job.
JobId = NewType("JobId", str)
#: The PMS's idempotency key for a request.
RequestId = NewType("RequestId", str)


class JobKind(StrEnum):
    """What a job does (INTERFACES.md, "A Job")."""

    CLAIM = "claim"
    REBATE_ESTIMATE = "rebateEstimate"
    CANCEL = "cancel"
    GAP = "gap"
    REFUND = "refund"
    HEALTHCODE_BILL = "healthcodeBill"


class JobState(StrEnum):
    """Where a job is (INTERFACES.md, "A Job")."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    UNKNOWN = "unknown"
    RESOLVED = "resolved"


#: Allowed moves. ``queued -> unknown`` is deliberately absent: a job that never ran cannot
#: have an unknown outcome, it simply failed. ``running -> unknown`` covers a result of
#: UNKNOWN/SYSTEM ERROR and a crash mid-transaction.
TRANSITIONS: Mapping[JobState, frozenset[JobState]] = MappingProxyType(
    {
        JobState.QUEUED: frozenset({JobState.RUNNING, JobState.FAILED}),
        JobState.RUNNING: frozenset({JobState.COMPLETED, JobState.FAILED, JobState.UNKNOWN}),
        JobState.UNKNOWN: frozenset({JobState.COMPLETED, JobState.RESOLVED}),
        JobState.COMPLETED: frozenset(),
        JobState.FAILED: frozenset(),
        JobState.RESOLVED: frozenset(),
    }
)

#: States no move leaves.
FINAL_STATES: frozenset[JobState] = frozenset(s for s, moves in TRANSITIONS.items() if not moves)


class IllegalTransition(ValueError):
    """A move the table does not allow; a bug in the caller, never a client error."""

    def __init__(self, from_state: JobState, to_state: JobState) -> None:
        super().__init__(f"job cannot move from {from_state} to {to_state}")
        self.from_state = from_state
        self.to_state = to_state


def can_move(from_state: JobState, to_state: JobState) -> bool:
    """Whether the table allows ``from_state -> to_state``."""
    return to_state in TRANSITIONS[from_state]


def check_move(from_state: JobState, to_state: JobState) -> None:
    """Raise unless the table allows ``from_state -> to_state``.

    Raises:
        IllegalTransition: The move is not in :data:`TRANSITIONS`.
    """
    if not can_move(from_state, to_state):
        raise IllegalTransition(from_state, to_state)


#: States in which a caller waiting on a job gets its answer (``queued`` and ``running`` are
#: not): every final state, and ``unknown``, which only the terminal or an operator ends.
ANSWERED_STATES: frozenset[JobState] = FINAL_STATES | {JobState.UNKNOWN}


def is_final(state: JobState) -> bool:
    """Whether no move leaves ``state`` (completed, failed, resolved)."""
    return state in FINAL_STATES


#: iClient ``result`` values and the state they lead to. Source: seeds/004 "Key response
#: fields" and reference/tyro-iclient-healthpoint.md §1.4/§1.5: APPROVED, CANCELLED, REVERSED,
#: DECLINED, SYSTEM ERROR, NOT STARTED, UNKNOWN. "UNKNOWN means the provider should look at the
#: terminal", so it (and SYSTEM ERROR) is never guessed: the job becomes ``unknown``.
ICLIENT_RESULTS: Mapping[str, JobState] = MappingProxyType(
    {
        "APPROVED": JobState.COMPLETED,
        "DECLINED": JobState.COMPLETED,
        "CANCELLED": JobState.COMPLETED,
        "REVERSED": JobState.COMPLETED,
        "NOT STARTED": JobState.FAILED,
        "UNKNOWN": JobState.UNKNOWN,
        "SYSTEM ERROR": JobState.UNKNOWN,
    }
)


def outcome_state(result: str) -> JobState:
    """The state a ``running`` job moves to when the terminal reports ``result``.

    Args:
        result: iClient's ``result`` field, e.g. ``"APPROVED"``.

    Returns:
        ``completed`` for a definite outcome, ``failed`` for NOT STARTED (nothing reached the
        fund), ``unknown`` for UNKNOWN, SYSTEM ERROR and anything unrecognised.
    """
    return ICLIENT_RESULTS.get(result.strip().upper(), JobState.UNKNOWN)
