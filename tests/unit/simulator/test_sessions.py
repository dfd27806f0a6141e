"""Unit tests for simulator/sessions.py: iframe sessions and a terminal's runtime state."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from simulator.errors import NoTransaction
from simulator.sessions import Frame, Session, TerminalRuntime
from simulator.terminal import TransactionKind, TransactionLog


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
    terminal = TerminalRuntime(2187, 1)
    assert terminal.terminal_id == "SIM00001" and not terminal.paired
    got: list[Frame] = []

    async def ok(frame: Frame) -> None:
        got.append(frame)

    async def broken(frame: Frame) -> None:
        raise OSError

    live, dead = Session(ok), Session(broken)
    terminal.subscribers |= {live, dead}
    _run(terminal.broadcast("question", {"text": "?"}))
    assert terminal.subscribers == {live} and len(got) == 1
    terminal.integration_key = "k"
    data = terminal.to_json()
    assert data["paired"] and data["listeners"] == 1 and data["transaction"] is None
    assert data["mid"] == 2187 and data["terminalId"] == "SIM00001"


def test_current_log_is_the_transaction_in_progress_or_a_named_error() -> None:
    terminal = TerminalRuntime(2187, 1)
    with pytest.raises(NoTransaction, match="2187/1 has no transaction in progress"):
        terminal.current_log()
    log = TransactionLog(TransactionKind.CLAIM)
    terminal.log = log
    assert terminal.current_log() is log
