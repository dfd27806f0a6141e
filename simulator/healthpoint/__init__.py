"""The simulated HealthPoint network, pure: one namespace for its rules, decisions and reports.

Sydney day and settlement times are in :mod:`simulator.healthpoint.day`, request validation in
:mod:`simulator.healthpoint.requests`, adjudication and claim responses in
:mod:`simulator.healthpoint.adjudication`, cancels and gap payments in
:mod:`simulator.healthpoint.cancels`, reconciliation XML in :mod:`simulator.healthpoint.reports`.
The funds' reference data is read by :mod:`simulator.healthpoint.funds` (the one module here that
reads files, imported by its own name).

Nothing gathered here does I/O or reads a clock: times arrive as aware datetimes (``now``). Rules
cite their source beside the check: ``seeds/004`` (Tyro's HealthPoint page) or
``reference/tyro-iclient-healthpoint.md`` (§ numbers); anything else is OUR CHOICE and is
listed in ``simulator/README.md``.
"""

from __future__ import annotations

from simulator.healthpoint.adjudication import (
    ALL_ITEMS_REJECTED_CODE,
    APPROVAL_OPTIONS,
    AUTOVOID_DESCRIPTION,
    Adjudication,
    DECLINED_ITEM_CODE,
    INVALID_PROVIDER,
    ItemOutcome,
    LOYALTY_FREE_TEXT,
    LOYALTY_SERVICE_CODE,
    NOT_ACCEPTING_CODE,
    PATIENT_NOT_COVERED,
    adjudicate,
    approval_question,
    autovoid_error_text,
    claim_receipt_lines,
    claim_response,
    format_money,
)
from simulator.healthpoint.cancels import (
    CancelOutcome,
    ClaimStanding,
    OriginalClaim,
    cancel_outcome,
    gap_payment_allowed,
)
from simulator.healthpoint.day import (
    SYDNEY,
    can_cancel_same_day,
    format_terminal_datetime,
    settlement_datetime,
    sydney_date,
)
from simulator.healthpoint.reports import (
    PaymentLine,
    ReconClaim,
    claims_report_xml,
    payments_report_xml,
    unavailable_report_xml,
)
from simulator.healthpoint.requests import (
    ClaimItem,
    ClaimRequest,
    MAX_ITEMS,
    PurchaseRequest,
    RefusalAnswer,
    parse_claim_request,
    parse_purchase_request,
    refusal_answer,
)

__all__ = [
    "ALL_ITEMS_REJECTED_CODE",
    "APPROVAL_OPTIONS",
    "AUTOVOID_DESCRIPTION",
    "Adjudication",
    "CancelOutcome",
    "ClaimItem",
    "ClaimRequest",
    "ClaimStanding",
    "DECLINED_ITEM_CODE",
    "INVALID_PROVIDER",
    "ItemOutcome",
    "LOYALTY_FREE_TEXT",
    "LOYALTY_SERVICE_CODE",
    "MAX_ITEMS",
    "NOT_ACCEPTING_CODE",
    "OriginalClaim",
    "PATIENT_NOT_COVERED",
    "PaymentLine",
    "PurchaseRequest",
    "ReconClaim",
    "RefusalAnswer",
    "SYDNEY",
    "adjudicate",
    "approval_question",
    "autovoid_error_text",
    "can_cancel_same_day",
    "cancel_outcome",
    "claim_receipt_lines",
    "claim_response",
    "claims_report_xml",
    "format_money",
    "format_terminal_datetime",
    "gap_payment_allowed",
    "parse_claim_request",
    "parse_purchase_request",
    "payments_report_xml",
    "refusal_answer",
    "settlement_datetime",
    "sydney_date",
    "unavailable_report_xml",
]
