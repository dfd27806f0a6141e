"""The simulated claim and rebate estimate: the fund adjudicates, the terminal autovoids a
claim the fund leaves unanswered for 55 s, and an approved claim asks the patient.

Every decision comes from the pure modules (``terminal`` table, ``healthpoint`` rules,
``scenarios``, ``ledger``); the steps and the shared state are :mod:`~simulator.transactions.steps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simulator.healthpoint import (
    AUTOVOID_DESCRIPTION,
    Adjudication,
    ClaimRequest,
    ClaimStanding,
    OriginalClaim,
    adjudicate,
    approval_question,
    autovoid_error_text,
    claim_receipt_lines,
    claim_response,
)
from simulator.healthpoint.funds import Card, Fund
from simulator.ledger import LedgerKind
from simulator.scenarios import Scenario, plan_fund
from simulator.sessions import TerminalRuntime
from simulator.terminal import AUTOVOIDING, Event, State, TransactionKind, TransactionLog
from simulator.transactions.steps import AUTOVOID_AFTER_S, PRINT_DELAY_S, TerminalSteps

__all__ = ["QUESTION_TIMEOUT_S", "ClaimFlow"]

QUESTION_TIMEOUT_S = 120.0
"""An unanswered patient-approval question voids the claim after 120 s (OUR CHOICE)."""

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


@dataclass(slots=True)
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
    #: When the fund took the claim (its answer): the transaction's terminal time and the day
    #: its settlement and same-day cancel count from, even when the patient accepts later.
    fund_at: datetime | None = None

    @property
    def log(self) -> TransactionLog:
        return self.terminal.current_log()

    @property
    def ledger_kind(self) -> LedgerKind:
        return "rebateEstimate" if self.kind is TransactionKind.REBATE_ESTIMATE else "claim"


class ClaimFlow:
    """``transaction`` (a claim) and ``rebateEstimate`` on one terminal.

    Args:
        steps: the shared steps, clock, reference and ledger.
    """

    def __init__(self, steps: TerminalSteps) -> None:
        self.steps = steps

    async def run(self, terminal: TerminalRuntime, kind: TransactionKind, request: ClaimRequest, scenario: Scenario) -> None:
        """Run a claim or rebate estimate to its final answer."""
        read = await self.steps.read_health_card(terminal, kind, request, scenario)
        if read is None:
            return
        card, fund, transaction_id = read
        plan = plan_fund(request.total_claim_amount, scenario)
        claim = _Claim(
            terminal=terminal,
            kind=kind,
            request=request,
            scenario=scenario,
            card=card,
            fund=fund,
            ref_tag=self.steps.next_ref_tag(terminal),
            transaction_id=transaction_id,
            adjudication=adjudicate(
                request,
                card,
                fund,
                self.steps.reference,
                item_codes=scenario.item_response_codes,
                phf_code=plan.phf_code,
                force_result=plan.force_result,
                loyalty_bonus=scenario.loyalty_bonus(),
            ),
        )
        if plan.system_error:
            await self.steps.clock.sleep(plan.delay_s)
            final = {
                "result": "SYSTEM ERROR",
                "transactionId": transaction_id,
                "healthpointErrorCode": "93",
                "healthpointErrorDescription": "SYSTEM PROBLEM",
            }
            await self.steps.finish(terminal, final, drop=scenario.drop_response)
        elif plan.autovoids(AUTOVOID_AFTER_S):
            await self.steps.clock.sleep(AUTOVOID_AFTER_S)
            await self._autovoid(claim, plan.autovoid_error)
        else:
            await self.steps.clock.sleep(plan.delay_s)
            await self._fund_answered(claim)

    def _respond(
        self, claim: _Claim, result: str, *, settles: bool = True, adjudicated: bool = True
    ) -> dict[str, Any]:
        """The claim's transactionComplete response; ``adjudicated=False`` when the fund never answered."""
        return claim_response(
            result=result,
            request=claim.request,
            adjudication=claim.adjudication if adjudicated else None,
            reference=self.steps.reference,
            fund=claim.fund,
            card=claim.card,
            ref_tag=claim.ref_tag,
            transaction_id=claim.transaction_id,
            now=claim.fund_at or self.steps.clock.now(),
            settles=settles and claim.kind is TransactionKind.CLAIM,
        )

    def _remember(self, claim: _Claim, standing: ClaimStanding) -> None:
        original = OriginalClaim(
            claim.request,
            standing,
            self.steps.clock.now(),
            claim.card,
            claim.adjudication,
            claim.transaction_id,
            claim.ref_tag,
        )
        name = claim.fund.name if claim.fund else ""
        self.steps.ledger.remember(claim.terminal.mid, claim.terminal.tid, original, name)

    def _record_claim(self, claim: _Claim, **extra: Any) -> None:
        adjudication = claim.adjudication
        claim.fund_at = self.steps.clock.now()
        self.steps.record(
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
        await self.steps.enter(terminal, Event.FUND_SILENT, line=AUTOVOIDING)
        await self.steps.clock.sleep(PRINT_DELAY_S)
        # The ledger row: FAILED with the void's error code when the void itself failed.
        self.steps.record(
            terminal,
            "autovoid",
            "FAILED" if error is not None else "AUTOVOIDED",
            ref_tag=claim.ref_tag,
            transaction_id=claim.transaction_id,
            total=claim.request.total_claim_amount,
            adjudication=None,
            **({"errorCode": str(error)} if error is not None else {}),
        )
        if error is not None:
            self._remember(claim, "unknown" if claim.adjudication.approved else "declined")
            final = self._respond(claim, "UNKNOWN", settles=False)
            for key in list(final):
                if key.startswith("healthpoint") and key not in _UNKNOWN_KEEPS:
                    del final[key]
            final["healthpointErrorCode"] = str(error)
            final["healthpointErrorDescription"] = autovoid_error_text(
                error, self.steps.reference, ref_tag=claim.ref_tag, now=self.steps.clock.now()
            )
        else:
            self._remember(claim, "autovoided")
            final = self._respond(claim, "REVERSED", adjudicated=False)
            final["healthpointErrorDescription"] = AUTOVOID_DESCRIPTION
        log.receipt_lines = claim_receipt_lines("autovoid", final)
        await self.steps.finish(terminal, final, drop=claim.scenario.drop_response)

    async def _fund_answered(self, claim: _Claim) -> None:
        """The fund answered in time: finish a decline or estimate, or ask the patient."""
        terminal, log, adjudication = claim.terminal, claim.log, claim.adjudication
        self._record_claim(claim)
        estimate = claim.kind is TransactionKind.REBATE_ESTIMATE
        if estimate or not adjudication.approved:
            self._remember(claim, "estimate" if estimate else "declined")
            await self.steps.enter(terminal, Event.FUND_FINAL, show=adjudication.approved)
            final = self._respond(claim, "APPROVED" if adjudication.approved else "DECLINED")
            log.receipt_lines = claim_receipt_lines(claim.ledger_kind, final)
            await self.steps.clock.sleep(PRINT_DELAY_S)
            await self.steps.finish(terminal, final, drop=claim.scenario.drop_response)
            return
        self._remember(claim, "pending")
        state = await self.steps.enter(terminal, Event.FUND_APPROVED)
        accepted = False
        if state is State.AWAITING_ANSWER:  # not aborted while at the fund
            question = approval_question(adjudication)
            log.question = question
            await terminal.broadcast("question", question)
            timeout_ms = claim.scenario.answer_timeout_ms
            timeout = timeout_ms / 1000 if timeout_ms is not None else QUESTION_TIMEOUT_S
            answer = await terminal.wait_answer(timeout)
            log.question = None
            accepted = answer == "ACCEPT"
            await self.steps.enter(terminal, _ANSWER_EVENTS[answer])
        if accepted:
            self.steps.ledger.set_standing(terminal.mid, terminal.tid, claim.ref_tag, "accepted")
            final = self._respond(claim, "APPROVED")
        else:
            self.steps.record(
                terminal,
                "void",
                "VOIDED",
                ref_tag=claim.ref_tag,
                transaction_id=claim.transaction_id,
                total=claim.request.total_claim_amount,
                adjudication=adjudication,
            )
            self.steps.ledger.set_standing(terminal.mid, terminal.tid, claim.ref_tag, "voided")
            final = self._respond(claim, "CANCELLED", settles=False)
        log.receipt_lines = claim_receipt_lines("claim", final)
        await self.steps.clock.sleep(PRINT_DELAY_S)
        await self.steps.finish(terminal, final, drop=claim.scenario.drop_response)
