"""One simulated terminal, pure: its states, events and the table of moves between them.

All state and every transition live in :data:`TRANSITIONS` (as h11's ``_state.py`` keeps
its own): the runtime fires events and shows the status line of the state it lands in;
nothing else decides a move. The terminal's lines for each state and transaction kind are
in :data:`STATUS_LINES`.

::

    idle --start--> awaiting_card --card_presented--> reading_card --card_read--> at_fund
    at_fund --fund_approved--> awaiting_answer --accept--> printing --done--> idle
    at_fund --fund_final--> printing        awaiting_answer --reject/timeout/abort--> voiding
    at_fund --fund_silent--> voiding --done--> idle
    at_fund --abort--> at_fund_aborted (the claim is voided as soon as the fund answers)
    idle --pair_start--> pairing --done--> idle
    any --fail--> idle (a crash inside the simulator; the POS gets SYSTEM ERROR)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from simulator.errors import InvalidTransition

__all__ = [
    "STATUS_LINES",
    "TRANSITIONS",
    "Event",
    "State",
    "TerminalMachine",
    "TransactionKind",
    "TransactionLog",
    "AUTOVOIDING",
    "WAITING_FOR_FUND",
    "status_line",
]


class State(enum.Enum):
    """Where a simulated terminal is."""

    IDLE = "idle"
    AWAITING_CARD = "awaiting_card"
    READING_CARD = "reading_card"
    AT_FUND = "at_fund"
    AT_FUND_ABORTED = "at_fund_aborted"
    AWAITING_ANSWER = "awaiting_answer"
    VOIDING = "voiding"
    PRINTING = "printing"
    PAIRING = "pairing"


class Event(enum.Enum):
    """What can happen to a simulated terminal."""

    START = "start"
    PAIR_START = "pair_start"
    CARD_PRESENTED = "card_presented"
    CARD_READ = "card_read"
    FUND_APPROVED = "fund_approved"
    FUND_FINAL = "fund_final"
    FUND_SILENT = "fund_silent"
    ACCEPT = "accept"
    REJECT = "reject"
    QUESTION_TIMEOUT = "question_timeout"
    ABORT = "abort"
    DONE = "done"
    FAIL = "fail"


class TransactionKind(enum.Enum):
    """Transactions the terminal runs (wire method names)."""

    CLAIM = "healthpointClaim"
    CANCEL = "healthpointCancel"
    REBATE_ESTIMATE = "healthpointRebateEstimate"
    PURCHASE = "purchase"
    REFUND = "refund"


S, E = State, Event

TRANSITIONS: dict[tuple[State, Event], State] = {
    (S.IDLE, E.START): S.AWAITING_CARD,
    (S.IDLE, E.PAIR_START): S.PAIRING,
    (S.IDLE, E.ABORT): S.IDLE,
    (S.PAIRING, E.DONE): S.IDLE,
    (S.PAIRING, E.ABORT): S.PAIRING,
    (S.AWAITING_CARD, E.CARD_PRESENTED): S.READING_CARD,
    (S.AWAITING_CARD, E.ABORT): S.IDLE,
    (S.READING_CARD, E.CARD_READ): S.AT_FUND,
    (S.READING_CARD, E.ABORT): S.IDLE,
    (S.AT_FUND, E.FUND_APPROVED): S.AWAITING_ANSWER,
    (S.AT_FUND, E.FUND_FINAL): S.PRINTING,
    (S.AT_FUND, E.FUND_SILENT): S.VOIDING,
    (S.AT_FUND, E.ABORT): S.AT_FUND_ABORTED,
    (S.AT_FUND_ABORTED, E.FUND_APPROVED): S.VOIDING,
    (S.AT_FUND_ABORTED, E.FUND_FINAL): S.PRINTING,
    (S.AT_FUND_ABORTED, E.FUND_SILENT): S.VOIDING,
    (S.AT_FUND_ABORTED, E.ABORT): S.AT_FUND_ABORTED,
    (S.AWAITING_ANSWER, E.ACCEPT): S.PRINTING,
    (S.AWAITING_ANSWER, E.REJECT): S.VOIDING,
    (S.AWAITING_ANSWER, E.QUESTION_TIMEOUT): S.VOIDING,
    (S.AWAITING_ANSWER, E.ABORT): S.VOIDING,
    (S.VOIDING, E.ABORT): S.VOIDING,
    (S.VOIDING, E.DONE): S.IDLE,
    (S.PRINTING, E.ABORT): S.PRINTING,
    (S.PRINTING, E.DONE): S.IDLE,
    # the simulator itself broke mid-transaction: back to idle from anywhere
    **{(state, E.FAIL): S.IDLE for state in S},
}
"""Every allowed move; a pair missing here is an :class:`InvalidTransition`."""

_HEALTH = (TransactionKind.CLAIM, TransactionKind.CANCEL, TransactionKind.REBATE_ESTIMATE)
_CARD = (TransactionKind.PURCHASE, TransactionKind.REFUND)

STATUS_LINES: dict[tuple[TransactionKind, State], str] = {
    **{(k, S.AWAITING_CARD): "Swipe or tap health fund card" for k in _HEALTH},
    **{(k, S.READING_CARD): "Reading card" for k in _HEALTH},
    **{(k, S.AT_FUND): "Sending claim to health fund" for k in _HEALTH},
    **{(k, S.AWAITING_ANSWER): "Patient Approval" for k in _HEALTH},
    **{(k, S.PRINTING): "Printing patient copy" for k in _HEALTH},
    **{(k, S.VOIDING): "Voiding claim" for k in _HEALTH},
    **{(k, S.AWAITING_CARD): "Present card" for k in _CARD},
    **{(k, S.READING_CARD): "Enter PIN" for k in _CARD},
    **{(k, S.AT_FUND): "Processing" for k in _CARD},
}
"""Status line shown on entering a state, per transaction kind (COMMON contract texts)."""

WAITING_FOR_FUND = "Waiting for health fund response"
"""Second line while at the fund (after "Sending claim to health fund")."""
AUTOVOIDING = "No response from health fund - voiding"
"""Line shown instead of "Voiding claim" when the terminal autovoids."""


def status_line(kind: TransactionKind, state: State) -> str | None:
    """The status line the terminal shows on entering ``state``, if any."""
    return STATUS_LINES.get((kind, state))


class TerminalMachine:
    """The state of one simulated terminal; moves only through :data:`TRANSITIONS`."""

    def __init__(self) -> None:
        self.state = State.IDLE

    def can(self, event: Event) -> bool:
        """True if the table allows ``event`` in the current state."""
        return (self.state, event) in TRANSITIONS

    def fire(self, event: Event) -> State:
        """Apply ``event`` and return the new state.

        Raises:
            InvalidTransition: The table has no such move.
        """
        try:
            self.state = TRANSITIONS[(self.state, event)]
        except KeyError:
            raise InvalidTransition(self.state.value, event.value) from None
        return self.state

    @property
    def busy(self) -> bool:
        """True unless the terminal is idle."""
        return self.state is not State.IDLE


@dataclass
class TransactionLog:
    """What one transaction showed: status lines, pending question, receipt, final answer."""

    kind: TransactionKind | None
    statuses: list[str] = field(default_factory=list)
    question: dict[str, Any] | None = None
    receipt_lines: list[str] = field(default_factory=list)
    final: dict[str, Any] | None = None
    dropped: bool = False

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for ``GET /_sim/terminals``."""
        return {
            "kind": self.kind.value if self.kind is not None else None,
            "statuses": list(self.statuses),
            "question": self.question,
            "receiptLines": list(self.receipt_lines),
            "final": self.final,
            "dropped": self.dropped,
        }
