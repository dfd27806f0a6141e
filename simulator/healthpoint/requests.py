"""HealthPoint requests, pure: validation of claim and purchase params, and refusals.

Rules cite their source beside the check: ``seeds/004`` (Tyro's HealthPoint page) or
``reference/tyro-iclient-healthpoint.md`` (§ numbers); anything else is OUR CHOICE and is
listed in ``simulator/README.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simulator.errors import (
    HttpRefused,
    InvalidRequest,
    NotPaired,
    Problem,
    RequestRefused,
    TerminalBusy,
)
from simulator.healthpoint.funds import Reference

__all__ = [
    "MAX_ITEMS",
    "ClaimItem",
    "ClaimRequest",
    "PurchaseRequest",
    "RefusalAnswer",
    "parse_claim_request",
    "parse_purchase_request",
    "refusal_answer",
]

MAX_ITEMS = 16
"""At most 16 claim items (seeds/004 "Request Parameters")."""


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class ClaimItem:
    """One claim item as HealthPoint accepts it (reference §5.1)."""

    claim_amount: int
    service_code: str
    description: str
    service_reference: str | None
    patient_id: str
    service_date: str

    def wire(self) -> dict[str, str]:
        """The item as the request carried it (strings of cents)."""
        out = {
            "claimAmount": str(self.claim_amount),
            "serviceCode": self.service_code,
            "description": self.description,
            "patientId": self.patient_id,
            "serviceDate": self.service_date,
        }
        if self.service_reference is not None:
            out["serviceReference"] = self.service_reference
        return out

    def key(self) -> tuple[int, str, str, str | None, str, str]:
        """Comparison key used by the cancel payload check (service code unpadded)."""
        return (
            self.claim_amount,
            self.service_code.lstrip("0") or "0",
            self.description,
            self.service_reference or None,
            self.patient_id,
            self.service_date,
        )


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """A validated claim, rebate estimate or cancel request."""

    provider_id: str
    service_type: str
    items: tuple[ClaimItem, ...]
    total_claim_amount: int
    ref_tag: str | None = None
    transaction_id: str | None = None

    def same_payload(self, other: ClaimRequest) -> bool:
        """True if provider, service type, items and total match (cancel rule, seeds/004)."""
        return (
            self.provider_id == other.provider_id
            and self.service_type == other.service_type
            and self.total_claim_amount == other.total_claim_amount
            and [i.key() for i in self.items] == [i.key() for i in other.items]
        )


@dataclass(frozen=True, slots=True)
class PurchaseRequest:
    """A validated purchase or refund request."""

    amount: int
    cashout: int
    integrated_receipt: bool
    healthpoint_transaction_id: str | None
    transaction_id: str | None


def _digits(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return value
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _valid_date(value: str) -> bool:
    if len(value) != 8 or not value.isdigit():
        return False
    try:
        datetime.strptime(value, "%Y%m%d")
    except ValueError:
        return False
    return True


def _parse_item(raw: Any, index: int, problems: list[Problem]) -> ClaimItem | None:
    where = f"claimItems[{index}]"
    if not isinstance(raw, Mapping):
        problems.append(Problem(where, "must be an object"))
        return None
    before = len(problems)
    amount = _digits(raw.get("claimAmount"))
    if amount is None:
        problems.append(Problem(f"{where}.claimAmount", "must be cents (digits)"))
    elif len(amount) > 10:  # "max 10 digits" (seeds/004 claimItems table)
        problems.append(Problem(f"{where}.claimAmount", "at most 10 digits"))
    code = _text(raw.get("serviceCode"))
    if code is None or not 1 <= len(code) <= 5 or not code.isalnum():
        # "max 5 chars" (seeds/004); TTA says exactly 5 (reference §5.1): we accept 1-5.
        problems.append(Problem(f"{where}.serviceCode", "1 to 5 letters or digits"))
    description = _text(raw.get("description"))
    if description is None or not 1 <= len(description) <= 32:  # "max 32 chars" (seeds/004)
        problems.append(Problem(f"{where}.description", "1 to 32 characters"))
    reference = raw.get("serviceReference")
    if reference is not None and (not isinstance(reference, str) or len(reference) > 3):
        problems.append(Problem(f"{where}.serviceReference", "at most 3 characters"))
    patient = _text(raw.get("patientId"))
    if patient is None or len(patient) != 2 or not patient.isdigit():  # "exactly 2 digits"
        problems.append(Problem(f"{where}.patientId", "exactly 2 digits"))
    service_date = _text(raw.get("serviceDate"))
    if service_date is None or not _valid_date(service_date):  # "YYYYMMDD format"
        problems.append(Problem(f"{where}.serviceDate", "a date as YYYYMMDD"))
    if (len(problems) != before or amount is None or code is None or description is None
            or patient is None or service_date is None):
        return None
    return ClaimItem(
        claim_amount=int(amount),
        service_code=code,
        description=description,
        service_reference=reference or None,
        patient_id=patient,
        service_date=service_date,
    )


def parse_claim_request(
    params: Mapping[str, Any], reference: Reference, *, cancel: bool = False
) -> ClaimRequest:
    """Validate a HealthPoint request as the terminal does.

    Args:
        params: The POS notify params (``claimItems`` as a JSON string or an array).
        reference: Network reference (modalities).
        cancel: Also require ``refTag`` (cancelHealthPointClaim, seeds/004).

    Returns:
        The validated request.

    Raises:
        InvalidRequest: With every broken rule.
    """
    problems: list[Problem] = []
    provider = _text(params.get("providerId"))
    if provider is None or len(provider) != 8 or not provider.isalnum():  # 8-character
        problems.append(Problem("providerId", "exactly 8 letters or digits"))
    service_type = _text(params.get("serviceType"))
    if service_type is None or service_type not in reference.modalities:  # seeds/004 table
        problems.append(Problem("serviceType", "a modality code of HealthPoint"))
    raw_items: Any = params.get("claimItems")
    if isinstance(raw_items, str):  # the seed documents claimItems as "JSON array" String
        try:
            raw_items = json.loads(raw_items)
        except ValueError:
            raw_items = None
    items: list[ClaimItem] = []
    if not isinstance(raw_items, list) or not raw_items:
        problems.append(Problem("claimItems", "a non-empty array of claim items"))
    elif len(raw_items) > MAX_ITEMS:
        problems.append(Problem("claimItems", f"at most {MAX_ITEMS} items"))
    else:
        for index, raw in enumerate(raw_items):
            item = _parse_item(raw, index, problems)
            if item is not None:
                items.append(item)
    count = _digits(params.get("claimItemsCount"))
    if count is None:
        problems.append(Problem("claimItemsCount", "must be the number of claim items"))
    elif isinstance(raw_items, list) and int(count) != len(raw_items):
        problems.append(Problem("claimItemsCount", "must equal the number of claim items"))
    total = _digits(params.get("totalClaimAmount"))
    if total is None:
        problems.append(Problem("totalClaimAmount", "must be cents (digits)"))
    elif isinstance(raw_items, list) and len(items) == len(raw_items):
        if int(total) != sum(i.claim_amount for i in items):
            problems.append(Problem("totalClaimAmount", "must equal the sum of claimAmount"))
    ref_tag: str | None = None
    if cancel:
        ref_tag = _digits(params.get("refTag"))
        if ref_tag is None or not 1 <= len(ref_tag) <= 16:
            problems.append(Problem("refTag", "the healthpointRefTag of the original claim"))
    transaction_id = params.get("transactionId", params.get("transactionid"))
    if transaction_id is not None and not isinstance(transaction_id, str):
        problems.append(Problem("transactionId", "must be a string"))
        transaction_id = None
    if problems or provider is None or service_type is None or total is None:
        raise InvalidRequest(problems)
    return ClaimRequest(
        provider_id=provider,
        service_type=service_type,
        items=tuple(items),
        total_claim_amount=int(total),
        ref_tag=ref_tag,
        transaction_id=transaction_id,
    )


def parse_purchase_request(params: Mapping[str, Any]) -> PurchaseRequest:
    """Validate a purchase/refund request (amount digits, no leading 0; reference §1.3).

    Raises:
        InvalidRequest: With every broken rule.
    """
    problems: list[Problem] = []
    amount = _digits(params.get("amount"))
    if amount is None or amount.startswith("0"):
        problems.append(Problem("amount", "cents, digits only, no leading 0"))
    cashout = _digits(params.get("cashout", "0"))
    if cashout is None:
        problems.append(Problem("cashout", "cents, digits only"))
    receipt = params.get("integratedReceipt", False)
    if not isinstance(receipt, bool):
        problems.append(Problem("integratedReceipt", "must be a boolean"))
    link = params.get("healthpointTransactionId")
    if link is not None and not isinstance(link, str):
        problems.append(Problem("healthpointTransactionId", "must be a string"))
    own = params.get("transactionId")
    if own is not None and not isinstance(own, str):
        problems.append(Problem("transactionId", "must be a string"))
    if problems or amount is None or cashout is None:
        raise InvalidRequest(problems)
    return PurchaseRequest(
        amount=int(amount),
        cashout=int(cashout),
        integrated_receipt=bool(receipt),
        healthpoint_transaction_id=link or None,
        transaction_id=own,
    )


@dataclass(frozen=True, slots=True)
class RefusalAnswer:
    """What the terminal says when it refuses a request before it starts."""

    question: str
    error_code: str
    description: str


def refusal_answer(error: RequestRefused) -> RefusalAnswer:
    """Map a refusal to the isError question text and the NOT STARTED fields.

    Question texts come from integrators' logs (reference §1.2); codes are OUR CHOICE.
    """
    if isinstance(error, InvalidRequest):
        detail = "; ".join(f"{p.field}: {p.rule}" for p in error.problems)
        return RefusalAnswer("Invalid transaction details (400).", "400", detail)
    if isinstance(error, NotPaired):
        text = "POS is not paired with a terminal."
        return RefusalAnswer(text, "401", text)
    if isinstance(error, TerminalBusy):
        return RefusalAnswer("Terminal is busy.", "409", "Terminal is busy.")
    if isinstance(error, HttpRefused):
        text = f"Request failed ({error.status})."
        return RefusalAnswer(text, str(error.status), text)
    return RefusalAnswer("Request failed (500).", "500", str(error))
