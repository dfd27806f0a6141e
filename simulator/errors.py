"""The simulator's own error tree (it never imports the bridge's).

::

    SimulatorError
    ├── RequestRefused              a request the terminal refuses before it starts
    │   ├── InvalidRequest          HealthPoint validation failed (problems listed)
    │   ├── NotPaired               no pairing, or a wrong integrationKey
    │   ├── TerminalBusy            another transaction is running on the terminal
    │   └── HttpRefused             a scenario's ``httpError``
    ├── InvalidTransition           the terminal table has no such move
    ├── NoTransaction               a transaction step with no transaction in progress (a bug in a flow)
    ├── InvalidScenario             a control-API scenario that does not validate
    └── PairingNotPending           "Authorise POS" pressed with no pairing pending

Each leaf carries data; the text a POS sees is made in one place
(:func:`simulator.healthpoint.refusal_answer`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "HttpRefused",
    "InvalidRequest",
    "InvalidScenario",
    "InvalidTransition",
    "NoTransaction",
    "NotPaired",
    "PairingNotPending",
    "Problem",
    "RequestRefused",
    "SimulatorError",
    "TerminalBusy",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken HealthPoint rule: the request field and the rule it breaks."""

    field: str
    rule: str


class SimulatorError(Exception):
    """Root of every error the simulator raises on purpose."""


class RequestRefused(SimulatorError):
    """The terminal refuses a request before it starts (result NOT STARTED)."""


class InvalidRequest(RequestRefused):
    """The request breaks HealthPoint's rules.

    Args:
        problems: Every broken rule, in field order.
    """

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.rule}" for p in problems))
        self.problems = tuple(problems)


class NotPaired(RequestRefused):
    """The POS is not paired with the terminal (or sent a wrong integrationKey)."""

    def __init__(self, mid: int | None, tid: int | None) -> None:
        super().__init__(f"terminal {mid}/{tid} is not paired with this POS")
        self.mid = mid
        self.tid = tid


class TerminalBusy(RequestRefused):
    """Another transaction is running on the terminal."""

    def __init__(self, mid: int, tid: int) -> None:
        super().__init__(f"terminal {mid}/{tid} is busy")
        self.mid = mid
        self.tid = tid


class HttpRefused(RequestRefused):
    """The integration server refused the request with an HTTP status (scenario)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"request refused with HTTP {status}")
        self.status = status


class InvalidTransition(SimulatorError):
    """The terminal's transition table has no move for this state and event."""

    def __init__(self, state: str, event: str) -> None:
        super().__init__(f"no transition from {state!r} on {event!r}")
        self.state = state
        self.event = event


class NoTransaction(SimulatorError):
    """A transaction step ran on a terminal with no transaction in progress: a bug in a flow."""

    def __init__(self, mid: int, tid: int) -> None:
        super().__init__(f"terminal {mid}/{tid} has no transaction in progress")
        self.mid = mid
        self.tid = tid


class InvalidScenario(SimulatorError):
    """A control-API scenario or clock request does not validate."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.rule}" for p in problems))
        self.problems = tuple(problems)


class PairingNotPending(SimulatorError):
    """"Authorise POS" was pressed on a terminal with no pairing in progress."""

    def __init__(self, mid: int, tid: int) -> None:
        super().__init__(f"no pairing in progress on terminal {mid}/{tid}")
        self.mid = mid
        self.tid = tid
