"""Typed job requests and results for tests that journal jobs: what the daemon stores for each
kind (bridge.protocol.JOB_REQUESTS), built from fixtures/ rather than blobs written inline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bridge.jobs import JobKind
from bridge.protocol import (
    BillOutcome,
    BillRequest,
    CancelParams,
    ClaimOutcome,
    ClaimParams,
    GapParams,
    JobRequest,
    JobResult,
    PaymentOutcome,
    RebateEstimateParams,
    RefundParams,
    outcome_of,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
_CLAIM: dict[str, Any] = json.loads((FIXTURES / "protocol" / "claim-two-items.json").read_text())
_BILL: dict[str, Any] = json.loads((FIXTURES / "healthcode" / "bills" / "valid_bupa.json").read_text())


def claim(request_id: str = "r", terminal: str = "t", **changes: Any) -> ClaimParams:
    """A claim's stored request (fixtures/protocol/claim-two-items.json), with changes."""
    return ClaimParams.model_validate({**_CLAIM, "requestId": request_id, "terminal": terminal, **changes})


def rebate_estimate(request_id: str = "r", terminal: str = "t") -> RebateEstimateParams:
    """A rebate estimate's stored request (the claim fixture without ``onApproved``)."""
    fields = {k: v for k, v in _CLAIM.items() if k != "onApproved"}
    return RebateEstimateParams.model_validate({**fields, "requestId": request_id, "terminal": terminal})


def bill(invoice_number: str | None = None, replaces: str | None = None, **changes: Any) -> BillRequest:
    """A bill job's stored request (fixtures/healthcode/bills/valid_bupa.json)."""
    data = {**_BILL, **changes}
    if invoice_number is not None:
        data["invoiceNumber"] = invoice_number
    return BillRequest.model_validate({"bill": data, "replaces": replaces})


def request_for(kind: JobKind, request_id: str = "r", amount: int | None = None) -> JobRequest:
    """A valid stored request of ``kind`` (its parent's id is the row's, so a placeholder here)."""
    if kind is JobKind.CLAIM:
        return claim(request_id)
    if kind is JobKind.REBATE_ESTIMATE:
        return rebate_estimate(request_id)
    if kind is JobKind.CANCEL:
        return CancelParams(requestId=request_id, claimJobId="parent")
    if kind is JobKind.GAP:
        return GapParams(requestId=request_id, claimJobId="parent", amount=amount)
    if kind is JobKind.REFUND:
        return RefundParams(requestId=request_id, paymentJobId="parent", amount=amount)
    return bill()


def claim_outcome(**fields: Any) -> ClaimOutcome:
    """A claim's result with only ``fields`` set (as the journal stores it)."""
    return ClaimOutcome.model_validate(fields)


def payment_outcome(**fields: Any) -> PaymentOutcome:
    """A gap's or refund's result with only ``fields`` set."""
    return PaymentOutcome.model_validate(fields)


def bill_outcome(**fields: Any) -> BillOutcome:
    """A bill's result: ``status`` and ``invoiceNumber`` given or defaulted, then ``fields``."""
    return BillOutcome.model_validate({"status": "Unprocessed", "invoiceNumber": _BILL["invoiceNumber"], **fields})


def outcome(kind: JobKind, data: dict[str, Any]) -> JobResult:
    """``data`` as the result model of ``kind`` (receipts, if any, dropped); a bill's gets the
    fixture's invoice number unless ``data`` has one."""
    if kind is JobKind.HEALTHCODE_BILL:
        data = {"invoiceNumber": _BILL["invoiceNumber"], **data}
    return outcome_of(kind, data)[0]
