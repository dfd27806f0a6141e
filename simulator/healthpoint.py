"""The simulated HealthPoint network, pure: one namespace for its rules, decisions and reports.

The parts live in their own modules and are re-exported here: Sydney day and settlement times
in :mod:`simulator.healthpoint_day`, request validation in :mod:`simulator.healthpoint_requests`,
adjudication and claim responses in :mod:`simulator.healthpoint_adjudication`, cancels and gap
payments in :mod:`simulator.healthpoint_cancels`, reconciliation XML in
:mod:`simulator.healthpoint_reports`.

Nothing here does I/O or reads a clock: times arrive as aware datetimes (``now``). Rules cite
their source beside the check: ``seeds/004`` (Tyro's HealthPoint page) or
``reference/tyro-iclient-healthpoint.md`` (§ numbers); anything else is OUR CHOICE and is
listed in ``simulator/README.md``.
"""

from __future__ import annotations

from simulator.healthpoint_adjudication import (
    APPROVAL_OPTIONS,
    AUTOVOID_DESCRIPTION,
    LOYALTY_FREE_TEXT,
    LOYALTY_SERVICE_CODE,
    Adjudication,
    ItemOutcome,
    adjudicate,
    approval_question,
    autovoid_error_text,
    claim_receipt_lines,
    claim_response,
    format_money,
)
from simulator.healthpoint_cancels import (
    CancelOutcome,
    ClaimStanding,
    OriginalClaim,
    cancel_outcome,
    gap_payment_allowed,
)
from simulator.healthpoint_day import (
    SYDNEY,
    can_cancel_same_day,
    format_terminal_datetime,
    settlement_datetime,
    sydney_date,
)
from simulator.healthpoint_reports import (
    PaymentLine,
    ReconClaim,
    claims_report_xml,
    payments_report_xml,
    unavailable_report_xml,
)
from simulator.healthpoint_requests import (
    MAX_ITEMS,
    ClaimItem,
    ClaimRequest,
    PurchaseRequest,
    RefusalAnswer,
    parse_claim_request,
    parse_purchase_request,
    refusal_answer,
)

__all__ = [
    "APPROVAL_OPTIONS",
    "AUTOVOID_DESCRIPTION",
    "LOYALTY_FREE_TEXT",
    "LOYALTY_SERVICE_CODE",
    "MAX_ITEMS",
    "SYDNEY",
    "Adjudication",
    "CancelOutcome",
    "ClaimItem",
    "ClaimRequest",
    "ClaimStanding",
    "ItemOutcome",
    "OriginalClaim",
    "PaymentLine",
    "PurchaseRequest",
    "ReconClaim",
    "RefusalAnswer",
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
