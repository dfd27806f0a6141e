"""Unit tests for simulator/healthpoint/reports.py: reconciliation report XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime

from simulator.healthpoint.day import SYDNEY, settlement_datetime
from simulator.healthpoint.reports import (
    PaymentLine,
    ReconClaim,
    claims_report_xml,
    payments_report_xml,
    unavailable_report_xml,
)


# ---------------------------------------------------------------- reports


def test_claims_report_xml() -> None:
    at = datetime.fromisoformat("2026-11-23T10:00:00+11:00")
    claims = [
        ReconClaim("2120601", "APP", "1455813F", "PHF00999", 11000, 6600, "00", "", at,
                   settlement_datetime(at)),
        ReconClaim("2120602", "AVOID", "1455813F", "PHF00999", 99055, 0, "00", "", at,
                   settlement_datetime(at)),
    ]
    root = ET.fromstring(claims_report_xml("SIM00001", date(2026, 11, 23), claims))
    assert root.tag == "claims-reconciliation-response"
    body = root.find("claims-reconciliation")
    assert body is not None
    assert body.findtext("healthpoint-terminal-id") == "SIM00001"
    assert body.findtext("claim-date") == "20261123"
    assert [c.findtext("status") for c in body.iter("claim")] == ["APP", "AVOID"]
    assert body.findtext("check/total-number-claims") == "000002"
    assert int(body.findtext("check/sum-claim-amount") or "0") == 110055
    root = ET.fromstring(unavailable_report_xml("TYR99906", date(2026, 11, 23)))
    assert root.tag == "claims-reconciliation-response"
    header = root.find("claims-reconciliation")
    assert header is not None and header.findtext("healthpoint-terminal-id") == "TYR99906"
    assert header.findtext("claim-date") == "20261123"
    assert root.findtext(".//unavailable") == "No report created."


def test_payments_report_xml() -> None:
    at = datetime(2026, 11, 24, 14, 0, tzinfo=SYDNEY)
    root = ET.fromstring(payments_report_xml("SIM00001", date(2026, 11, 24),
                                             [PaymentLine("PHF00999", "ISOFT FUND", at, 2, 13200)]))
    assert root.findtext("payments-reconciliation/payment/payment-amount") == "13200"
    assert root.findtext("payments-reconciliation/check/sum-payment-amount") == "000000013200"
