"""HealthPoint, pure: claims, cancels, gaps and refunds, the money guards, iClient conversions, the same-day rule,
recovery matching, reconciliation parsing and matching.

Nothing here does I/O or reads a clock: times arrive as aware datetimes. Rules cite their
source beside the check (``seeds/004``, ``reference/tyro-iclient-healthpoint.md``).
"""

from __future__ import annotations

from bridge.healthpoint.claims import (
    APPROVED_ITEM_CODES,
    BONUS_SERVICE_CODE,
    ClaimItem,
    ClaimItemResult,
    ClaimRequest,
    ClaimResult,
    FIELD_RULES,
    FUNDS_BY_DIGITS,
    Fund,
    IsoDate,
    MAX_CLAIM_AMOUNT,
    MAX_ITEMS,
    MODALITIES,
    Pairing,
    RefTag,
    SYDNEY,
    cancel_deadline,
    claim_total,
    may_cancel,
    normalise_claim_response,
    pad_service_code,
    to_iclient_cancel,
    to_iclient_claim,
)
from bridge.healthpoint.guards import (
    JobView,
    Refusal,
    default_gap_amount,
    gap_amount,
    paid_amount,
    refund_left,
    refuse_cancel,
    refuse_gap,
    refuse_refund,
)
from bridge.healthpoint.matching import (
    DEFAULT_SKEW,
    FUND_RESULTS,
    Matching,
    ReconJob,
    ReportRow,
    reconcile,
    report_rows,
    settled_result,
)
from bridge.healthpoint.policy import (
    ACCEPT,
    REJECT,
    auto_answers,
)
from bridge.healthpoint.purchases import (
    normalise_purchase,
    receipts_of,
    to_iclient_gap_purchase,
    to_iclient_refund,
)
from bridge.healthpoint.reconciliation import (
    parse_reconciliation,
)
from bridge.healthpoint.recovery import (
    is_same_transaction,
    same_claim,
    same_purchase,
)
from bridge.healthpoint.starting import (
    StartFailure,
    refused_before_start,
    state_after_start_failure,
)

__all__ = [
    "ACCEPT",
    "APPROVED_ITEM_CODES",
    "BONUS_SERVICE_CODE",
    "ClaimItem",
    "ClaimItemResult",
    "ClaimRequest",
    "ClaimResult",
    "DEFAULT_SKEW",
    "FIELD_RULES",
    "FUNDS_BY_DIGITS",
    "FUND_RESULTS",
    "Fund",
    "IsoDate",
    "JobView",
    "MAX_CLAIM_AMOUNT",
    "MAX_ITEMS",
    "MODALITIES",
    "Matching",
    "Pairing",
    "REJECT",
    "ReconJob",
    "RefTag",
    "Refusal",
    "ReportRow",
    "SYDNEY",
    "StartFailure",
    "auto_answers",
    "cancel_deadline",
    "claim_total",
    "default_gap_amount",
    "gap_amount",
    "is_same_transaction",
    "may_cancel",
    "normalise_claim_response",
    "normalise_purchase",
    "pad_service_code",
    "paid_amount",
    "parse_reconciliation",
    "receipts_of",
    "reconcile",
    "refund_left",
    "refuse_cancel",
    "refuse_gap",
    "refuse_refund",
    "refused_before_start",
    "report_rows",
    "same_claim",
    "same_purchase",
    "settled_result",
    "state_after_start_failure",
    "to_iclient_cancel",
    "to_iclient_claim",
    "to_iclient_gap_purchase",
    "to_iclient_refund",
]
