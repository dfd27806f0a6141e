"""Async driver of the simulated terminals: dispatches link frames, pairs terminals, answers
queries and reports, starts each transaction (:mod:`simulator.transactions`: a claim, cancel or
payment flow) as a named task.

The only I/O it owns is time (the :class:`~simulator.clock.Clock`) and the per-terminal
tasks; every decision comes from the pure modules (``terminal``, ``healthpoint``, ``iclient``,
``scenarios``, ``ledger``). Frames in and out are the link protocol of the iframe
(``iclient.html``): see COMMON "Simulator iframe <-> simulator server link".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from typing import Any

from simulator.clock import Clock
from simulator.errors import (
    HttpRefused,
    InvalidRequest,
    NotPaired,
    PairingNotPending,
    RequestRefused,
    TerminalBusy,
)
from simulator import iclient
from simulator.healthpoint.funds import Reference, load_reference
from simulator.healthpoint import (
    ClaimRequest,
    PurchaseRequest,
    claims_report_xml,
    parse_claim_request,
    parse_purchase_request,
    payments_report_xml,
    sydney_date,
    unavailable_report_xml,
)
from simulator.ledger import Ledger
from simulator.scenarios import Scenario, ScenarioBook, purchase_magic
from simulator.terminal import Event, State, TransactionKind
from simulator.sessions import Session, TerminalRuntime
from simulator.transactions import CancelFlow, ClaimFlow, PaymentFlow, TerminalSteps

__all__ = ["PAIRING_TIMEOUT_S", "Simulator"]

_log = logging.getLogger(__name__)

PAIRING_TIMEOUT_S = 90.0
"""Pairing fails when nobody presses "Authorise POS" within 90 s (reference §3)."""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


_TRANSACTIONS = {k.value: k for k in TransactionKind}


class Simulator:
    """The simulated terminals, HealthPoint network and ledger of one simulator app.

    Args:
        clock: The simulated clock every delay and timestamp uses.
        seed: Seed of the deterministic ids (transactionId, integrationKey...).
        reference: Fund/provider reference; loaded from fixtures by default.
    """

    def __init__(self, clock: Clock, *, seed: int = 0, reference: Reference | None = None) -> None:
        self.clock = clock
        self.seed = seed
        self.reference = reference or load_reference()
        self.ledger = Ledger()
        self.scenarios = ScenarioBook()
        self._terminals: dict[tuple[int, int], TerminalRuntime] = {}
        self._keys = 0
        self.steps = TerminalSteps(clock, self.reference, self.ledger, seed)
        self.claims = ClaimFlow(self.steps)
        self.cancels = CancelFlow(self.steps)
        self.payments = PaymentFlow(self.steps)

    # ------------------------------------------------------------------ control API

    async def reset(self) -> None:
        """Forget ledger, scenarios, terminals (pairings included) and counters."""
        await self.close()
        self._terminals.clear()
        self.ledger.clear()
        self.scenarios.clear()
        self.steps.reset()
        self._keys = 0

    async def close(self) -> None:
        """Cancel every running terminal task."""
        await asyncio.gather(*(terminal.stop() for terminal in self._terminals.values()))

    def terminals_json(self) -> list[dict[str, Any]]:
        """State of every terminal for ``GET /_sim/terminals``."""
        return [t.to_json() for _, t in sorted(self._terminals.items())]

    def authorise(self, mid: int, tid: int) -> dict[str, Any]:
        """The engineer presses "Authorise POS" on the terminal.

        Raises:
            PairingNotPending: No pairTerminal is waiting on this terminal.
        """
        terminal = self._terminals.get((mid, tid))
        if terminal is None or terminal.state is not State.PAIRING:
            raise PairingNotPending(mid, tid)
        self._keys += 1
        key = self.steps.hash(f"key:{mid}:{tid}:{self._keys}")[:32]
        terminal.authorise(key)
        return iclient.pairing_success(key)

    # ------------------------------------------------------------------ link frames

    def detach(self, session: Session) -> None:
        """The link closed: stop sending to it (the transaction carries on)."""
        session.closed = True
        for terminal in self._terminals.values():
            terminal.detach(session)

    async def handle_frame(self, session: Session, frame: Mapping[str, Any]) -> None:
        """Handle one frame from an iframe link."""
        op = frame.get("op")
        if op == "start":
            method = frame.get("method")
            params = frame.get("params")
            if not isinstance(method, str):
                return
            await self._start(session, method, params if isinstance(params, Mapping) else {})
        elif op == "answer":
            await self._answer(session, frame.get("params"))
        elif op == "cancel":
            if session.refusal is not None:  # cancelling the error question ends it too
                await self._answer(session, "OK")
                return
            if session.terminal is not None:
                session.terminal.request_abort()
        elif op == "call":
            await self._call(session, frame)

    async def _call(self, session: Session, frame: Mapping[str, Any]) -> None:
        if frame.get("method") != "getConfiguration":
            await session.emit({"op": "result", "id": frame.get("id"), "error": "unknown_method"})
            return
        params = frame.get("params")
        mid = tid = None
        key: str | None = None
        if isinstance(params, Mapping):
            mid, tid = _int(params.get("mid")), _int(params.get("tid"))
            raw_key = params.get("integrationKey")
            key = raw_key if isinstance(raw_key, str) else None
        elif session.last_terminal is not None:
            mid, tid, key = session.last_terminal
        terminal = None
        if mid is not None and tid is not None:
            terminal = self._terminals.get((mid, tid))
        paired = (
            terminal is not None
            and terminal.paired
            and (key is None or key == terminal.integration_key)
        )
        result = iclient.configuration(mid, tid, paired=paired, pos_product_data=session.pos_product_data)
        await session.emit({"op": "result", "id": frame.get("id"), "result": result})

    async def _answer(self, session: Session, label: Any) -> None:
        if session.refusal is not None:
            final, session.refusal = session.refusal, None
            await session.notify("transactionComplete", final)
            return
        if session.terminal is not None and isinstance(label, str):
            session.terminal.give_answer(label)

    async def _refuse(self, session: Session, error: RequestRefused) -> None:
        session.refusal, question = iclient.refusal(error)
        await session.notify("question", question)

    def _paired_terminal(self, params: Mapping[str, Any]) -> TerminalRuntime:
        mid, tid = _int(params.get("mid")), _int(params.get("tid"))
        if mid is None or tid is None:
            raise NotPaired(mid, tid)
        terminal = self._terminals.get((mid, tid))
        key = params.get("integrationKey")
        if terminal is None or not terminal.paired or key != terminal.integration_key:
            raise NotPaired(mid, tid)
        return terminal

    async def _start(self, session: Session, method: str, params: Mapping[str, Any]) -> None:
        if method == "pairTerminal":
            await self._pair(session, params)
            return
        if method in iclient.REPORT_METHODS:
            await self._query(session, method, params)
            return
        try:
            terminal = self._paired_terminal(params)
            session.last_terminal = (terminal.mid, terminal.tid, terminal.integration_key)
            if isinstance(params.get("posProductData"), Mapping):
                session.pos_product_data = dict(params["posProductData"])
            if method == "continueLastTransaction":
                await self._continue(session, terminal)
                return
            kind = _TRANSACTIONS.get(method)
            if kind is None:
                raise HttpRefused(501)
            if terminal.busy:
                raise TerminalBusy(terminal.mid, terminal.tid)
            request: ClaimRequest | PurchaseRequest
            if kind in (TransactionKind.PURCHASE, TransactionKind.REFUND):
                request = parse_purchase_request(params)
                magic = purchase_magic(request.amount)
                if magic.http_error is not None:
                    raise HttpRefused(magic.http_error)
            else:
                request = parse_claim_request(
                    params, self.reference, cancel=kind is TransactionKind.CANCEL
                )
            scenario = self.scenarios.take(terminal.mid, terminal.tid) or Scenario()
            if scenario.http_error is not None:
                raise HttpRefused(scenario.http_error)
        except RequestRefused as error:
            await self._refuse(session, error)
            return
        terminal.begin(kind, session)
        job: Awaitable[None]
        if isinstance(request, PurchaseRequest):
            job = self.payments.run(terminal, kind, request, scenario)
        elif kind is TransactionKind.CANCEL:
            job = self.cancels.run(terminal, request, scenario)
        else:
            job = self.claims.run(terminal, kind, request, scenario)
        terminal.run(
            self._guard(terminal, job, forget=scenario.no_last_transaction),
            name=f"claimbridge-sim[{terminal.mid}/{terminal.tid}].{kind.value}",
        )

    async def _guard(self, terminal: TerminalRuntime, job: Awaitable[None], *, forget: bool = False) -> None:
        mine = terminal.log
        try:
            await job
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("simulated transaction crashed on %s/%s", terminal.mid, terminal.tid)
            terminal.fire(Event.FAIL)
            await self.steps.finish(terminal, dict(iclient.SYSTEM_ERROR), drop=False)
        if forget and mine is not None:
            # Scenario noLastTransaction: the terminal lost its memory of the transaction (a
            # power cut, a swap), so continueLastTransaction cannot tell its outcome. The fund
            # still knows it: the claims report does.
            terminal.forget(mine)

    async def _continue(self, session: Session, terminal: TerminalRuntime) -> None:
        log = terminal.log
        if log is None:
            await session.notify("transactionComplete", dict(iclient.NOT_STARTED))
            return
        if log.final is None:
            terminal.listen(session)
            if log.statuses:
                await session.notify("transactionStatus", log.statuses[-1])
            if log.question is not None:
                await session.notify("question", log.question)
            return
        log.dropped = False
        await session.notify("transactionComplete", log.final)

    # ------------------------------------------------------------------ pairing & queries

    async def _pair(self, session: Session, params: Mapping[str, Any]) -> None:
        mid, tid = _int(params.get("mid")), _int(params.get("tid"))
        if mid is None or tid is None:
            await session.notify("pairingStatus", iclient.PAIRING_NEEDS_MID_TID)
            return
        terminal = self._terminals.get((mid, tid))
        if terminal is None:
            terminal = self._terminals[(mid, tid)] = TerminalRuntime(mid, tid, self.clock)
        if terminal.state is State.PAIRING:
            # a POS that gave up waiting pairs again: the new request replaces the old one
            await terminal.stop()
        if terminal.busy:
            await session.notify("pairingStatus", iclient.PAIRING_BUSY)
            return
        terminal.begin_pairing(session)
        terminal.run(self._pairing(session, terminal), name=f"claimbridge-sim[{mid}/{tid}].pairing")

    async def _pairing(self, session: Session, terminal: TerminalRuntime) -> None:
        await session.notify("pairingStatus", iclient.PAIRING_IN_PROGRESS)
        try:
            ok = await terminal.wait_authorised(PAIRING_TIMEOUT_S)
        finally:
            terminal.end_pairing(session)
        if not ok:
            await session.notify("pairingStatus", iclient.PAIRING_TIMED_OUT)
            return
        key = terminal.integration_key
        session.last_terminal = (terminal.mid, terminal.tid, key)
        # stored before the final status: the POS tears the iframe down on "success"
        await session.emit(iclient.pairing_store(terminal.mid, terminal.tid, key))
        await session.notify("pairingStatus", iclient.pairing_success(key))

    async def _query(self, session: Session, method: str, params: Mapping[str, Any]) -> None:
        answer = f"{method}Response"
        try:
            terminal = self._paired_terminal(params)
        except NotPaired:
            await session.notify(answer, iclient.not_paired_answer(method))
            return
        if method == "terminalInfo":
            await session.notify(answer, iclient.terminal_info(terminal.mid, terminal.tid, terminal.terminal_id))
            return
        if method == "reconciliationReport":
            await session.notify(answer, iclient.unsupported_report())
            return
        await session.notify(answer, self.healthpoint_report(terminal, params))

    def healthpoint_report(
        self, terminal: TerminalRuntime, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Answer a healthpointReconciliationReport request for one terminal."""
        try:
            report_type, day = iclient.read_report_request(params)
        except InvalidRequest as error:
            return iclient.report_failure(error)
        today = sydney_date(self.clock.now())
        data = unavailable_report_xml(terminal.terminal_id, day, report_type)
        if report_type == "claims" and day <= today:
            claims = self.ledger.recon_claims(terminal.mid, terminal.tid, day)
            if claims:
                data = claims_report_xml(terminal.terminal_id, day, claims)
        elif report_type == "payments" and day <= today:
            lines = self.ledger.payments(terminal.mid, terminal.tid, day, self.reference)
            if lines:
                data = payments_report_xml(terminal.terminal_id, day, lines)
        return {"result": "success", "data": data}

