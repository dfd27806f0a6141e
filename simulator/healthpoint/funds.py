"""Fund, card and provider reference of the simulated HealthPoint network.

Loaded once from the package's ``data/*.json`` (package data, read through
:mod:`importlib.resources`, so an installed wheel has them; reading those files is the only I/O
here); the objects are frozen and the lookups pure.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "REFERENCE_DIR",
    "Card",
    "Fund",
    "Provider",
    "Reference",
    "load_reference",
]

REFERENCE_DIR: Traversable = files("simulator.healthpoint") / "data"
"""Where the reference JSON lives (package data: ``simulator/healthpoint/data``)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Fund(_Frozen):
    """One private health fund on the HealthPoint network (seeds/004)."""

    fund_id: str = Field(alias="fundId")
    name: str
    identifying_digits: str = Field(alias="identifyingDigits")
    accepting_claims: bool = Field(alias="acceptingClaims")
    benefit_percent: int = Field(alias="benefitPercent", ge=0, le=100)


class Card(_Frozen):
    """A health fund card as the terminal reads it."""

    fund_id: str = Field(alias="fundId")
    identifying_digits: str | None = Field(default=None, alias="identifyingDigits")
    member: str = Field(min_length=1, max_length=20)
    patients: dict[str, str]


class Provider(_Frozen):
    """A provider the simulated network knows (seeds/004 "Provider details")."""

    provider_id: str = Field(alias="providerId")
    name: str
    service_type: str = Field(alias="serviceType")


class Reference(_Frozen):
    """Everything the simulated network knows, loaded from the package's data."""

    funds: tuple[Fund, ...]
    test_card: Card
    providers: tuple[Provider, ...]
    modalities: dict[str, str]
    claim_codes: dict[str, str]
    item_codes: dict[str, str]
    item_code_default: str
    autovoid_errors: dict[str, str]

    def fund_for(self, card: Card) -> Fund | None:
        """Return the fund a card belongs to (identifying digits win over fund id)."""
        if card.identifying_digits is not None:
            for fund in self.funds:
                if fund.identifying_digits == card.identifying_digits:
                    return fund
        for fund in self.funds:
            if fund.fund_id == card.fund_id:
                return fund
        return None

    def fund_by_id(self, fund_id: str) -> Fund | None:
        """Return the first fund with this PHF id, if any."""
        return next((f for f in self.funds if f.fund_id == fund_id), None)

    def provider(self, provider_id: str) -> Provider | None:
        """Return the known provider with this number, if any."""
        return next((p for p in self.providers if p.provider_id == provider_id), None)

    def claim_text(self, code: str) -> str:
        """Claim (PHF) response text for a two-digit code; "DECLINED" when unlisted."""
        return self.claim_codes.get(code, "DECLINED")

    def item_text(self, code: str) -> str:
        """Item response text for a two-digit code."""
        return self.item_codes.get(code, self.item_code_default)


@lru_cache(maxsize=4)
def load_reference(directory: Traversable = REFERENCE_DIR) -> Reference:
    """Load the fund, modality and response-code reference.

    Args:
        directory: Folder holding funds.json, modalities.json, response_codes.json.

    Returns:
        The frozen reference (cached per folder).
    """
    funds = json.loads((directory / "funds.json").read_text(encoding="utf-8"))
    modalities = json.loads((directory / "modalities.json").read_text(encoding="utf-8"))
    codes = json.loads((directory / "response_codes.json").read_text(encoding="utf-8"))
    return Reference(
        funds=tuple(Fund.model_validate(f) for f in funds["funds"]),
        test_card=Card.model_validate(funds["testCard"]),
        providers=tuple(Provider.model_validate(p) for p in funds["providers"]),
        modalities={m["code"]: m["description"] for m in modalities["modalities"]},
        claim_codes=dict(codes["claimCodes"]),
        item_codes=dict(codes["itemCodes"]),
        item_code_default=str(codes["itemCodeDefault"]),
        autovoid_errors=dict(codes["autovoidErrors"]),
    )
