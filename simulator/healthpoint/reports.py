"""HealthPoint reconciliation reports, pure: the claims and payments report XML.

Element names follow ``reference/tyro-iclient-healthpoint.md`` §4.4.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from simulator.healthpoint.day import format_terminal_datetime

__all__ = [
    "PaymentLine",
    "ReconClaim",
    "claims_report_xml",
    "payments_report_xml",
    "unavailable_report_xml",
]

# --------------------------------------------------------------------------- reports


@dataclass(frozen=True, slots=True)
class ReconClaim:
    """One line of the claims reconciliation report."""

    ref_tag: str
    status: Literal["APP", "CAN", "VOID", "AVOID"]
    provider_id: str
    fund_id: str
    total_claim_amount: int
    total_benefit: int
    phf_code: str
    text: str
    at: datetime
    settlement_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentLine:
    """One fund's settlement in the payments reconciliation report."""

    fund_id: str
    fund_name: str
    settlement_at: datetime
    claims: int
    amount: int


def _sub(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = text


def _xml(root: ET.Element) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")


def claims_report_xml(terminal_id: str, claim_date: date, claims: Sequence[ReconClaim]) -> str:
    """The claims reconciliation report (element names: reference §4.4).

    Footer sums cover every listed claim, zero-padded to 12 digits (width OUR CHOICE).
    """
    root = ET.Element("claims-reconciliation-response")
    body = ET.SubElement(root, "claims-reconciliation")
    _sub(body, "healthpoint-terminal-id", terminal_id)
    _sub(body, "claim-date", claim_date.strftime("%Y%m%d"))
    for claim in claims:
        node = ET.SubElement(body, "claim")
        stamp = format_terminal_datetime(claim.at)
        _sub(node, "terminal-date-time", stamp)
        _sub(node, "settlement-date-time", format_terminal_datetime(claim.settlement_at))
        _sub(node, "response-date-time", stamp)
        _sub(node, "transaction-date-time", stamp)
        _sub(node, "provider-id", claim.provider_id)
        _sub(node, "private-health-fund-id", claim.fund_id)
        _sub(node, "ref-tag", claim.ref_tag)
        _sub(node, "status", claim.status)
        _sub(node, "total-claim-amount", str(claim.total_claim_amount))
        _sub(node, "private-health-fund-total-benefit-amount", str(claim.total_benefit))
        _sub(node, "private-health-fund-response-code", claim.phf_code)
        _sub(node, "text", claim.text)
    check = ET.SubElement(body, "check")
    _sub(check, "total-number-claims", f"{len(claims):06d}")
    _sub(check, "sum-benefit-amount", f"{sum(c.total_benefit for c in claims):012d}")
    _sub(check, "sum-claim-amount", f"{sum(c.total_claim_amount for c in claims):012d}")
    return _xml(root)


def payments_report_xml(terminal_id: str, payment_date: date, lines: Sequence[PaymentLine]) -> str:
    """The payments reconciliation report (shape OUR CHOICE, modelled on reference §4.4)."""
    root = ET.Element("payments-reconciliation-response")
    body = ET.SubElement(root, "payments-reconciliation")
    _sub(body, "healthpoint-terminal-id", terminal_id)
    _sub(body, "payment-date", payment_date.strftime("%Y%m%d"))
    for line in lines:
        node = ET.SubElement(body, "payment")
        _sub(node, "private-health-fund-id", line.fund_id)
        _sub(node, "private-health-fund-name", line.fund_name)
        _sub(node, "settlement-date-time", format_terminal_datetime(line.settlement_at))
        _sub(node, "number-claims", str(line.claims))
        _sub(node, "payment-amount", str(line.amount))
    check = ET.SubElement(body, "check")
    _sub(check, "total-number-payments", f"{len(lines):06d}")
    _sub(check, "sum-payment-amount", f"{sum(p.amount for p in lines):012d}")
    return _xml(root)


def unavailable_report_xml(terminal_id: str, report_date: date, report_type: str = "claims") -> str:
    """The report for a date with nothing to report, in Tyro's captured shape (reference §4.4):
    the report's header (terminal id and date), then ``<unavailable>No report created.</unavailable>``."""
    name = "claims" if report_type == "claims" else "payments"
    root = ET.Element(f"{name}-reconciliation-response")
    body = ET.SubElement(root, f"{name}-reconciliation")
    _sub(body, "healthpoint-terminal-id", terminal_id)
    _sub(body, "claim-date" if name == "claims" else "payment-date", report_date.strftime("%Y%m%d"))
    _sub(body, "unavailable", "No report created.")
    return _xml(root)
