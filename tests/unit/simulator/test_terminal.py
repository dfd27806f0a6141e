"""Unit tests for simulator/terminal.py: every cell of the transition table."""

from __future__ import annotations

import itertools

import pytest

from simulator.errors import InvalidTransition
from simulator.terminal import (
    STATUS_LINES,
    TRANSITIONS,
    Event,
    State,
    TerminalMachine,
    TransactionKind,
    TransactionLog,
    status_line,
)


@pytest.mark.parametrize(("state", "event"), list(itertools.product(State, Event)))
def test_every_cell(state: State, event: Event) -> None:
    machine = TerminalMachine()
    machine.state = state
    if (state, event) in TRANSITIONS:
        assert machine.can(event)
        assert machine.fire(event) is TRANSITIONS[(state, event)]
    else:
        assert not machine.can(event)
        with pytest.raises(InvalidTransition) as caught:
            machine.fire(event)
        assert (caught.value.state, caught.value.event) == (state.value, event.value)
        assert machine.state is state


def test_every_state_reachable_and_returns_to_idle() -> None:
    reachable = {State.IDLE}
    frontier = [State.IDLE]
    while frontier:
        state = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is state and target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(State)
    for state in State:  # every state can get back to idle
        seen, todo = {state}, [state]
        while todo:
            current = todo.pop()
            for (source, _), target in TRANSITIONS.items():
                if source is current and target not in seen:
                    seen.add(target)
                    todo.append(target)
        assert State.IDLE in seen


def test_claim_walk_with_status_lines() -> None:
    machine = TerminalMachine()
    lines = []
    for event in (Event.START, Event.CARD_PRESENTED, Event.CARD_READ, Event.FUND_APPROVED,
                  Event.ACCEPT):
        lines.append(status_line(TransactionKind.CLAIM, machine.fire(event)))
    assert lines == ["Swipe or tap health fund card", "Reading card", "Sending claim to health fund",
                     "Patient Approval", "Printing patient copy"]
    assert machine.busy
    machine.fire(Event.DONE)
    assert not machine.busy


def test_abort_at_fund_voids_on_approval() -> None:
    machine = TerminalMachine()
    for event in (Event.START, Event.CARD_PRESENTED, Event.CARD_READ, Event.ABORT):
        machine.fire(event)
    assert machine.state is State.AT_FUND_ABORTED
    assert machine.fire(Event.FUND_APPROVED) is State.VOIDING


def test_purchase_lines() -> None:
    assert status_line(TransactionKind.PURCHASE, State.AWAITING_CARD) == "Present card"
    assert status_line(TransactionKind.PURCHASE, State.READING_CARD) == "Enter PIN"
    assert status_line(TransactionKind.PURCHASE, State.AT_FUND) == "Processing"
    assert all(state in set(TRANSITIONS.values()) for _, state in STATUS_LINES)


def test_log_json() -> None:
    log = TransactionLog(TransactionKind.CLAIM, statuses=["Reading card"])
    assert log.to_json()["kind"] == "healthpointClaim"
    assert log.to_json()["statuses"] == ["Reading card"]
