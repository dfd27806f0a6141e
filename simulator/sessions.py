"""Links and terminals of the simulator: the iframe sessions and each terminal's runtime state.

A :class:`Session` is one websocket link from an ``iclient.html`` iframe; a
:class:`TerminalRuntime` is one simulated terminal with its state machine, pairing, current
transaction and the sessions listening to it. The transactions that drive them are in
:mod:`simulator.transactions`. The only I/O is the frames sent to the links.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from simulator.clock import Clock
from simulator.errors import NoTransaction
from simulator.terminal import Event, State, TerminalMachine, TransactionKind, TransactionLog

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
    """One simulated terminal: it owns its state, and every change of it is one of its methods.

    The state machine (:class:`~simulator.terminal.TerminalMachine`), the pairing key, the
    transaction in progress, the sessions listening to it, the operator's abort and answer and
    the task that runs the transaction are private; the flows and the runtime read them through
    properties and change them only through the methods below.

    Args:
        mid: Merchant id.
        tid: Terminal id.
        clock: The simulated clock its waits use.
    """

    def __init__(self, mid: int, tid: int, clock: Clock) -> None:
        self.mid = mid
        self.tid = tid
        self._clock = clock
        self._machine = TerminalMachine()
        self._integration_key: str | None = None
        self._log: TransactionLog | None = None
        self._listeners: set[Session] = set()
        self._task: asyncio.Task[None] | None = None
        self._abort = asyncio.Event()
        self._attention = asyncio.Event()  # set by an answer or an abort
        self._answer: str | None = None
        self._authorised = asyncio.Event()
        self._pairing_session: Session | None = None
        self._ref_tags = 0

    # ------------------------------------------------------------------ what it is

    @property
    def state(self) -> State:
        return self._machine.state

    @property
    def busy(self) -> bool:
        return self._machine.busy

    @property
    def paired(self) -> bool:
        return self._integration_key is not None

    @property
    def integration_key(self) -> str | None:
        return self._integration_key

    @property
    def log(self) -> TransactionLog | None:
        """The last transaction (in progress, or ended and remembered)."""
        return self._log

    @property
    def listeners(self) -> frozenset[Session]:
        return frozenset(self._listeners)

    @property
    def running(self) -> bool:
        """True while a transaction's or a pairing's task runs."""
        return self._task is not None and not self._task.done()

    @property
    def terminal_id(self) -> str:
        return f"SIM{self.tid:05d}"

    def current_log(self) -> TransactionLog:
        """The transaction in progress; NoTransaction when there is none (a flow's bug)."""
        if self._log is None:
            raise NoTransaction(self.mid, self.tid)
        return self._log

    def to_json(self) -> dict[str, Any]:
        return {
            "mid": self.mid,
            "tid": self.tid,
            "terminalId": self.terminal_id,
            "paired": self.paired,
            "integrationKey": self._integration_key,
            "state": self._machine.state.value,
            "busy": self._machine.busy,
            "listeners": len(self._listeners),
            "transaction": self._log.to_json() if self._log is not None else None,
        }

    # ------------------------------------------------------------------ moves

    def fire(self, event: Event) -> State:
        """Move through the terminal's table (:data:`~simulator.terminal.TRANSITIONS`)."""
        return self._machine.fire(event)

    def next_ref_tag(self) -> int:
        """The number of this terminal's next HealthPoint refTag."""
        self._ref_tags += 1
        return self._ref_tags

    # ------------------------------------------------------------------ listeners

    async def broadcast(self, method: str, params: Any) -> None:
        for session in list(self._listeners):
            await session.notify(method, params)
            if session.closed:
                self._listeners.discard(session)

    def listen(self, session: Session) -> None:
        """``session`` follows the transaction in progress (continueLastTransaction)."""
        self._listeners.add(session)
        session.terminal = self

    def detach(self, session: Session) -> None:
        """The link closed: stop sending to it. A pairing it was waiting for is withdrawn
        (nobody is left to receive the key); a transaction carries on."""
        self._listeners.discard(session)
        if self._pairing_session is session and self._machine.state is State.PAIRING:
            self._pairing_session = None
            self._machine.fire(Event.DONE)
            if self._task is not None:
                self._task.cancel()

    # ------------------------------------------------------------------ a transaction

    def begin(self, kind: TransactionKind, session: Session) -> TransactionLog:
        """Start a transaction of ``kind`` for ``session``: a fresh log, no abort, no answer."""
        self._log = TransactionLog(kind)
        self._abort.clear()
        self._attention.clear()
        self._answer = None
        self._listeners = {session}
        session.terminal = self
        self._machine.fire(Event.START)
        return self._log

    def end(self, final: dict[str, Any], *, drop: bool) -> TransactionLog:
        """Store the transaction's final answer and return to idle (listeners kept until
        :meth:`release`, so the final answer still reaches them)."""
        log = self.current_log()
        log.question = None
        log.final = final
        log.dropped = drop
        if self._machine.state is not State.IDLE:
            self._machine.fire(Event.DONE)
        return log

    def release(self) -> None:
        """The transaction's listeners are let go."""
        for session in self._listeners:
            if session.terminal is self:
                session.terminal = None
        self._listeners = set()

    def forget(self, log: TransactionLog) -> None:
        """The terminal loses its memory of ``log`` (scenario noLastTransaction), if it is
        still its last transaction."""
        if self._log is log:
            self._log = None

    def request_abort(self) -> None:
        """The operator cancels. A claim already at the fund is voided when the fund answers."""
        if not self.running:
            return
        self._abort.set()
        self._attention.set()
        if self._machine.state is State.AT_FUND:
            self._machine.fire(Event.ABORT)

    def give_answer(self, label: str) -> bool:
        """The operator answers the pending question; False if ``label`` is not one of its options."""
        question = self._log.question if self._log is not None else None
        if question is None or label not in question.get("options", []):
            return False
        self._answer = label
        self._attention.set()
        return True

    async def wait_abort(self, seconds: float) -> bool:
        """True if the operator aborted within ``seconds`` of simulated time."""
        return await self._clock.wait_event(self._abort, seconds)

    async def wait_answer(self, seconds: float) -> str | None:
        """The operator's answer, ``"ABORT"`` for a cancel, or None when ``seconds`` passed."""
        if not await self._clock.wait_event(self._attention, seconds):
            return None
        return self._answer if self._answer is not None else "ABORT"

    def run(self, job: Coroutine[Any, Any, None], name: str) -> None:
        """Run the transaction's or pairing's task."""
        self._task = asyncio.create_task(job, name=name)

    async def stop(self) -> None:
        """Cancel the running task and wait for it."""
        task = self._task
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    # ------------------------------------------------------------------ pairing

    @property
    def pairing_session(self) -> Session | None:
        return self._pairing_session

    def begin_pairing(self, session: Session) -> None:
        self._machine.fire(Event.PAIR_START)
        self._authorised.clear()
        self._pairing_session = session

    def authorise(self, key: str) -> None:
        """The engineer pressed "Authorise POS": the terminal now has ``key``."""
        self._integration_key = key
        self._authorised.set()

    async def wait_authorised(self, seconds: float) -> bool:
        return await self._clock.wait_event(self._authorised, seconds)

    def end_pairing(self, session: Session) -> None:
        """``session``'s pairing request is over (authorised, timed out or withdrawn)."""
        if self._pairing_session is session and self._machine.state is State.PAIRING:
            self._pairing_session = None
            self._machine.fire(Event.DONE)
