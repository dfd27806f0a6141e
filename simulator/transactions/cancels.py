"""The simulated cancel of a claim: the fund looks the original up by refTag and cancels it
when the pure rules (:func:`simulator.healthpoint.cancel_outcome`) allow it, else declines.
"""

from __future__ import annotations

from simulator.healthpoint import ClaimRequest, cancel_outcome, claim_receipt_lines, claim_response
from simulator.scenarios import Scenario
from simulator.sessions import TerminalRuntime
from simulator.terminal import Event, TransactionKind
from simulator.transactions.steps import PRINT_DELAY_S, TerminalSteps, fund_delay

__all__ = ["CancelFlow"]


class CancelFlow:
    """``transaction`` with ``transactionType: cancel`` on one terminal.

    Args:
        steps: the shared steps, clock, reference and ledger.
    """

    def __init__(self, steps: TerminalSteps) -> None:
        self.steps = steps

    async def run(self, terminal: TerminalRuntime, request: ClaimRequest, scenario: Scenario) -> None:
        """Run a cancel to its final answer."""
        read = await self.steps.read_health_card(terminal, TransactionKind.CANCEL, request, scenario)
        if read is None:
            return
        card, fund, transaction_id = read
        # Validation requires a refTag for a cancel; were one missing, it would match no claim.
        ref_tag = request.ref_tag or ""
        await self.steps.clock.sleep(fund_delay(scenario))
        now = self.steps.clock.now()
        original = self.steps.ledger.claim(terminal.mid, terminal.tid, ref_tag)
        outcome = cancel_outcome(request, original, card, now)
        adjudication = original.adjudication if original is not None else None
        if outcome.cancelled and outcome.original is not None:
            self.steps.ledger.set_standing(terminal.mid, terminal.tid, ref_tag, "cancelled")
        self.steps.record(
            terminal,
            "cancel",
            "CANCELLED" if outcome.cancelled else "DECLINED",
            ref_tag=ref_tag,
            transaction_id=transaction_id,
            total=request.total_claim_amount,
            adjudication=adjudication,
            phfResponseCode=outcome.phf_code,
            originalTransactionId=original.transaction_id if original else None,
        )
        await self.steps.enter(terminal, Event.FUND_FINAL, show=outcome.cancelled)
        final = claim_response(
            result="CANCELLED" if outcome.cancelled else "DECLINED",
            request=request,
            adjudication=adjudication if outcome.cancelled else None,
            reference=self.steps.reference,
            fund=fund,
            card=card,
            ref_tag=ref_tag,
            transaction_id=transaction_id,
            now=now,
            settles=False,
        )
        final.pop("healthpointGapAmount", None)
        final["healthpointPhfResponseCode"] = outcome.phf_code
        final["healthpointPhfResponseCodeDescription"] = (
            "CANCELLED" if outcome.cancelled else self.steps.reference.claim_text(outcome.phf_code)
        )
        if not outcome.cancelled:
            text = self.steps.reference.claim_text(outcome.phf_code)
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
        terminal.current_log().receipt_lines = claim_receipt_lines("cancel", final)
        await self.steps.clock.sleep(PRINT_DELAY_S)
        await self.steps.finish(terminal, final, drop=scenario.drop_response)
