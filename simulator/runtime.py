"""Async driver of the simulated terminals: dispatches link frames, pairs terminals, answers
queries and reports, starts each transaction (:mod:`simulator.transactions`: a claim, cancel or
payment flow) as a named task.

The only I/O it owns is time (the :class:`~simulator.clock.Clock`) and the per-terminal
tasks; every decision comes from the pure modules (``terminal``, ``healthpoint``,
``scenarios``, ``ledger``). Frames in and out are the link protocol of the iframe
(``iclient.html``): see COMMON "Simulator iframe <-> simulator server link".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import Any

from simulator.clock import Clock
from simulator.errors import (
    HttpRefused,
    InvalidRequest,
    NotPaired,
    PairingNotPending,
    Problem,
    RequestRefused,
    TerminalBusy,
)
from simulator.healthpoint.funds import Reference, load_reference
from simulator.healthpoint import (
    ClaimRequest,
    PurchaseRequest,
    claims_report_xml,
    parse_claim_request,
    parse_purchase_request,
    payments_report_xml,
    refusal_answer,
    sydney_date,
    unavailable_report_xml,
)
from simulator.ledger import Ledger
from simulator.scenarios import Scenario, ScenarioBook, purchase_magic
from simulator.terminal import Event, State, TransactionKind, TransactionLog
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
        tasks = [t.task for t in self._terminals.values() if t.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def terminals_json(self) -> list[dict[str, Any]]:
        """State of every terminal for ``GET /_sim/terminals``."""
        return [t.to_json() for _, t in sorted(self._terminals.items())]

    def authorise(self, mid: int, tid: int) -> dict[str, Any]:
        """The engineer presses "Authorise POS" on the terminal.

        Raises:
            PairingNotPending: No pairTerminal is waiting on this terminal.
        """
        terminal = self._terminals.get((mid, tid))
        if terminal is None or terminal.machine.state is not State.PAIRING:
            raise PairingNotPending(mid, tid)
        self._keys += 1
        key = self.steps.hash(f"key:{mid}:{tid}:{self._keys}")[:32]
        terminal.integration_key = key
        terminal.authorised.set()
        return {"status": "success", "message": "Paired", "integrationKey": key}

    def restore_pairing(self, mid: int, tid: int, integration_key: str) -> dict[str, Any]:
        """A terminal that kept its pairing while the server was down: after a restart of the
        simulator (which forgets everything) the POS's key is valid again, as with Tyro's."""
        terminal = self._terminals.setdefault((mid, tid), TerminalRuntime(mid, tid))
        terminal.integration_key = integration_key
        return terminal.to_json()

    # ------------------------------------------------------------------ link frames

    def detach(self, session: Session) -> None:
        """The link closed: stop sending to it (the transaction carries on)."""
        session.closed = True
        for terminal in self._terminals.values():
            terminal.subscribers.discard(session)
            if terminal.pairing_session is session and terminal.machine.state is State.PAIRING:
                # nobody is left to receive the key: the pairing request is withdrawn
                terminal.pairing_session = None
                terminal.machine.fire(Event.DONE)
                if terminal.task is not None:
                    terminal.task.cancel()

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
            terminal = session.terminal
            if terminal is not None and terminal.task is not None and not terminal.task.done():
                terminal.abort.set()
                if terminal.machine.state is State.AT_FUND:
                    # the claim is already at the fund: it is voided when the fund answers
                    terminal.machine.fire(Event.ABORT)
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
        result = {
            "mid": mid,
            "tid": tid,
            "paired": paired,
            "posProductData": session.pos_product_data,
        }
        await session.emit({"op": "result", "id": frame.get("id"), "result": result})

    async def _answer(self, session: Session, label: Any) -> None:
        if session.refusal is not None:
            final, session.refusal = session.refusal, None
            await session.notify("transactionComplete", final)
            return
        terminal = session.terminal
        if terminal is None or not isinstance(label, str) or terminal.log is None:
            return
        question = terminal.log.question
        if question is None or label not in question.get("options", []):
            return
        terminal.answer_label = label
        terminal.answer.set()

    async def _refuse(self, session: Session, error: RequestRefused) -> None:
        answer = refusal_answer(error)
        session.refusal = {
            "result": "NOT STARTED",
            "healthpointErrorCode": answer.error_code,
            "healthpointErrorDescription": answer.description,
        }
        await session.notify(
            "question", {"text": answer.question, "options": ["OK"], "isError": True}
        )

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
        if method in ("terminalInfo", "healthpointReconciliationReport", "reconciliationReport"):
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
            if terminal.machine.busy:
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
        terminal.log = TransactionLog(kind)
        terminal.abort.clear()
        terminal.answer.clear()
        terminal.answer_label = None
        terminal.subscribers = {session}
        session.terminal = terminal
        terminal.machine.fire(Event.START)
        job: Awaitable[None]
        if isinstance(request, PurchaseRequest):
            job = self.payments.run(terminal, kind, request, scenario)
        elif kind is TransactionKind.CANCEL:
            job = self.cancels.run(terminal, request, scenario)
        else:
            job = self.claims.run(terminal, kind, request, scenario)
        terminal.task = asyncio.create_task(
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
            terminal.machine.fire(Event.FAIL)
            await self.steps.finish(terminal, {"result": "SYSTEM ERROR"}, drop=False)
        if forget and terminal.log is mine:
            # Scenario noLastTransaction: the terminal lost its memory of the transaction (a
            # power cut, a swap), so continueLastTransaction cannot tell its outcome. The fund
            # still knows it: the claims report does.
            terminal.log = None

    async def _continue(self, session: Session, terminal: TerminalRuntime) -> None:
        log = terminal.log
        if log is None:
            await session.notify("transactionComplete", {"result": "NOT STARTED"})
            return
        if log.final is None:
            terminal.subscribers.add(session)
            session.terminal = terminal
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
            failure = {"status": "failure", "message": "MID and TID are required"}
            await session.notify("pairingStatus", failure)
            return
        terminal = self._terminals.setdefault((mid, tid), TerminalRuntime(mid, tid))
        if terminal.machine.state is State.PAIRING and terminal.task is not None:
            # a POS that gave up waiting pairs again: the new request replaces the old one
            terminal.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await terminal.task
        if terminal.machine.busy:
            failure = {"status": "failure", "message": "Terminal is busy."}
            await session.notify("pairingStatus", failure)
            return
        terminal.machine.fire(Event.PAIR_START)
        terminal.authorised.clear()
        terminal.pairing_session = session
        terminal.task = asyncio.create_task(
            self._pairing(session, terminal), name=f"claimbridge-sim[{mid}/{tid}].pairing"
        )

    async def _pairing(self, session: Session, terminal: TerminalRuntime) -> None:
        await session.notify(
            "pairingStatus", {"status": "inProgress", "message": "Press Authorise POS on the terminal"}
        )
        try:
            ok = await self.clock.wait_event(terminal.authorised, PAIRING_TIMEOUT_S)
        finally:
            if terminal.pairing_session is session and terminal.machine.state is State.PAIRING:
                terminal.pairing_session = None
                terminal.machine.fire(Event.DONE)
        if not ok:
            failure = {"status": "failure", "message": "Pairing timed out"}
            await session.notify("pairingStatus", failure)
            return
        key = terminal.integration_key
        session.last_terminal = (terminal.mid, terminal.tid, key)
        # stored before the final status: the POS tears the iframe down on "success"
        value = {"mid": terminal.mid, "tid": terminal.tid, "integrationKey": key}
        await session.emit({"op": "store", "key": "pairing", "value": value})
        await session.notify(
            "pairingStatus", {"status": "success", "message": "Paired", "integrationKey": key}
        )

    async def _query(self, session: Session, method: str, params: Mapping[str, Any]) -> None:
        answer = f"{method}Response"
        try:
            terminal = self._paired_terminal(params)
        except NotPaired:
            text = "POS is not paired with a terminal."
            if method == "terminalInfo":
                await session.notify(answer, {"status": "failure", "message": text})
            elif method == "healthpointReconciliationReport":
                failure = {
                    "result": "failure",
                    "healthpointErrorCode": "401",
                    "healthpointErrorDescription": text,
                }
                await session.notify(answer, failure)
            else:
                await session.notify(answer, {"result": "failure", "error": text})
            return
        if method == "terminalInfo":
            info = {
                "mid": terminal.mid,
                "tid": terminal.tid,
                "terminalId": terminal.terminal_id,
                "model": "Sim",
            }
            await session.notify(answer, {"status": "success", "terminalInfo": info})
            return
        if method == "reconciliationReport":
            failure = {"result": "failure", "error": "Not supported by the simulator"}
            await session.notify(answer, failure)
            return
        await session.notify(answer, self.healthpoint_report(terminal, params))

    def healthpoint_report(
        self, terminal: TerminalRuntime, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Answer a healthpointReconciliationReport request for one terminal."""
        problems: list[Problem] = []
        report_type = params.get("reportType")
        if report_type not in ("claims", "payments"):
            problems.append(Problem("reportType", '"claims" or "payments"'))
        raw_date = params.get("reconDate")
        day = None
        if isinstance(raw_date, str) and len(raw_date) == 8 and raw_date.isdigit():
            with contextlib.suppress(ValueError):
                day = datetime.strptime(raw_date, "%Y%m%d").date()
        if day is None:
            problems.append(Problem("reconDate", "a date as yyyyMMdd"))
        if problems or day is None:
            return {
                "result": "failure",
                "healthpointErrorCode": "400",
                "healthpointErrorDescription": str(InvalidRequest(problems)),
            }
        today = sydney_date(self.clock.now())
        data = unavailable_report_xml(terminal.terminal_id, day, str(report_type))
        if report_type == "claims" and day <= today:
            claims = self.ledger.recon_claims(terminal.mid, terminal.tid, day)
            if claims:
                data = claims_report_xml(terminal.terminal_id, day, claims)
        elif report_type == "payments" and day <= today:
            lines = self.ledger.payments(terminal.mid, terminal.tid, day, self.reference)
            if lines:
                data = payments_report_xml(terminal.terminal_id, day, lines)
        return {"result": "success", "data": data}

