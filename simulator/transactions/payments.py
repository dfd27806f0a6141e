"""The simulated card payments: a purchase (a gap payment when it names a HealthPoint
transaction) and a refund, with their receipts.

Results come from the amount's magic cents and the scenario (:mod:`simulator.scenarios`) and, for
a gap payment, from the claim it pays (:func:`simulator.healthpoint.gap_payment_allowed`).
"""

from __future__ import annotations

from typing import Any

from simulator.healthpoint import PurchaseRequest, gap_payment_allowed
from simulator.receipts import PaymentSlip, payment_receipt
from simulator.scenarios import Scenario, purchase_magic
from simulator.sessions import TerminalRuntime
from simulator.terminal import Event, State, TransactionKind, status_line
from simulator.transactions.steps import TerminalSteps, fund_delay

__all__ = ["PaymentFlow"]


class PaymentFlow:
    """``purchase`` and ``refund`` on one terminal.

    Args:
        steps: the shared steps, clock, reference and ledger.
    """

    def __init__(self, steps: TerminalSteps) -> None:
        self.steps = steps

    async def run(
        self,
        terminal: TerminalRuntime,
        kind: TransactionKind,
        request: PurchaseRequest,
        scenario: Scenario,
    ) -> None:
        """Run a purchase or refund to its final answer."""
        log = terminal.current_log()
        await self.steps.status(terminal, status_line(kind, State.AWAITING_CARD) or "")
        if not await self.steps.present_card(terminal, scenario):
            await self.steps.finish(terminal, {"result": "CANCELLED"}, drop=scenario.drop_response)
            return
        await self.steps.enter(terminal, Event.CARD_READ)
        await self.steps.clock.sleep(fund_delay(scenario))
        magic = purchase_magic(request.amount)
        result = magic.result or "APPROVED"
        link = request.healthpoint_transaction_id
        if link is not None and kind is TransactionKind.PURCHASE:
            claim = self.steps.ledger.claim_by_transaction(terminal.mid, terminal.tid, link)
            paid = self.steps.ledger.gap_paid(terminal.mid, terminal.tid, link)
            result = "APPROVED" if gap_payment_allowed(claim, request.amount, paid) else "DECLINED"
        if scenario.result == "APPROVED" or scenario.result == "DECLINED":
            result = scenario.result
        transaction_id = request.transaction_id or self.steps.next_transaction_id(terminal)
        number = self.steps.next_payment()
        final: dict[str, Any] = {
            "result": result,
            "transactionId": transaction_id,
            "transactionReference": f"{number % 1_000_000:06d}",
            "authorisationCode": (
                f"{self.steps.digits(f'auth:{number}', 6)}" if result == "APPROVED" else ""
            ),
            "elidedPan": "XXXXXXXXXXXX" + self.steps.digits(f"pan:{number}", 4),
            "rrn": self.steps.digits(f"rrn:{number}", 12),
            "cardType": magic.card_type,
        }
        self.steps.record(
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
        await self.steps.enter(terminal, Event.FUND_FINAL, line=result)
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
            at=self.steps.clock.now(),
        )
        merchant = payment_receipt(slip, "merchant")
        log.receipt_lines = merchant.split("\n")
        receipt = None
        if request.integrated_receipt:  # receipts only when asked for (reference §2.1 item 8)
            receipt = {"signatureRequired": magic.signature and result == "APPROVED", "merchantReceipt": merchant}
            final["customerReceipt"] = payment_receipt(slip, "customer")  # reference §1.4
        await self.steps.finish(terminal, final, drop=scenario.drop_response, receipt=receipt)
