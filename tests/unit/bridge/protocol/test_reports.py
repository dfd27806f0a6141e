"""bridge/protocol/reports.py: the parsed report and the reconciliation result."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.protocol.reports import ReconcileDiscrepancy, ReconcileResult, ReconciliationReport

_CLAIM = {
    "result": "APPROVED", "transactionId": "t", "refTag": "7", "fund": {"id": "PHF00999", "name": "isoft"},
    "memberNumber": "1", "totalBenefit": 12060, "gap": 8040, "settlementAt": None, "items": [],
    "freeText": None, "phfResponseCode": "00", "source": "reconciliation",
}


def test_report_in_tyros_shape() -> None:
    report = ReconciliationReport.model_validate({
        "type": "claims", "available": True, "terminalId": "SIM00001", "date": "20261201",
        "claims": [{"refTag": "1", "status": "APP", "totalClaimAmount": 20100, "terminalDateTime": "20261201181819"}],
        "totals": {"totalNumberClaims": 1, "sumBenefitAmount": 12060, "sumClaimAmount": 20100}})
    assert report.totals is not None and report.totals.sumClaimAmount == 20100
    with pytest.raises(ValidationError):
        ReconciliationReport.model_validate({"type": "claims", "available": True, "date": "2026-12-01"})


def test_reconcile_result_types_both_sides() -> None:
    side = {"claims": 1, "claimed": 20100, "benefit": 12060}
    result = ReconcileResult.model_validate({
        "terminal": "front-desk", "date": "2026-12-01", "available": True,
        "settled": [{"jobId": "j", "state": "completed", "result": _CLAIM, "refTag": "7"}],
        "discrepancies": [{"kind": "statusDiffers", "jobId": "k", "refTag": "8",
                           "journal": {"state": "completed", "result": "APPROVED", "totalClaimAmount": 100},
                           "fund": {"refTag": "8", "status": "CAN"}}],
        "ambiguous": [{"jobId": "u", "refTags": ["9", "10"]}],
        "totals": {"fund": side, "journal": side},
    })
    assert result.settled[0].result.source == "reconciliation"
    assert result.discrepancies[0].fund is not None and result.discrepancies[0].fund.status == "CAN"


def test_discrepancy_kinds_are_closed() -> None:
    with pytest.raises(ValidationError):
        ReconcileDiscrepancy.model_validate({"kind": "somethingElse"})
