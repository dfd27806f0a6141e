"""Links and terminals of the simulator: the iframe sessions and each terminal's runtime state.

A :class:`Session` is one websocket link from an ``iclient.html`` iframe; a
:class:`TerminalRuntime` is one simulated terminal with its state machine, pairing, current
transaction and the sessions listening to it. The transactions that drive them are in
:mod:`simulator.transactions`. The only I/O is the frames sent to the links.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from simulator.errors import NoTransaction
from simulator.terminal import TerminalMachine, TransactionLog

__all__ = [
    "Frame",
    "Sender",
    "Session",
    "TerminalRuntime",
]

Frame = dict[str, Any]
Sender = Callable[[Frame], Awaitable[None]]


class Session:
    """One websocket link from an ``iclient.html`` iframe.

    Args:
        send: Coroutine that sends one JSON frame; errors mean the link is gone.
    """

    def __init__(self, send: Sender) -> None:
        self._send = send
        self.closed = False
        self.refusal: Frame | None = None
        self.terminal: TerminalRuntime | None = None
        self.last_terminal: tuple[int, int, str | None] | None = None
        self.pos_product_data: dict[str, Any] | None = None

    async def emit(self, frame: Frame) -> None:
        """Send a frame; a failing link is marked closed, never raised."""
        if self.closed:
            return
        try:
            await self._send(frame)
        except Exception:  # the socket went away: the transaction carries on
            self.closed = True

    async def notify(self, method: str, params: Any) -> None:
        """Send ``{"op":"notify"}``."""
        await self.emit({"op": "notify", "method": method, "params": params})


class TerminalRuntime:
    """Runtime state of one simulated terminal."""

    def __init__(self, mid: int, tid: int) -> None:
        self.mid = mid
        self.tid = tid
        self.machine = TerminalMachine()
        self.integration_key: str | None = None
        self.log: TransactionLog | None = None
        self.subscribers: set[Session] = set()
        self.task: asyncio.Task[None] | None = None
        self.abort = asyncio.Event()
        self.answer = asyncio.Event()
        self.answer_label: str | None = None
        self.authorised = asyncio.Event()
        self.pairing_session: Session | None = None
        self.ref_tags = 0

    @property
    def paired(self) -> bool:
        return self.integration_key is not None

    def current_log(self) -> TransactionLog:
        """The transaction in progress; NoTransaction when there is none (a flow's bug)."""
        if self.log is None:
            raise NoTransaction(self.mid, self.tid)
        return self.log

    @property
    def terminal_id(self) -> str:
        return f"SIM{self.tid:05d}"

    def to_json(self) -> dict[str, Any]:
        return {
            "mid": self.mid,
            "tid": self.tid,
            "terminalId": self.terminal_id,
            "paired": self.paired,
            "integrationKey": self.integration_key,
            "state": self.machine.state.value,
            "busy": self.machine.busy,
            "listeners": len(self.subscribers),
            "transaction": self.log.to_json() if self.log is not None else None,
        }

    async def broadcast(self, method: str, params: Any) -> None:
        for session in list(self.subscribers):
            await session.notify(method, params)
            if session.closed:
                self.subscribers.discard(session)
