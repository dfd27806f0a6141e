"""The transactions of the simulated terminals, one flow per idea, wired by
:class:`simulator.runtime.Simulator`: claims and rebate estimates
(:mod:`~simulator.transactions.claims`), cancels (:mod:`~simulator.transactions.cancels`), card
payments (:mod:`~simulator.transactions.payments`), and the steps and state they share
(:mod:`~simulator.transactions.steps`). Each runs as one task per terminal on the
:class:`~simulator.clock.Clock`.
"""

from simulator.transactions.cancels import CancelFlow
from simulator.transactions.claims import QUESTION_TIMEOUT_S, ClaimFlow
from simulator.transactions.payments import PaymentFlow
from simulator.transactions.steps import AUTOVOID_AFTER_S, PRINT_DELAY_S, HealthCard, TerminalSteps, fund_delay

__all__ = [
    "AUTOVOID_AFTER_S",
    "CancelFlow",
    "ClaimFlow",
    "HealthCard",
    "PRINT_DELAY_S",
    "PaymentFlow",
    "QUESTION_TIMEOUT_S",
    "TerminalSteps",
    "fund_delay",
]
