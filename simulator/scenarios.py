"""Scripted outcomes: the control API's scenario model and the magic amounts.

A scenario applies to the next transaction only (on its terminal, or on any terminal when
it names none). Magic amounts do the same for humans typing amounts; every one is listed in
``simulator/README.md`` with its source (Tyro's Integration Server Simulator, reference §4,
or OUR CHOICE).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from simulator.healthpoint.funds import Card

__all__ = [
    "AUTOVOID_ERROR_TOTALS",
    "DEFAULT_CARD_DELAY_MS",
    "DEFAULT_FUND_DELAY_MS",
    "DEFAULT_LOYALTY_BONUS",
    "LATE_FUND_TOTAL",
    "PURCHASE_HTTP_ERRORS",
    "CancelMagic",
    "ClaimMagic",
    "FundPlan",
    "PurchaseMagic",
    "Scenario",
    "ScenarioBook",
    "cancel_magic",
    "claim_magic",
    "item_magic",
    "plan_fund",
    "purchase_magic",
]

DEFAULT_CARD_DELAY_MS = 500
"""Simulated delay before the default card is presented."""
DEFAULT_FUND_DELAY_MS = 800
"""Simulated fund answer time when nothing else is scripted."""
DEFAULT_LOYALTY_BONUS = 500
"""Default loyalty bonus benefit in cents (item 00992)."""
LATE_FUND_TOTAL = 99055
"""totalClaimAmount whose fund answers after 60 s, so the terminal autovoids (OUR CHOICE)."""
AUTOVOID_ERROR_TOTALS = range(1015, 1020)
"""totalClaimAmount 1015..1019: fund silent and the autovoid fails with that code (OUR CHOICE)."""
PURCHASE_HTTP_ERRORS = frozenset({202, 400, 403, 404, 409, 410, 500, 501, 502, 503, 504})
"""ISS HTTP-error magic amounts (reference §4.1, §4.2)."""

ResultName = Literal["APPROVED", "DECLINED", "REVERSED", "UNKNOWN", "SYSTEM ERROR"]


class Scenario(BaseModel):
    """The scripted outcome of the next transaction (``POST /_sim/scenario``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    mid: int | None = None
    tid: int | None = None
    card: Card | None = None
    result: ResultName | None = None
    phf_response_code: str | None = Field(default=None, alias="phfResponseCode", pattern=r"^\d{2}$")
    item_response_codes: tuple[str | None, ...] | None = Field(default=None, alias="itemResponseCodes")
    fund_delay_ms: int | None = Field(default=None, alias="fundDelayMs", ge=0)
    loyalty: bool | int | None = None
    drop_response: bool = Field(default=False, alias="dropResponse")
    http_error: int | None = Field(default=None, alias="httpError", ge=100, le=599)
    autovoid_error: int | None = Field(default=None, alias="autovoidError", ge=1015, le=1019)
    card_delay_ms: int | None = Field(default=None, alias="cardDelayMs", ge=0)
    answer_timeout_ms: int | None = Field(default=None, alias="answerTimeoutMs", ge=0)
    #: The terminal forgets this transaction once it ends: continueLastTransaction answers
    #: NOT STARTED (only the fund's claims report can tell the outcome).
    no_last_transaction: bool = Field(default=False, alias="noLastTransaction")

    @field_validator("item_response_codes")
    @classmethod
    def _two_digits(cls, value: tuple[str | None, ...] | None) -> tuple[str | None, ...] | None:
        for code in value or ():
            if code is not None and (len(code) != 2 or not code.isdigit()):
                raise ValueError("item response codes are two digits")
        return value

    @field_validator("loyalty")
    @classmethod
    def _bonus_positive(cls, value: bool | int | None) -> bool | int | None:
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise ValueError("loyalty bonus must be >= 0 cents")
        return value

    def loyalty_bonus(self) -> int | None:
        """Bonus cents requested, or None when no loyalty item is scripted."""
        if self.loyalty is None or self.loyalty is False:
            return None
        if self.loyalty is True:
            return DEFAULT_LOYALTY_BONUS
        return int(self.loyalty)


class ScenarioBook:
    """Queued scenarios: each applies once, to the next transaction that matches it."""

    def __init__(self) -> None:
        self._queue: deque[Scenario] = deque()

    def add(self, scenario: Scenario) -> None:
        """Queue a scenario."""
        self._queue.append(scenario)

    def take(self, mid: int, tid: int) -> Scenario | None:
        """Remove and return the first scenario for this terminal (or for any terminal)."""
        for scenario in self._queue:
            if (scenario.mid is None or scenario.mid == mid) and (
                scenario.tid is None or scenario.tid == tid
            ):
                self._queue.remove(scenario)
                return scenario
        return None

    def clear(self) -> None:
        """Forget every queued scenario."""
        self._queue.clear()

    def __len__(self) -> int:
        return len(self._queue)


@dataclass(frozen=True, slots=True)
class ClaimMagic:
    """What a claim's totalClaimAmount scripts (all fields None/False: nothing)."""

    phf_code: str | None = None
    fund_delay_s: float | None = None
    fund_silent: bool = False
    autovoid_error: int | None = None


def claim_magic(total: int) -> ClaimMagic:
    """Interpret a claim's totalClaimAmount (cents) as a magic amount.

    900NN -> DECLINED with PHF code NN (ISS cancel convention, reference §4.3, used for
    claims too: OUR CHOICE); 99055 -> fund answers after 60 s (autovoid); 1015..1019 -> fund
    silent and the autovoid fails with that error (OUR CHOICE).
    """
    if 90001 <= total <= 90099:
        return ClaimMagic(phf_code=f"{total - 90000:02d}")
    if total == LATE_FUND_TOTAL:
        return ClaimMagic(fund_delay_s=60.0)
    if total in AUTOVOID_ERROR_TOTALS:
        return ClaimMagic(fund_silent=True, autovoid_error=total)
    return ClaimMagic()


def item_magic(claim_amount: int) -> str | None:
    """Item claimAmount 1101..1199 cents rejects the item with code cents-1100 (OUR CHOICE,
    after Tyro Health's stub convention, reference §4.6); None otherwise."""
    if 1101 <= claim_amount <= 1199:
        return f"{claim_amount - 1100:02d}"
    return None


@dataclass(frozen=True, slots=True)
class FundPlan:
    """How the fund treats one claim: when it answers, whether at all, and what it forces."""

    delay_s: float
    silent: bool
    autovoid_error: int | None
    system_error: bool
    force_result: Literal["APPROVED", "DECLINED"] | None
    phf_code: str | None

    def autovoids(self, limit_s: float) -> bool:
        """True if the terminal gives up before the fund answers."""
        return self.silent or self.delay_s > limit_s


def plan_fund(total: int, scenario: Scenario) -> FundPlan:
    """Combine a claim's magic total with its scenario (the scenario wins).

    Args:
        total: totalClaimAmount in cents.
        scenario: The scenario of this transaction (empty when none).

    Returns:
        The fund's plan for this claim.
    """
    magic = claim_magic(total)
    if scenario.fund_delay_ms is not None:
        delay = scenario.fund_delay_ms / 1000
    elif magic.fund_delay_s is not None:
        delay = magic.fund_delay_s
    else:
        delay = DEFAULT_FUND_DELAY_MS / 1000
    autovoid_error = scenario.autovoid_error or magic.autovoid_error
    if scenario.result == "UNKNOWN" and autovoid_error is None:
        autovoid_error = 1015
    silent = (
        magic.fund_silent
        or scenario.result in ("REVERSED", "UNKNOWN")
        or autovoid_error is not None
    )
    force: Literal["APPROVED", "DECLINED"] | None = None
    if scenario.result == "APPROVED" or scenario.result == "DECLINED":
        force = scenario.result
    return FundPlan(
        delay_s=delay,
        silent=silent,
        autovoid_error=autovoid_error,
        system_error=scenario.result == "SYSTEM ERROR",
        force_result=force,
        phf_code=scenario.phf_response_code or magic.phf_code,
    )


@dataclass(frozen=True, slots=True)
class CancelMagic:
    """What a cancel's totalClaimAmount scripts: CANCELLED (code None) or DECLINED code."""

    declined_code: str | None


def cancel_magic(total: int) -> CancelMagic | None:
    """ISS cancel magic (reference §4.3): 5702 -> CANCELLED; 900NN -> DECLINED NN."""
    if total == 5702:
        return CancelMagic(declined_code=None)
    if 90001 <= total <= 90099:
        return CancelMagic(declined_code=f"{total - 90000:02d}")
    return None


_CARD_TYPES = {
    0: "EFTPOS",
    1: "EFTPOS",
    2: "Visa",
    3: "MasterCard",
    4: "Amex",
    5: "Diners",
    6: "JCB",
    8: "UnionPay",
}


@dataclass(frozen=True, slots=True)
class PurchaseMagic:
    """Outcome of a purchase/refund amount."""

    result: Literal["APPROVED", "DECLINED"] | None
    card_type: str
    signature: bool = False
    http_error: int | None = None


def purchase_magic(amount: int) -> PurchaseMagic:
    """ISS purchase table (reference §4.1); unlisted amounts APPROVED (OUR CHOICE).

    10Xyy: X selects the card type (0/1 EFTPOS, 2 Visa, 3 MasterCard, 4 Amex, 5 Diners,
    6 JCB, 8 UnionPay), yy 00 approved, 01 declined, 08/11 approved with signature; 10250
    approved (surcharge not simulated), 10251 declined; 3500 approved Visa express;
    202/400/.../504 refused with that HTTP status.
    """
    if amount in PURCHASE_HTTP_ERRORS:
        return PurchaseMagic(result=None, card_type="", http_error=amount)
    if amount == 3500:
        return PurchaseMagic(result="APPROVED", card_type="Visa")
    if 10000 <= amount <= 10899:
        kind, last = (amount - 10000) // 100, amount % 100
        card = _CARD_TYPES.get(kind)
        if card is not None:
            if last in (1, 51):
                return PurchaseMagic(result="DECLINED", card_type=card)
            if last in (8, 11):
                return PurchaseMagic(result="APPROVED", card_type=card, signature=True)
            return PurchaseMagic(result="APPROVED", card_type=card)
    return PurchaseMagic(result="APPROVED", card_type="Visa")
