"""Tests for bridge.protocol.requests: each kind's stored request model, and its JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from bridge.healthpoint import ClaimResult, RefTag
from bridge.jobs import JobKind, JobState
from bridge.protocol.params import ClaimParams, GapParams
from bridge.protocol.requests import (
    JOB_REQUESTS, BillRequest, decode_result, fitted_outcome, outcome_models, outcome_of, request_data, result_data, result_json,
)
from bridge.protocol.results import JOB_RESULTS, BillOutcome, ClaimOutcome, JobError, PaymentOutcome, Receipts

FIXTURES = Path(__file__).parents[4] / "fixtures"
PARAMS = json.loads((FIXTURES / "protocol" / "valid-params.json").read_text())["validParams"]
BILL = json.loads((FIXTURES / "healthcode" / "bills" / "valid_bupa.json").read_text())

#: Kind -> the method whose (validated) params a job of that kind stores.
_STORED = {
    "claim": "healthpoint.claim",
    "rebateEstimate": "healthpoint.rebateEstimate",
    "cancel": "healthpoint.cancel",
    "gap": "payment.gap",
    "refund": "payment.refund",
}


def test_every_kind_has_a_request_model_beside_its_result_model() -> None:
    assert set(JOB_REQUESTS) == set(JOB_RESULTS) == {str(k) for k in JobKind}


@pytest.mark.parametrize("kind", sorted(_STORED))
def test_a_stored_request_decodes_and_writes_back_the_same_json(kind: str) -> None:
    stored = json.dumps(PARAMS[_STORED[kind]])
    request = JOB_REQUESTS[kind].model_validate_json(stored)
    assert request_data(request) == json.loads(stored)


def test_what_a_claim_job_stores_leaves_out_unset_optionals() -> None:
    claim = ClaimParams.model_validate({**PARAMS["healthpoint.claim"], "terminal": None})
    data = request_data(claim)
    assert "terminal" not in data and "serviceReference" in data["items"][0]
    # What the daemon has always stored: the params as validated, without the nulls.
    assert data == claim.model_dump(mode="json", exclude_none=True)
    assert request_data(GapParams(requestId="r", claimJobId="j")) == {"requestId": "r", "claimJobId": "j"}


def test_a_bill_job_keeps_the_bill_in_its_wire_form_and_what_it_replaces() -> None:
    request = BillRequest.model_validate({"bill": BILL, "replaces": "job-1"})
    data = request_data(request)
    assert data == {"bill": request.bill.to_wire(), "replaces": "job-1"}
    assert BillRequest.model_validate_json(json.dumps(data)) == request
    assert request_data(BillRequest.model_validate({"bill": BILL})) == {"bill": request.bill.to_wire()}
    assert request.bill.invoice_number == BILL["invoiceNumber"]


def test_a_bill_request_refuses_what_a_bill_job_never_stores() -> None:
    with pytest.raises(ValidationError):
        BillRequest.model_validate({"bill": BILL, "requestId": "r"})
    with pytest.raises(ValidationError):
        BillRequest.model_validate({"bill": {"invoiceNumber": "INV-1"}})


def test_a_result_with_receipts_inside_is_stored_and_read_back_the_same() -> None:
    stored = '{"result":"APPROVED","gap":40,"refTag":"RT-1","receipts":{"merchant":"M"}}'
    result, receipts = decode_result("claim", stored)
    assert isinstance(result, ClaimOutcome) and result.refTag == "RT-1" and receipts == Receipts(merchant="M")
    assert result is not None and json.loads(result_json(result, receipts)) == json.loads(stored)
    assert result_data(result) == {"result": "APPROVED", "gap": 40, "refTag": "RT-1"}
    assert decode_result("claim", None) == (None, None) and result_data(None) == {}


def test_an_outcome_as_the_operation_gives_it_becomes_the_kind_s_models() -> None:
    result, receipts, error = outcome_models(
        "gap", {"result": "DECLINED", "amount": 3000}, {"customer": "C"}, {"message": "Declined", "code": "05"},
    )
    assert isinstance(result, PaymentOutcome) and result.amount == 3000 and receipts == Receipts(customer="C")
    assert error == JobError(message="Declined", code="05")
    assert outcome_models("claim", None, None, None) == (None, None, None)
    claim, _, _ = outcome_models("claim", ClaimResult(result="APPROVED", refTag=RefTag("RT-1")), None, None)
    assert isinstance(claim, ClaimOutcome) and claim.refTag == "RT-1" and claim.model_fields_set >= {"result", "items", "gap"}
    assert outcome_of("cancel", {"result": "CANCELLED", "receipts": {}}) == (ClaimOutcome(result="CANCELLED"), None)


@pytest.mark.parametrize("text", ['"APPROVED"', "[1]", "{broken", '{"totalBenefit": "twelve dollars"}'])
def test_a_stored_result_that_does_not_fit_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        decode_result("claim", text)


def test_a_bill_result_needs_its_status_and_invoice_number() -> None:
    result, _ = decode_result("healthcodeBill", '{"status":"Collected","invoiceNumber":"INV-1","remittanceIds":["r"]}')
    assert isinstance(result, BillOutcome) and result.status == "Collected" and result.model_extra == {"remittanceIds": ["r"]}
    with pytest.raises(ValueError):
        decode_result("healthcodeBill", '{"status":"Collected"}')


def test_a_terminal_answer_that_does_not_fit_leaves_the_job_unknown_with_the_answer_kept() -> None:
    fits = fitted_outcome("gap", JobState.COMPLETED, {"result": "APPROVED", "rrn": "123"}, None, None)
    assert fits == (JobState.COMPLETED, PaymentOutcome(result="APPROVED", rrn="123"), None, None, None)
    # The operation narrows a terminal's members already (its types forbid this): the last guard.
    state, result, receipts, error, note = fitted_outcome(
        "gap", JobState.COMPLETED, {"result": "APPROVED", "rrn": 123456}, {"merchant": "M"}, None,
    )
    assert (state, result, receipts) == (JobState.UNKNOWN, None, None)
    assert error is not None and "does not fit" in error.message
    assert note is not None and '"rrn": 123456' in note and '"merchant": "M"' in note
