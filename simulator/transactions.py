"""The transactions of the simulated terminals: claim, rebate estimate, cancel, purchase.

Each runs as one task per terminal on the :class:`~simulator.clock.Clock`; every decision
comes from the pure modules (``terminal`` table, ``healthpoint`` rules, ``scenarios``,
``ledger``). The only I/O is time and the frames sent to the listening links, whose
sessions and terminal state are :mod:`simulator.sessions`.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

from simulator.clock import Clock
from simulator.healthpoint.funds import Card, Fund, Reference
from simulator.healthpoint import (
    AUTOVOID_DESCRIPTION,
    Adjudication,
    ClaimRequest,
    ClaimStanding,
    OriginalClaim,
    PurchaseRequest,
    adjudicate,
    approval_question,
    autovoid_error_text,
    cancel_outcome,
    claim_receipt_lines,
    claim_response,
    gap_payment_allowed,
)
from simulator.ledger import Ledger, LedgerKind, LedgerRecord, items_json
from simulator.receipts import PaymentSlip, payment_receipt
from simulator.scenarios import (
    DEFAULT_CARD_DELAY_MS,
    DEFAULT_FUND_DELAY_MS,
    Scenario,
    plan_fund,
    purchase_magic,
)
from simulator.sessions import Frame, Session, TerminalRuntime
from simulator.terminal import (
    AUTOVOIDING,
    WAITING_FOR_FUND,
    Event,
    State,
    TransactionKind,
    TransactionLog,
    status_line,
)

__all__ = [
    "AUTOVOID_AFTER_S",
    "QUESTION_TIMEOUT_S",
    "TransactionFlows",
]

AUTOVOID_AFTER_S = 55.0
"""The terminal autovoids when the fund has not answered in 55 s (seeds/004)."""
QUESTION_TIMEOUT_S = 120.0
"""An unanswered patient-approval question voids the claim after 120 s (OUR CHOICE)."""
_READ_DELAY_S = 0.2
_PRINT_DELAY_S = 0.2
_BASE_REF_TAG = 2120600

_UNKNOWN_KEEPS = frozenset(
    {
        "healthpointRefTag",
        "healthpointTerminalDateTime",
        "healthpointProviderId",
        "healthpointServiceType",
        "healthpointMemberNumber",
        "healthpointHealthFundName",
        "healthpointHealthFundIdentifyingDigits",
    }
)
"""Fields an UNKNOWN (failed autovoid) answer still carries: the fund's answer is unknown."""

_ANSWER_EVENTS: dict[str | None, Event] = {
    "ACCEPT": Event.ACCEPT,
    "REJECT": Event.REJECT,
    "ABORT": Event.ABORT,
    None: Event.QUESTION_TIMEOUT,
}


@dataclass(frozen=True, slots=True)
class _Claim:
    """One claim or rebate estimate in flight on a terminal."""

    terminal: TerminalRuntime
    kind: TransactionKind
    request: ClaimRequest
    scenario: Scenario
    card: Card
    fund: Fund | None
    ref_tag: str
    transaction_id: str
    adjudication: Adjudication

    @property
    def log(self) -> TransactionLog:
        assert self.terminal.log is not None
        return self.terminal.log

    @property
    def ledger_kind(self) -> LedgerKind:
        return "rebateEstimate" if self.kind is TransactionKind.REBATE_ESTIMATE else "claim"


