"""Async driver of the simulated terminals: runs each transaction on the Clock, holds the
links (sessions) that listen to a terminal, and keeps the ledger.

The only I/O it owns is time (the :class:`~simulator.clock.Clock`) and the per-terminal
tasks; every decision comes from the pure modules (``terminal``, ``healthpoint``,
``scenarios``, ``ledger``). Frames in and out are the link protocol of the iframe
(``iclient.html``): see COMMON "Simulator iframe <-> simulator server link".
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
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
from simulator.funds import Card, Fund, Reference, load_reference
from simulator.healthpoint import (
    AUTOVOID_DESCRIPTION,
    Adjudication,
    ClaimRequest,
    OriginalClaim,
    PurchaseRequest,
    adjudicate,
    approval_question,
    autovoid_error_text,
    cancel_outcome,
    claim_receipt_lines,
    claim_response,
    claims_report_xml,
    format_money,
    format_terminal_datetime,
    parse_claim_request,
    parse_purchase_request,
    payments_report_xml,
    refusal_answer,
    sydney_date,
    unavailable_report_xml,
)
from simulator.ledger import Ledger, LedgerKind, LedgerRecord, items_json
from simulator.scenarios import (
    DEFAULT_CARD_DELAY_MS,
    DEFAULT_FUND_DELAY_MS,
    Scenario,
    ScenarioBook,
    claim_magic,
    purchase_magic,
)
from simulator.terminal import (
    AUTOVOIDING,
    WAITING_FOR_FUND,
    Event,
    State,
    TerminalMachine,
    TransactionKind,
    TransactionLog,
    status_line,
)

__all__ = ["AUTOVOID_AFTER_S", "PAIRING_TIMEOUT_S", "QUESTION_TIMEOUT_S", "Session", "Simulator"]

_log = logging.getLogger(__name__)

AUTOVOID_AFTER_S = 55.0
"""The terminal autovoids when the fund has not answered in 55 s (seeds/004)."""
QUESTION_TIMEOUT_S = 120.0
"""An unanswered patient-approval question voids the claim after 120 s (OUR CHOICE)."""
PAIRING_TIMEOUT_S = 90.0
"""Pairing fails when nobody presses "Authorise POS" within 90 s (reference §3)."""
_READ_DELAY_S = 0.2
_PRINT_DELAY_S = 0.2
_BASE_REF_TAG = 2120600

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
        self.terminal: _Terminal | None = None
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


class _Terminal:
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
        self.ref_tags = 0

    @property
    def paired(self) -> bool:
        return self.integration_key is not None

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
        self._terminals: dict[tuple[int, int], _Terminal] = {}
        self._counter = 0
        self._keys = 0

    # ------------------------------------------------------------------ control API

    async def reset(self) -> None:
        """Forget ledger, scenarios, terminals (pairings included) and counters."""
        await self.close()
        self._terminals.clear()
        self.ledger.clear()
        self.scenarios.clear()
        self._counter = 0
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
        key = self._hash(f"key:{mid}:{tid}:{self._keys}")[:32]
        terminal.integration_key = key
        terminal.authorised.set()
        return {"status": "success", "message": "Paired", "integrationKey": key}

    # ------------------------------------------------------------------ link frames

    def detach(self, session: Session) -> None:
        """The link closed: stop sending to it (the transaction carries on)."""
        session.closed = True
        for terminal in self._terminals.values():
            terminal.subscribers.discard(session)

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
            key = params.get("integrationKey") if isinstance(params.get("integrationKey"), str) else None
        elif session.last_terminal is not None:
            mid, tid, key = session.last_terminal
        terminal = self._terminals.get((mid, tid)) if mid is not None and tid is not None else None
        paired = terminal is not None and terminal.paired and (key is None or key == terminal.integration_key)
        result = {"mid": mid, "tid": tid, "paired": paired, "posProductData": session.pos_product_data}
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

    def _paired_terminal(self, params: Mapping[str, Any]) -> _Terminal:
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
            job = self._run_purchase(terminal, kind, request, scenario)
        else:
            job = self._run_health(terminal, kind, request, scenario)
        terminal.task = asyncio.create_task(
            self._guard(terminal, job),
            name=f"claimbridge-sim[{terminal.mid}/{terminal.tid}].{kind.value}",
        )

    async def _guard(self, terminal: _Terminal, job: Awaitable[None]) -> None:
        try:
            await job
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("simulated transaction crashed on %s/%s", terminal.mid, terminal.tid)
            terminal.machine.state = State.IDLE
            await self._finish(terminal, {"result": "SYSTEM ERROR"}, drop=False)

    async def _continue(self, session: Session, terminal: _Terminal) -> None:
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

    # ------------------------------------------------------------------ terminal steps

    async def _enter(self, terminal: _Terminal, event: Event, *, line: str | None = None, show: bool = True) -> State:
        state = terminal.machine.fire(event)
        assert terminal.log is not None and terminal.log.kind is not None
        text = line if line is not None else status_line(terminal.log.kind, state)
        if show and text is not None:
            await self._status(terminal, text)
        return state

    async def _status(self, terminal: _Terminal, text: str) -> None:
        assert terminal.log is not None
        terminal.log.statuses.append(text)
        await terminal.broadcast("transactionStatus", text)

    async def _finish(
        self, terminal: _Terminal, final: dict[str, Any], *, drop: bool, receipt: Frame | None = None
    ) -> None:
        log = terminal.log
        assert log is not None
        log.question = None
        log.final = final
        log.dropped = drop
        if terminal.machine.state is not State.IDLE:
            terminal.machine.fire(Event.DONE)
        if not drop:
            if receipt is not None:
                await terminal.broadcast("receiptReceived", receipt)
            await terminal.broadcast("transactionComplete", final)
        for session in terminal.subscribers:
            if session.terminal is terminal:
                session.terminal = None
        terminal.subscribers = set()

    async def _present_card(self, terminal: _Terminal, scenario: Scenario) -> bool:
        """Wait for the card; False if the operator aborted first."""
        delay = (scenario.card_delay_ms if scenario.card_delay_ms is not None else DEFAULT_CARD_DELAY_MS) / 1000
        if await self.clock.wait_event(terminal.abort, delay):
            terminal.machine.fire(Event.ABORT)
            return False
        await self._enter(terminal, Event.CARD_PRESENTED)
        if await self.clock.wait_event(terminal.abort, _READ_DELAY_S):
            terminal.machine.fire(Event.ABORT)
            return False
        return True

    def _hash(self, text: str) -> str:
        return hashlib.sha256(f"claimbridge-sim:{self.seed}:{text}".encode()).hexdigest()

    def _next_transaction_id(self, terminal: _Terminal) -> str:
        self._counter += 1
        return self._hash(f"txn:{terminal.mid}:{terminal.tid}:{self._counter}")[:36]

    def _next_ref_tag(self, terminal: _Terminal) -> str:
        terminal.ref_tags += 1
        return f"{(_BASE_REF_TAG + terminal.ref_tags) % 10_000_000:07d}"

    def _record(
        self,
        terminal: _Terminal,
        kind: LedgerKind,
        status: str,
        *,
        ref_tag: str | None,
        transaction_id: str,
        total: int,
        adjudication: Adjudication | None,
        **extra: Any,
    ) -> None:
        self.ledger.add(
            LedgerRecord(
                ref_tag=ref_tag,
                transaction_id=transaction_id,
                mid=terminal.mid,
                tid=terminal.tid,
                kind=kind,
                status=status,
                total_claim_amount=total,
                total_benefit=adjudication.total_benefit if adjudication else 0,
                items=items_json(adjudication),
                at=self.clock.now(),
                extra=extra,
            )
        )

    # ------------------------------------------------------------------ HealthPoint

    async def _run_health(
        self, terminal: _Terminal, kind: TransactionKind, request: ClaimRequest, scenario: Scenario
    ) -> None:
        assert terminal.log is not None
        await self._status(terminal, status_line(kind, State.AWAITING_CARD) or "")
        if not await self._present_card(terminal, scenario):
            await self._finish(terminal, {"result": "CANCELLED"}, drop=scenario.drop_response)
            return
        card = scenario.card or self.reference.test_card
        fund = self.reference.fund_for(card)
        await self._enter(terminal, Event.CARD_READ)
        await self._status(terminal, WAITING_FOR_FUND)
        transaction_id = request.transaction_id or self._next_transaction_id(terminal)
        if kind is TransactionKind.CANCEL:
            await self._run_cancel(terminal, request, scenario, card, fund, transaction_id)
            return
        ref_tag = self._next_ref_tag(terminal)
        magic = claim_magic(request.total_claim_amount)
        if scenario.fund_delay_ms is not None:
            delay = scenario.fund_delay_ms / 1000
        elif magic.fund_delay_s is not None:
            delay = magic.fund_delay_s
        else:
            delay = DEFAULT_FUND_DELAY_MS / 1000
        autovoid_error = scenario.autovoid_error or magic.autovoid_error
        if scenario.result == "UNKNOWN" and autovoid_error is None:
            autovoid_error = 1015
        silent = magic.fund_silent or scenario.result in ("REVERSED", "UNKNOWN") or autovoid_error is not None
        force = scenario.result if scenario.result in ("APPROVED", "DECLINED") else None
        adjudication = adjudicate(
            request,
            card,
            fund,
            self.reference,
            item_codes=scenario.item_response_codes,
            phf_code=scenario.phf_response_code or magic.phf_code,
            force_result=force,
            loyalty_bonus=scenario.loyalty_bonus(),
        )
        ledger_kind: LedgerKind = "rebateEstimate" if kind is TransactionKind.REBATE_ESTIMATE else "claim"

        def respond(result: str, settles: bool = True) -> dict[str, Any]:
            return claim_response(
                result=result,
                request=request,
                adjudication=adjudication,
                reference=self.reference,
                fund=fund,
                card=card,
                ref_tag=ref_tag,
                transaction_id=transaction_id,
                now=self.clock.now(),
                settles=settles and kind is TransactionKind.CLAIM,
            )

        def remember(standing: Any) -> None:
            self.ledger.remember(
                terminal.mid,
                terminal.tid,
                OriginalClaim(request, standing, self.clock.now(), card, adjudication, transaction_id, ref_tag),
                fund.name if fund else "",
            )

        if scenario.result == "SYSTEM ERROR":
            await self.clock.sleep(delay)
            final = {"result": "SYSTEM ERROR", "transactionId": transaction_id,
                     "healthpointErrorCode": "93", "healthpointErrorDescription": "SYSTEM PROBLEM"}
            await self._finish(terminal, final, drop=scenario.drop_response)
            return
        if silent or delay > AUTOVOID_AFTER_S:
            await self.clock.sleep(AUTOVOID_AFTER_S)
            status = "APPROVED" if adjudication.approved else "DECLINED"
            self._record(terminal, ledger_kind, status, ref_tag=ref_tag, transaction_id=transaction_id,
                         total=request.total_claim_amount, adjudication=adjudication,
                         fundId=card.fund_id, providerId=request.provider_id,
                         phfResponseCode=adjudication.phf_code, late=True)
            await self._enter(terminal, Event.FUND_SILENT, line=AUTOVOIDING)
            await self.clock.sleep(_PRINT_DELAY_S)
            if autovoid_error is not None:
                self._record(terminal, "autovoid", "FAILED", ref_tag=ref_tag, transaction_id=transaction_id,
                             total=request.total_claim_amount, adjudication=None,
                             errorCode=str(autovoid_error))
                remember("unknown" if adjudication.approved else "declined")
                final = respond("UNKNOWN", settles=False)
                for key in list(final):
                    if key.startswith("healthpoint") and key not in (
                        "healthpointRefTag", "healthpointTerminalDateTime", "healthpointProviderId",
                        "healthpointServiceType", "healthpointMemberNumber",
                        "healthpointHealthFundName", "healthpointHealthFundIdentifyingDigits"):
                        del final[key]
                final["healthpointErrorCode"] = str(autovoid_error)
                final["healthpointErrorDescription"] = autovoid_error_text(
                    autovoid_error, self.reference, ref_tag=ref_tag, now=self.clock.now()
                )
            else:
                self._record(terminal, "autovoid", "AUTOVOIDED", ref_tag=ref_tag, transaction_id=transaction_id,
                             total=request.total_claim_amount, adjudication=None)
                remember("autovoided")
                final = claim_response(
                    result="REVERSED", request=request, adjudication=None, reference=self.reference,
                    fund=fund, card=card, ref_tag=ref_tag, transaction_id=transaction_id,
                    now=self.clock.now(),
                )
                final["healthpointErrorDescription"] = AUTOVOID_DESCRIPTION
            terminal.log.receipt_lines = claim_receipt_lines("autovoid", final)
            await self._finish(terminal, final, drop=scenario.drop_response)
            return
        await self.clock.sleep(delay)
        status = "APPROVED" if adjudication.approved else "DECLINED"
        self._record(terminal, ledger_kind, status, ref_tag=ref_tag, transaction_id=transaction_id,
                     total=request.total_claim_amount, adjudication=adjudication,
                     fundId=card.fund_id, providerId=request.provider_id,
                     phfResponseCode=adjudication.phf_code)
        if kind is TransactionKind.REBATE_ESTIMATE or not adjudication.approved:
            remember("estimate" if kind is TransactionKind.REBATE_ESTIMATE else "declined")
            await self._enter(terminal, Event.FUND_FINAL, show=adjudication.approved)
            final = respond(status)
            terminal.log.receipt_lines = claim_receipt_lines(ledger_kind, final)
            await self.clock.sleep(_PRINT_DELAY_S)
            await self._finish(terminal, final, drop=scenario.drop_response)
            return
        remember("pending")
        state = await self._enter(terminal, Event.FUND_APPROVED)
        accepted = False
        if state is State.AWAITING_ANSWER:
            question = approval_question(adjudication)
            terminal.log.question = question
            await terminal.broadcast("question", question)
            timeout = (
                scenario.answer_timeout_ms / 1000
                if scenario.answer_timeout_ms is not None
                else QUESTION_TIMEOUT_S
            )
            answered = await self._wait_answer(terminal, timeout)
            terminal.log.question = None
            if answered == "ACCEPT":
                accepted = True
                await self._enter(terminal, Event.ACCEPT)
            elif answered is None:
                await self._enter(terminal, Event.QUESTION_TIMEOUT)
            elif answered == "REJECT":
                await self._enter(terminal, Event.REJECT)
            else:
                await self._enter(terminal, Event.ABORT)
        if accepted:
            self.ledger.set_standing(terminal.mid, terminal.tid, ref_tag, "accepted")
            final = respond("APPROVED")
        else:
            self._record(terminal, "void", "VOIDED", ref_tag=ref_tag, transaction_id=transaction_id,
                         total=request.total_claim_amount, adjudication=adjudication)
            self.ledger.set_standing(terminal.mid, terminal.tid, ref_tag, "voided")
            final = respond("CANCELLED", settles=False)
        terminal.log.receipt_lines = claim_receipt_lines("claim", final)
        await self.clock.sleep(_PRINT_DELAY_S)
        await self._finish(terminal, final, drop=scenario.drop_response)

    async def _wait_answer(self, terminal: _Terminal, timeout: float) -> str | None:
        """The approval answer: "ACCEPT", "REJECT", "ABORT" (operator cancel) or None."""
        both = asyncio.Event()

        async def relay(source: asyncio.Event) -> None:
            await source.wait()
            both.set()

        relays = [asyncio.ensure_future(relay(terminal.answer)), asyncio.ensure_future(relay(terminal.abort))]
        try:
            if not await self.clock.wait_event(both, timeout):
                return None
        finally:
            for task in relays:
                task.cancel()
        if terminal.answer.is_set():
            return terminal.answer_label
        return "ABORT"

    async def _run_cancel(
        self,
        terminal: _Terminal,
        request: ClaimRequest,
        scenario: Scenario,
        card: Card,
        fund: Fund | None,
        transaction_id: str,
    ) -> None:
        assert terminal.log is not None and request.ref_tag is not None
        delay = (scenario.fund_delay_ms if scenario.fund_delay_ms is not None else DEFAULT_FUND_DELAY_MS) / 1000
        await self.clock.sleep(min(delay, AUTOVOID_AFTER_S))
        now = self.clock.now()
        original = self.ledger.claim(terminal.mid, terminal.tid, request.ref_tag)
        outcome = cancel_outcome(request, original, card, now)
        adjudication = original.adjudication if original is not None else None
        if outcome.cancelled and outcome.original is not None:
            self.ledger.set_standing(terminal.mid, terminal.tid, request.ref_tag, "cancelled")
        self._record(terminal, "cancel", "CANCELLED" if outcome.cancelled else "DECLINED",
                     ref_tag=request.ref_tag, transaction_id=transaction_id,
                     total=request.total_claim_amount, adjudication=adjudication,
                     phfResponseCode=outcome.phf_code,
                     originalTransactionId=original.transaction_id if original else None)
        await self._enter(terminal, Event.FUND_FINAL, show=outcome.cancelled)
        final = claim_response(
            result="CANCELLED" if outcome.cancelled else "DECLINED",
            request=request,
            adjudication=adjudication if outcome.cancelled else None,
            reference=self.reference,
            fund=fund,
            card=card,
            ref_tag=request.ref_tag,
            transaction_id=transaction_id,
            now=now,
            settles=False,
        )
        final.pop("healthpointGapAmount", None)
        final["healthpointPhfResponseCode"] = outcome.phf_code
        final["healthpointPhfResponseCodeDescription"] = (
            "CANCELLED" if outcome.cancelled else self.reference.claim_text(outcome.phf_code)
        )
        if not outcome.cancelled:
            final["healthpointClaimItems"] = [
                {**i.wire(), "serviceCode": i.service_code.zfill(5), "rebateAmount": "0",
                 "responseCode": outcome.phf_code,
                 "responseCodeDescription": self.reference.claim_text(outcome.phf_code)}
                for i in request.items
            ]
            final["healthpointTotalBenefitAmount"] = "0"
        terminal.log.receipt_lines = claim_receipt_lines("cancel", final)
        await self.clock.sleep(_PRINT_DELAY_S)
        await self._finish(terminal, final, drop=scenario.drop_response)

    # ------------------------------------------------------------------ card payments

    async def _run_purchase(
        self, terminal: _Terminal, kind: TransactionKind, request: PurchaseRequest, scenario: Scenario
    ) -> None:
        assert terminal.log is not None
        await self._status(terminal, status_line(kind, State.AWAITING_CARD) or "")
        if not await self._present_card(terminal, scenario):
            await self._finish(terminal, {"result": "CANCELLED"}, drop=scenario.drop_response)
            return
        await self._enter(terminal, Event.CARD_READ)
        delay = (scenario.fund_delay_ms if scenario.fund_delay_ms is not None else DEFAULT_FUND_DELAY_MS) / 1000
        await self.clock.sleep(min(delay, AUTOVOID_AFTER_S))
        magic = purchase_magic(request.amount)
        result = magic.result or "APPROVED"
        link = request.healthpoint_transaction_id
        if link is not None and kind is TransactionKind.PURCHASE:
            claim = self.ledger.claim_by_transaction(terminal.mid, terminal.tid, link)
            remaining = 0
            if claim is not None and claim.standing == "accepted" and claim.adjudication is not None:
                remaining = claim.adjudication.gap - self.ledger.gap_paid(terminal.mid, terminal.tid, link)
            result = "APPROVED" if claim is not None and claim.standing == "accepted" and request.amount <= remaining else "DECLINED"
        if scenario.result in ("APPROVED", "DECLINED"):
            result = scenario.result
        transaction_id = request.transaction_id or self._next_transaction_id(terminal)
        number = self._counter
        final: dict[str, Any] = {
            "result": result,
            "transactionId": transaction_id,
            "transactionReference": f"{number % 1_000_000:06d}",
            "authorisationCode": f"{int(self._hash(f'auth:{number}')[:8], 16) % 1_000_000:06d}" if result == "APPROVED" else "",
            "elidedPan": "XXXXXXXXXXXX" + f"{int(self._hash(f'pan:{number}')[:8], 16) % 10_000:04d}",
            "rrn": f"{int(self._hash(f'rrn:{number}')[:12], 16) % 10**12:012d}",
            "cardType": magic.card_type,
        }
        self._record(terminal, "refund" if kind is TransactionKind.REFUND else "purchase", result,
                     ref_tag=None, transaction_id=transaction_id, total=0, adjudication=None,
                     amount=request.amount, cashout=request.cashout,
                     healthpointTransactionId=link, cardType=magic.card_type)
        await self._enter(terminal, Event.FUND_FINAL, line=result)
        lines = [
            "MERCHANT COPY".center(32),
            ("REFUND" if kind is TransactionKind.REFUND else "PURCHASE") + f"{format_money(request.amount):>24}",
            f"{magic.card_type} {final['elidedPan']}",
            f"REF {final['transactionReference']}  RRN {final['rrn']}",
            format_terminal_datetime(self.clock.now()),
            result.center(32),
        ]
        terminal.log.receipt_lines = lines
        receipt = None
        if request.integrated_receipt:
            receipt = {"signatureRequired": magic.signature and result == "APPROVED",
                       "merchantReceipt": "\n".join(lines)}
        await self._finish(terminal, final, drop=scenario.drop_response, receipt=receipt)

    # ------------------------------------------------------------------ pairing & queries

    async def _pair(self, session: Session, params: Mapping[str, Any]) -> None:
        mid, tid = _int(params.get("mid")), _int(params.get("tid"))
        if mid is None or tid is None:
            await session.notify("pairingStatus", {"status": "failure", "message": "MID and TID are required"})
            return
        terminal = self._terminals.setdefault((mid, tid), _Terminal(mid, tid))
        if terminal.machine.busy:
            await session.notify("pairingStatus", {"status": "failure", "message": "Terminal is busy."})
            return
        terminal.machine.fire(Event.PAIR_START)
        terminal.authorised.clear()
        terminal.task = asyncio.create_task(
            self._pairing(session, terminal), name=f"claimbridge-sim[{mid}/{tid}].pairing"
        )

    async def _pairing(self, session: Session, terminal: _Terminal) -> None:
        await session.notify(
            "pairingStatus", {"status": "inProgress", "message": "Press Authorise POS on the terminal"}
        )
        try:
            ok = await self.clock.wait_event(terminal.authorised, PAIRING_TIMEOUT_S)
        finally:
            if terminal.machine.state is State.PAIRING:
                terminal.machine.fire(Event.DONE)
        if not ok:
            await session.notify("pairingStatus", {"status": "failure", "message": "Pairing timed out"})
            return
        key = terminal.integration_key
        session.last_terminal = (terminal.mid, terminal.tid, key)
        await session.emit(
            {"op": "store", "key": "pairing", "value": {"mid": terminal.mid, "tid": terminal.tid, "integrationKey": key}}
        )
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
                await session.notify(answer, {"result": "failure", "healthpointErrorCode": "401",
                                              "healthpointErrorDescription": text})
            else:
                await session.notify(answer, {"result": "failure", "error": text})
            return
        if method == "terminalInfo":
            await session.notify(answer, {"status": "success", "terminalInfo": {
                "mid": terminal.mid, "tid": terminal.tid, "terminalId": terminal.terminal_id, "model": "Sim"}})
            return
        if method == "reconciliationReport":
            await session.notify(answer, {"result": "failure", "error": "Not supported by the simulator"})
            return
        await session.notify(answer, self.healthpoint_report(terminal, params))

    def healthpoint_report(self, terminal: _Terminal, params: Mapping[str, Any]) -> dict[str, Any]:
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
            return {"result": "failure", "healthpointErrorCode": "400",
                    "healthpointErrorDescription": str(InvalidRequest(problems))}
        today = sydney_date(self.clock.now())
        data = unavailable_report_xml()
        if report_type == "claims" and day <= today:
            claims = self.ledger.recon_claims(terminal.mid, terminal.tid, day)
            if claims:
                data = claims_report_xml(terminal.terminal_id, day, claims)
        elif report_type == "payments" and day <= today:
            lines = self.ledger.payments(terminal.mid, terminal.tid, day, self.reference)
            if lines:
                data = payments_report_xml(terminal.terminal_id, day, lines)
        return {"result": "success", "data": data}

