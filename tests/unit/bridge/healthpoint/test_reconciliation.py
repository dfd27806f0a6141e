"""bridge/healthpoint/reconciliation.py: HealthPoint report XML -> JSON, without I/O."""

from pathlib import Path

from bridge.healthpoint.reconciliation import parse_reconciliation

XML = (Path(__file__).resolve().parents[4] / "fixtures" / "healthpoint" / "reconciliation" / "claims.xml").read_text()


def test_claims_report_is_parsed_with_integer_amounts() -> None:
    report = parse_reconciliation({"result": "success", "data": XML}, "claims")
    assert report["available"] is True
    assert report["terminalId"] == "TYR99906" and report["date"] == "20261123"
    first, second = report["claims"]
    assert first["refTag"] == "2120601" and first["status"] == "APP"
    assert first["totalClaimAmount"] == 20100
    assert first["privateHealthFundTotalBenefitAmount"] == 12060
    assert second["status"] == "CAN"
    assert report["totals"] == {"totalNumberClaims": 2, "sumBenefitAmount": 18060, "sumClaimAmount": 30100}


def test_no_report_for_the_day() -> None:
    report = parse_reconciliation({"result": "success", "data": "<unavailable>No report created.</unavailable>"}, "claims")
    assert report == {"type": "claims", "available": False, "message": "No report created."}


def test_failure_keeps_the_error() -> None:
    report = parse_reconciliation(
        {"result": "failure", "healthpointErrorCode": "401", "healthpointErrorDescription": "POS is not paired"}, "payments"
    )
    assert report["available"] is False
    assert report["error"] == {"code": "401", "message": "POS is not paired"}


def test_unreadable_xml_is_reported_not_raised() -> None:
    report = parse_reconciliation({"result": "success", "data": "<claims"}, "claims")
    assert report["available"] is False and "unreadable" in report["error"]["message"]


def test_a_day_without_a_report_in_tyros_shape() -> None:
    data = (Path(__file__).resolve().parents[4] / "fixtures" / "healthpoint" / "reconciliation" / "claims-unavailable.xml").read_text()
    report = parse_reconciliation({"result": "success", "data": data}, "claims")
    assert report == {"type": "claims", "available": False, "message": "No report created."}