class TransactionFlows:
    """The transaction coroutines; :class:`simulator.runtime.Simulator` provides the state."""

    clock: Clock
    reference: Reference
    ledger: Ledger
    seed: int
    _counter: int
    _payments: int

    # ------------------------------------------------------------------ terminal steps

    async def _enter(
        self,
        terminal: TerminalRuntime,
        event: Event,
        *,
        line: str | None = None,
        show: bool = True,
    ) -> State:
        """Fire ``event`` through the table and show the new state's line (or ``line``)."""
        state = terminal.machine.fire(event)
        assert terminal.log is not None and terminal.log.kind is not None
        text = line if line is not None else status_line(terminal.log.kind, state)
        if show and text is not None:
            await self._status(terminal, text)
        return state

    async def _status(self, terminal: TerminalRuntime, text: str) -> None:
        assert terminal.log is not None
        terminal.log.statuses.append(text)
        await terminal.broadcast("transactionStatus", text)

    async def _finish(
        self,
        terminal: TerminalRuntime,
        final: dict[str, Any],
        *,
        drop: bool,
        receipt: Frame | None = None,
    ) -> None:
        """End the transaction: store the final answer and send it unless dropped."""
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

    async def _present_card(self, terminal: TerminalRuntime, scenario: Scenario) -> bool:
        """Wait for the card; False if the operator aborted first."""
        card_ms = scenario.card_delay_ms
        delay = (card_ms if card_ms is not None else DEFAULT_CARD_DELAY_MS) / 1000
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

    def _next_transaction_id(self, terminal: TerminalRuntime) -> str:
        self._counter += 1
        return self._hash(f"txn:{terminal.mid}:{terminal.tid}:{self._counter}")[:36]

    def _next_ref_tag(self, terminal: TerminalRuntime) -> str:
        terminal.ref_tags += 1
        return f"{(_BASE_REF_TAG + terminal.ref_tags) % 10_000_000:07d}"

    def _record(
        self,
        terminal: TerminalRuntime,
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
        self,
        terminal: TerminalRuntime,
        kind: TransactionKind,
        request: ClaimRequest,
        scenario: Scenario,
    ) -> None:
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
        plan = plan_fund(request.total_claim_amount, scenario)
        claim = _Claim(
            terminal=terminal,
            kind=kind,
            request=request,
            scenario=scenario,
            card=card,
            fund=fund,
            ref_tag=self._next_ref_tag(terminal),
            transaction_id=transaction_id,
            adjudication=adjudicate(
                request,
                card,
                fund,
                self.reference,
                item_codes=scenario.item_response_codes,
                phf_code=plan.phf_code,
                force_result=plan.force_result,
                loyalty_bonus=scenario.loyalty_bonus(),
            ),
        )
        if plan.system_error:
            await self.clock.sleep(plan.delay_s)
            final = {
                "result": "SYSTEM ERROR",
                "transactionId": transaction_id,
                "healthpointErrorCode": "93",
                "healthpointErrorDescription": "SYSTEM PROBLEM",
            }
            await self._finish(terminal, final, drop=scenario.drop_response)
        elif plan.autovoids(AUTOVOID_AFTER_S):
            await self.clock.sleep(AUTOVOID_AFTER_S)
            await self._autovoid(claim, plan.autovoid_error)
        else:
            await self.clock.sleep(plan.delay_s)
            await self._fund_answered(claim)

    def _respond(
        self, claim: _Claim, result: str, *, settles: bool = True, adjudicated: bool = True
    ) -> dict[str, Any]:
        """The claim's transactionComplete response; ``adjudicated=False`` when the fund never answered."""
        return claim_response(
            result=result,
            request=claim.request,
            adjudication=claim.adjudication if adjudicated else None,
            reference=self.reference,
            fund=claim.fund,
            card=claim.card,
            ref_tag=claim.ref_tag,
            transaction_id=claim.transaction_id,
            now=self.clock.now(),
            settles=settles and claim.kind is TransactionKind.CLAIM,
        )

    def _remember(self, claim: _Claim, standing: ClaimStanding) -> None:
        original = OriginalClaim(
            claim.request,
            standing,
            self.clock.now(),
            claim.card,
            claim.adjudication,
            claim.transaction_id,
            claim.ref_tag,
        )
        name = claim.fund.name if claim.fund else ""
        self.ledger.remember(claim.terminal.mid, claim.terminal.tid, original, name)

    def _record_claim(self, claim: _Claim, **extra: Any) -> None:
        adjudication = claim.adjudication
        self._record(
            claim.terminal,
            claim.ledger_kind,
            "APPROVED" if adjudication.approved else "DECLINED",
            ref_tag=claim.ref_tag,
            transaction_id=claim.transaction_id,
            total=claim.request.total_claim_amount,
            adjudication=adjudication,
            fundId=claim.card.fund_id,
            providerId=claim.request.provider_id,
            phfResponseCode=adjudication.phf_code,
            **extra,
        )

    async def _autovoid(self, claim: _Claim, error: int | None) -> None:
        """The fund did not answer within 55 s: the terminal voids the claim itself."""
        terminal, log = claim.terminal, claim.log
        self._record_claim(claim, late=True)  # the fund took the claim, too late
        await self._enter(terminal, Event.FUND_SILENT, line=AUTOVOIDING)
        await self.clock.sleep(_PRINT_DELAY_S)
        if error is not None:
            self._record(
                terminal,
                "autovoid",
                "FAILED",
                ref_tag=claim.ref_tag,
                transaction_id=claim.transaction_id,
                total=claim.request.total_claim_amount,
                adjudication=None,
                errorCode=str(error),
            )
            self._remember(claim, "unknown" if claim.adjudication.approved else "declined")
            final = self._respond(claim, "UNKNOWN", settles=False)
            for key in list(final):
                if key.startswith("healthpoint") and key not in _UNKNOWN_KEEPS:
                    del final[key]
            final["healthpointErrorCode"] = str(error)
            final["healthpointErrorDescription"] = autovoid_error_text(
                error, self.reference, ref_tag=claim.ref_tag, now=self.clock.now()
            )
        else:
            self._record(
                terminal,
                "autovoid",
                "AUTOVOIDED",
                ref_tag=claim.ref_tag,
                transaction_id=claim.transaction_id,
                total=claim.request.total_claim_amount,
                adjudication=None,
            )
            self._remember(claim, "autovoided")
            final = self._respond(claim, "REVERSED", adjudicated=False)
            final["healthpointErrorDescription"] = AUTOVOID_DESCRIPTION
        log.receipt_lines = claim_receipt_lines("autovoid", final)
        await self._finish(terminal, final, drop=claim.scenario.drop_response)

    async def _fund_answered(self, claim: _Claim) -> None:
        """The fund answered in time: finish a decline or estimate, or ask the patient."""
        terminal, log, adjudication = claim.terminal, claim.log, claim.adjudication
        self._record_claim(claim)
        estimate = claim.kind is TransactionKind.REBATE_ESTIMATE
        if estimate or not adjudication.approved:
            self._remember(claim, "estimate" if estimate else "declined")
            await self._enter(terminal, Event.FUND_FINAL, show=adjudication.approved)
            final = self._respond(claim, "APPROVED" if adjudication.approved else "DECLINED")
            log.receipt_lines = claim_receipt_lines(claim.ledger_kind, final)
            await self.clock.sleep(_PRINT_DELAY_S)
            await self._finish(terminal, final, drop=claim.scenario.drop_response)
            return
        self._remember(claim, "pending")
        state = await self._enter(terminal, Event.FUND_APPROVED)
        accepted = False
        if state is State.AWAITING_ANSWER:  # not aborted while at the fund
            question = approval_question(adjudication)
            log.question = question
            await terminal.broadcast("question", question)
            timeout_ms = claim.scenario.answer_timeout_ms
            timeout = timeout_ms / 1000 if timeout_ms is not None else QUESTION_TIMEOUT_S
            answer = await self._wait_answer(terminal, timeout)
            log.question = None
            accepted = answer == "ACCEPT"
            await self._enter(terminal, _ANSWER_EVENTS[answer])
        if accepted:
            self.ledger.set_standing(terminal.mid, terminal.tid, claim.ref_tag, "accepted")
            final = self._respond(claim, "APPROVED")
        else:
            self._record(
                terminal,
                "void",
                "VOIDED",
                ref_tag=claim.ref_tag,
                transaction_id=claim.transaction_id,
                total=claim.request.total_claim_amount,
                adjudication=adjudication,
            )
            self.ledger.set_standing(terminal.mid, terminal.tid, claim.ref_tag, "voided")
            final = self._respond(claim, "CANCELLED", settles=False)
        log.receipt_lines = claim_receipt_lines("claim", final)
        await self.clock.sleep(_PRINT_DELAY_S)
        await self._finish(terminal, final, drop=claim.scenario.drop_response)

    async def _wait_answer(self, terminal: TerminalRuntime, timeout: float) -> str | None:
        """The approval answer: "ACCEPT", "REJECT", "ABORT" (operator cancel) or None."""
        both = asyncio.Event()

        async def relay(source: asyncio.Event) -> None:
            await source.wait()
            both.set()

        relays = [asyncio.ensure_future(relay(event)) for event in (terminal.answer, terminal.abort)]
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
        terminal: TerminalRuntime,
        request: ClaimRequest,
        scenario: Scenario,
        card: Card,
        fund: Fund | None,
        transaction_id: str,
    ) -> None:
        assert terminal.log is not None and request.ref_tag is not None
        await self.clock.sleep(_fund_delay(scenario))
        now = self.clock.now()
        original = self.ledger.claim(terminal.mid, terminal.tid, request.ref_tag)
        outcome = cancel_outcome(request, original, card, now)
        adjudication = original.adjudication if original is not None else None
        if outcome.cancelled and outcome.original is not None:
            self.ledger.set_standing(terminal.mid, terminal.tid, request.ref_tag, "cancelled")
        self._record(
            terminal,
            "cancel",
            "CANCELLED" if outcome.cancelled else "DECLINED",
            ref_tag=request.ref_tag,
            transaction_id=transaction_id,
            total=request.total_claim_amount,
            adjudication=adjudication,
            phfResponseCode=outcome.phf_code,
            originalTransactionId=original.transaction_id if original else None,
        )
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
            text = self.reference.claim_text(outcome.phf_code)
            final["healthpointClaimItems"] = [
                {
                    **item.wire(),
                    "serviceCode": item.service_code.zfill(5),
                    "rebateAmount": "0",
                    "responseCode": outcome.phf_code,
                    "responseCodeDescription": text,
                }
                for item in request.items
            ]
            final["healthpointTotalBenefitAmount"] = "0"
        terminal.log.receipt_lines = claim_receipt_lines("cancel", final)
        await self.clock.sleep(_PRINT_DELAY_S)
        await self._finish(terminal, final, drop=scenario.drop_response)

    # ------------------------------------------------------------------ card payments

    async def _run_purchase(
        self,
        terminal: TerminalRuntime,
        kind: TransactionKind,
        request: PurchaseRequest,
        scenario: Scenario,
    ) -> None:
        log = terminal.log
        assert log is not None
        await self._status(terminal, status_line(kind, State.AWAITING_CARD) or "")
        if not await self._present_card(terminal, scenario):
            await self._finish(terminal, {"result": "CANCELLED"}, drop=scenario.drop_response)
            return
        await self._enter(terminal, Event.CARD_READ)
        await self.clock.sleep(_fund_delay(scenario))
        magic = purchase_magic(request.amount)
        result = magic.result or "APPROVED"
        link = request.healthpoint_transaction_id
        if link is not None and kind is TransactionKind.PURCHASE:
            claim = self.ledger.claim_by_transaction(terminal.mid, terminal.tid, link)
            paid = self.ledger.gap_paid(terminal.mid, terminal.tid, link)
            result = "APPROVED" if gap_payment_allowed(claim, request.amount, paid) else "DECLINED"
        if scenario.result == "APPROVED" or scenario.result == "DECLINED":
            result = scenario.result
        transaction_id = request.transaction_id or self._next_transaction_id(terminal)
        self._payments += 1
        number = self._payments
        final: dict[str, Any] = {
            "result": result,
            "transactionId": transaction_id,
            "transactionReference": f"{number % 1_000_000:06d}",
            "authorisationCode": (
                f"{self._digits(f'auth:{number}', 6)}" if result == "APPROVED" else ""
            ),
            "elidedPan": "XXXXXXXXXXXX" + self._digits(f"pan:{number}", 4),
            "rrn": self._digits(f"rrn:{number}", 12),
            "cardType": magic.card_type,
        }
        self._record(
            terminal,
            "refund" if kind is TransactionKind.REFUND else "purchase",
            result,
            ref_tag=None,
            transaction_id=transaction_id,
            total=0,
            adjudication=None,
            amount=request.amount,
            cashout=request.cashout,
            healthpointTransactionId=link,
            cardType=magic.card_type,
        )
        await self._enter(terminal, Event.FUND_FINAL, line=result)
        slip = PaymentSlip(
            kind="refund" if kind is TransactionKind.REFUND else "purchase",
            amount=request.amount,
            result=result,
            card_type=magic.card_type,
            elided_pan=final["elidedPan"],
            reference=final["transactionReference"],
            rrn=final["rrn"],
            authorisation_code=final["authorisationCode"],
            mid=terminal.mid,
            tid=terminal.tid,
            at=self.clock.now(),
        )
        merchant = payment_receipt(slip, "merchant")
        log.receipt_lines = merchant.split("\n")
        receipt = None
        if request.integrated_receipt:  # receipts only when asked for (reference §2.1 item 8)
            receipt = {"signatureRequired": magic.signature and result == "APPROVED", "merchantReceipt": merchant}
            final["customerReceipt"] = payment_receipt(slip, "customer")  # reference §1.4
        await self._finish(terminal, final, drop=scenario.drop_response, receipt=receipt)

    def _digits(self, text: str, width: int) -> str:
        """Deterministic decimal digits for receipts (STAN, RRN, PAN tail)."""
        return f"{int(self._hash(text)[:16], 16) % 10**width:0{width}d}"


def _fund_delay(scenario: Scenario) -> float:
    """Simulated seconds the fund or bank takes (capped below the autovoid limit)."""
    delay_ms = scenario.fund_delay_ms if scenario.fund_delay_ms is not None else DEFAULT_FUND_DELAY_MS
    return min(delay_ms / 1000, AUTOVOID_AFTER_S)

