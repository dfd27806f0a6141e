"""The steps every simulated transaction is made of: fire an event and show its line, wait for
the card, number the transaction, write the ledger, end the transaction.

:class:`TerminalSteps` holds what the flows share (the clock, the fund reference, the ledger and
the deterministic counters); each flow (:mod:`~simulator.transactions.claims`,
:mod:`~simulator.transactions.cancels`, :mod:`~simulator.transactions.payments`) is given it.
The only I/O is time and the frames sent to the listening links (:mod:`simulator.sessions`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from simulator.clock import Clock
from simulator.healthpoint import Adjudication, ClaimRequest
from simulator.healthpoint.funds import Card, Fund, Reference
from simulator.ledger import Ledger, LedgerKind, LedgerRecord, items_json
from simulator.scenarios import DEFAULT_CARD_DELAY_MS, DEFAULT_FUND_DELAY_MS, Scenario
from simulator.sessions import Frame, TerminalRuntime
from simulator.terminal import WAITING_FOR_FUND, Event, State, TransactionKind, status_line

__all__ = ["AUTOVOID_AFTER_S", "PRINT_DELAY_S", "HealthCard", "TerminalSteps", "fund_delay"]

AUTOVOID_AFTER_S = 55.0
"""The terminal autovoids when the fund has not answered in 55 s (seeds/004)."""
PRINT_DELAY_S = 0.2
"""Simulated seconds the terminal takes to print a receipt."""
_READ_DELAY_S = 0.2
_BASE_REF_TAG = 2120600

#: A HealthPoint transaction's card once read: the card, its fund (None: unknown), the transactionId.
HealthCard = tuple[Card, Fund | None, str]


def fund_delay(scenario: Scenario) -> float:
    """Simulated seconds the fund or bank takes (capped below the autovoid limit)."""
    delay_ms = scenario.fund_delay_ms if scenario.fund_delay_ms is not None else DEFAULT_FUND_DELAY_MS
    return min(delay_ms / 1000, AUTOVOID_AFTER_S)


class TerminalSteps:
    """The shared steps and state of the transaction flows.

    Args:
        clock: the simulated clock every delay and timestamp uses.
        reference: fund and provider reference data.
        ledger: what the network saw (the same object the simulator clears on reset).
        seed: seed of the deterministic ids.
    """

    def __init__(self, clock: Clock, reference: Reference, ledger: Ledger, seed: int) -> None:
        self.clock = clock
        self.reference = reference
        self.ledger = ledger
        self.seed = seed
        self._transactions = 0
        self._payments = 0

    def reset(self) -> None:
        """Start the deterministic counters again (the simulator's reset)."""
        self._transactions = 0
        self._payments = 0

    # ------------------------------------------------------------------ terminal steps

    async def enter(self, terminal: TerminalRuntime, event: Event, *, line: str | None = None, show: bool = True) -> State:
        """Fire ``event`` through the table and show the new state's line (or ``line``)."""
        state = terminal.fire(event)
        kind = terminal.current_log().kind
        text = line if line is not None or kind is None else status_line(kind, state)
        if show and text is not None:
            await self.status(terminal, text)
        return state

    async def status(self, terminal: TerminalRuntime, text: str) -> None:
        """Show one status line on the terminal and to its listeners."""
        terminal.current_log().statuses.append(text)
        await terminal.broadcast("transactionStatus", text)

    async def finish(self, terminal: TerminalRuntime, final: dict[str, Any], *, drop: bool, receipt: Frame | None = None) -> None:
        """End the transaction: store the final answer and send it unless dropped."""
        terminal.end(final, drop=drop)
        if not drop:
            if receipt is not None:
                await terminal.broadcast("receiptReceived", receipt)
            await terminal.broadcast("transactionComplete", final)
        terminal.release()

    async def present_card(self, terminal: TerminalRuntime, scenario: Scenario) -> bool:
        """Wait for the card; False if the operator aborted first."""
        card_ms = scenario.card_delay_ms
        delay = (card_ms if card_ms is not None else DEFAULT_CARD_DELAY_MS) / 1000
        if await terminal.wait_abort(delay):
            terminal.fire(Event.ABORT)
            return False
        await self.enter(terminal, Event.CARD_PRESENTED)
        if await terminal.wait_abort(_READ_DELAY_S):
            terminal.fire(Event.ABORT)
            return False
        return True

    async def read_health_card(
        self, terminal: TerminalRuntime, kind: TransactionKind, request: ClaimRequest, scenario: Scenario
    ) -> HealthCard | None:
        """A claim's, estimate's or cancel's card up to "waiting for the fund"; None when the
        operator aborted (the transaction is then finished as CANCELLED)."""
        await self.status(terminal, status_line(kind, State.AWAITING_CARD) or "")
        if not await self.present_card(terminal, scenario):
            await self.finish(terminal, {"result": "CANCELLED"}, drop=scenario.drop_response)
            return None
        card = scenario.card or self.reference.test_card
        fund = self.reference.fund_for(card)
        await self.enter(terminal, Event.CARD_READ)
        await self.status(terminal, WAITING_FOR_FUND)
        return card, fund, request.transaction_id or self.next_transaction_id(terminal)

    # ------------------------------------------------------------------ ids and the ledger

    def hash(self, text: str) -> str:
        """A deterministic hex digest of ``text`` under the simulator's seed."""
        return hashlib.sha256(f"claimbridge-sim:{self.seed}:{text}".encode()).hexdigest()

    def digits(self, text: str, width: int) -> str:
        """Deterministic decimal digits for receipts (STAN, RRN, PAN tail)."""
        return f"{int(self.hash(text)[:16], 16) % 10**width:0{width}d}"

    def next_transaction_id(self, terminal: TerminalRuntime) -> str:
        """A new transactionId, deterministic for the seed."""
        self._transactions += 1
        return self.hash(f"txn:{terminal.mid}:{terminal.tid}:{self._transactions}")[:36]

    def next_ref_tag(self, terminal: TerminalRuntime) -> str:
        """The terminal's next HealthPoint refTag (seven digits)."""
        return f"{(_BASE_REF_TAG + terminal.next_ref_tag()) % 10_000_000:07d}"

    def next_payment(self) -> int:
        """The number of the next card payment (its reference, authorisation code, PAN tail)."""
        self._payments += 1
        return self._payments

    def record(
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
        """Add one row to the ledger (what the network saw)."""
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
