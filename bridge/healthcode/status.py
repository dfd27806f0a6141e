"""Healthcode bill statuses, pure: the status values and the one transition table.

Statuses are exactly the values of INTERFACES.md (reference/healthcode.md §4); the allowed
moves live here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "BILL_TRANSITIONS",
    "FINAL_STATUSES",
    "BillStatus",
    "can_reach",
    "can_transition",
    "is_final",
]


# --------------------------------------------------------------------------------------------
# Statuses (reference §4) and the one transition table
# --------------------------------------------------------------------------------------------


class BillStatus(StrEnum):
    """A bill's clearing status: exactly the values of INTERFACES.md (reference §4)."""

    UNPROCESSED = "Unprocessed"
    IN_PROCESS = "In-process"
    AWAITING_CORRECTION = "AwaitingCorrection"
    VALIDATED = "Validated"
    AWAITING_COLLECTION = "AwaitingCollection"
    COLLECTED = "Collected"
    CANCELLED = "Cancelled"
    NOT_FOUND = "NotFound"


_S = BillStatus

#: Allowed moves, the whole state machine (reference §4 "Observed lifecycle"). A failed bill is
#: amended and re-validated (VEDA, reference §4), hence AwaitingCorrection -> In-process. Any
#: state before collection may be cancelled. NotFound is what a lookup of an unknown bill
#: yields: nothing moves into or out of it. Collected means the insurer picked the bill up;
#: payment is a separate channel (§2.4).
BILL_TRANSITIONS: Mapping[BillStatus, frozenset[BillStatus]] = MappingProxyType(
    {
        _S.UNPROCESSED: frozenset({_S.IN_PROCESS, _S.CANCELLED}),
        _S.IN_PROCESS: frozenset({_S.VALIDATED, _S.AWAITING_CORRECTION, _S.CANCELLED}),
        _S.AWAITING_CORRECTION: frozenset({_S.IN_PROCESS, _S.CANCELLED}),
        _S.VALIDATED: frozenset({_S.AWAITING_COLLECTION, _S.CANCELLED}),
        _S.AWAITING_COLLECTION: frozenset({_S.COLLECTED, _S.CANCELLED}),
        _S.COLLECTED: frozenset(),
        _S.CANCELLED: frozenset(),
        _S.NOT_FOUND: frozenset(),
    }
)

#: Statuses after which polling stops.
FINAL_STATUSES: frozenset[BillStatus] = frozenset(
    status for status, targets in BILL_TRANSITIONS.items() if not targets
)


def can_transition(current: BillStatus, new: BillStatus) -> bool:
    """Whether ``current -> new`` is one step of :data:`BILL_TRANSITIONS`."""
    return new in BILL_TRANSITIONS[current]


def can_reach(current: BillStatus, new: BillStatus) -> bool:
    """Whether ``new`` follows ``current`` in one or more steps.

    Polling sees only some of the states a bill passes through (``Unprocessed`` then
    ``Validated``); a poller accepts a report when this is true, or when it equals ``current``.
    """
    seen: set[BillStatus] = set()
    frontier = set(BILL_TRANSITIONS[current])
    while frontier:
        status = frontier.pop()
        if status == new:
            return True
        seen.add(status)
        frontier |= BILL_TRANSITIONS[status] - seen
    return False


def is_final(status: BillStatus) -> bool:
    """Whether nothing can follow ``status`` (Collected, Cancelled, NotFound)."""
    return status in FINAL_STATUSES
