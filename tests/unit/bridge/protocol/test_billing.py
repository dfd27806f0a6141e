"""bridge/protocol/billing.py: the Healthcode results."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.protocol.billing import FindMemberResult, RemittanceEntry, ValidateResult


def test_validate_result_lists_problems() -> None:
    result = ValidateResult.model_validate({"valid": False, "problems": [
        {"field": "patient.membershipNumber", "error": "is empty", "suggestion": "type it from the card"}]})
    assert not result.valid and result.problems[0].field == "patient.membershipNumber"


def test_find_member_and_remittances_in_pence() -> None:
    found = FindMemberResult.model_validate({"found": True, "policyActive": True, "message": "found",
                                             "member": {"lastName": "Testwell"}})
    assert found.member is not None and found.member.lastName == "Testwell"
    remittance = RemittanceEntry.model_validate({"paymentReference": "P1", "insurer": "bup", "total": 9000,
                                                 "lines": [{"invoiceNumber": "INV-1", "amountPaid": 9000,
                                                            "shortfall": 1000}]})
    assert remittance.lines[0].shortfall == 1000
    with pytest.raises(ValidationError):
        RemittanceEntry.model_validate({"paymentReference": "P1", "insurer": "bup", "total": 90.5})
