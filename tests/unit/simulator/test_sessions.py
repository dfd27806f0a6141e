"""Unit tests for simulator/sessions.py: iframe sessions and a terminal's runtime state."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from simulator.clock import Clock
from simulator.errors import InvalidTransition, NoTransaction
from simulator.sessions import Frame, Session, TerminalRuntime
from simulator.terminal import Event, State, TransactionKind


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_session_sends_notify_frames() -> None:
    sent: list[Frame] = []

    async def send(frame: Frame) -> None:
        sent.append(frame)

    session = Session(send)
    _run(session.notify("transactionStatus", {"statusMessage": "Reading card"}))
    assert sent == [{"op": "notify", "method": "transactionStatus",
                     "params": {"statusMessage": "Reading card"}}]
    assert not session.closed


def test_failing_link_is_marked_closed_and_not_raised() -> None:
    calls = 0

    async def send(frame: Frame) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("gone")

    session = Session(send)
    _run(session.emit({"op": "x"}))
    _run(session.emit({"op": "y"}))
    assert session.closed and calls == 1


def test_terminal_runtime_json_and_broadcast_drops_closed_sessions() -> None:
    terminal = TerminalRuntime(2187, 1, Clock())
    assert terminal.terminal_id == "SIM00001" and not terminal.paired
    got: list[Frame] = []

    async def ok(frame: Frame) -> None:
        got.append(frame)

    async def broken(frame: Frame) -> None:
        raise OSError

    live, dead = Session(ok), Session(broken)
    terminal.listen(live)
    terminal.listen(dead)
    _run(terminal.broadcast("question", {"text": "?"}))
    assert terminal.listeners == {live} and len(got) == 1
    terminal.authorise("k")
    data = terminal.to_json()
    assert data["paired"] and data["listeners"] == 1 and data["transaction"] is None
    assert data["mid"] == 2187 and data["terminalId"] == "SIM00001"


def _silent() -> Session:
    async def send(frame: Frame) -> None:
        return None

    return Session(send)


def test_current_log_is_the_transaction_in_progress_or_a_named_error() -> None:
    terminal = TerminalRuntime(2187, 1, Clock())
    with pytest.raises(NoTransaction, match="2187/1 has no transaction in progress"):
        terminal.current_log()
    session = _silent()
    log = terminal.begin(TransactionKind.CLAIM, session)
    assert terminal.current_log() is log and terminal.state is State.AWAITING_CARD
    assert session.terminal is terminal and terminal.listeners == {session}


def _to_printing(terminal: TerminalRuntime) -> None:
    for event in (Event.CARD_PRESENTED, Event.CARD_READ, Event.FUND_FINAL):
        terminal.fire(event)


def test_a_transaction_ends_then_lets_its_listeners_go() -> None:
    terminal = TerminalRuntime(2187, 1, Clock())
    session = _silent()
    log = terminal.begin(TransactionKind.CLAIM, session)
    _to_printing(terminal)
    log.question = {"text": "?", "options": ["OK"]}
    ended = terminal.end({"result": "APPROVED"}, drop=True)
    assert ended is log and log.final == {"result": "APPROVED"} and log.dropped and log.question is None
    assert terminal.state is State.IDLE and terminal.listeners == {session}
    terminal.release()
    assert terminal.listeners == frozenset() and session.terminal is None
    terminal.forget(log)
    assert terminal.log is None


def test_forget_keeps_a_newer_transaction() -> None:
    terminal = TerminalRuntime(2187, 1, Clock())
    first = terminal.begin(TransactionKind.CLAIM, _silent())
    _to_printing(terminal)
    terminal.end({"result": "APPROVED"}, drop=False)
    second = terminal.begin(TransactionKind.CANCEL, _silent())
    terminal.forget(first)
    assert terminal.log is second


def test_an_answer_must_be_one_of_the_question_options() -> None:
    async def go() -> None:
        terminal = TerminalRuntime(2187, 1, Clock())
        log = terminal.begin(TransactionKind.CLAIM, _silent())
        assert not terminal.give_answer("ACCEPT")  # no question pending
        log.question = {"text": "Patient accepts?", "options": ["ACCEPT", "REJECT"]}
        assert not terminal.give_answer("MAYBE")
        assert await terminal.wait_answer(0.01) is None
        assert terminal.give_answer("REJECT")
        assert await terminal.wait_answer(1) == "REJECT"

    _run(go())


def test_an_abort_wakes_both_waits_and_voids_a_claim_at_the_fund() -> None:
    async def go() -> None:
        terminal = TerminalRuntime(2187, 1, Clock())
        terminal.begin(TransactionKind.CLAIM, _silent())
        terminal.request_abort()  # no task running: nothing to abort
        assert not await terminal.wait_abort(0.01)
        gate = asyncio.Event()
        terminal.run(gate.wait(), name="t")
        terminal.fire(Event.CARD_PRESENTED)
        terminal.fire(Event.CARD_READ)
        assert terminal.state is State.AT_FUND
        terminal.request_abort()
        assert terminal.state is State.AT_FUND_ABORTED
        assert await terminal.wait_abort(1) and await terminal.wait_answer(1) == "ABORT"
        await terminal.stop()
        assert not terminal.running

    _run(go())


def test_pairing_is_withdrawn_when_its_link_goes() -> None:
    async def go() -> None:
        terminal = TerminalRuntime(2187, 1, Clock())
        session = _silent()
        terminal.begin_pairing(session)
        assert terminal.state is State.PAIRING and terminal.pairing_session is session
        terminal.run(terminal.wait_authorised(90), name="pairing")
        terminal.detach(session)
        assert terminal.state is State.IDLE and terminal.pairing_session is None
        await asyncio.sleep(0)
        assert not terminal.running
        with pytest.raises(InvalidTransition):
            terminal.fire(Event.DONE)

    _run(go())


def test_authorise_gives_the_key_and_ends_the_wait() -> None:
    async def go() -> None:
        terminal = TerminalRuntime(2187, 1, Clock())
        session = _silent()
        terminal.begin_pairing(session)
        terminal.authorise("key-1")
        assert await terminal.wait_authorised(1) and terminal.integration_key == "key-1"
        terminal.end_pairing(session)
        assert terminal.state is State.IDLE and terminal.paired

    _run(go())
