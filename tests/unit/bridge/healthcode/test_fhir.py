"""Tests for bridge.healthcode.fhir: pounds <-> pence exactly, and tolerant FHIR reading."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.healthcode.fhir import pence_from_pounds, pounds_from_pence, read_members, read_remittance
from simulator.healthcode.fhir import Remittance, claim_response, payment_reconciliation


@given(st.integers(min_value=0, max_value=10**13))
def test_pence_round_trip_through_fhir_json_exactly(pence: int) -> None:
    # Out as decimal pounds in JSON text, back through a Decimal parser: the same pence.
    text = json.dumps({"value": "PLACEHOLDER"}).replace('"PLACEHOLDER"', str(pounds_from_pence(pence)))
    parsed = json.loads(text, parse_float=Decimal)
    assert pence_from_pounds(parsed["value"]) == pence


@given(st.integers(min_value=0, max_value=10**9))
def test_simulator_pounds_read_exactly(pence: int) -> None:
    # The simulator writes floats; read back as Decimal they are the same pence.
    text = json.dumps({"value": float(Decimal(pence).scaleb(-2))})
    assert pence_from_pounds(json.loads(text, parse_float=Decimal)["value"]) == pence


def test_amounts_that_are_not_whole_pence_are_refused() -> None:
    assert pence_from_pounds(Decimal("1500.00")) == 150000
    assert pence_from_pounds(15) == 1500 and pence_from_pounds("0.1") == 10
    for bad in (Decimal("12.345"), 12.5, Decimal("NaN"), "twelve", True):
        with pytest.raises(ValueError):
            pence_from_pounds(bad)
    assert str(pounds_from_pence(5)) == "0.05"


def _decimal_json(value: object) -> object:
    return json.loads(json.dumps(value), parse_float=Decimal)


def test_remittance_read_from_the_simulators_resources_with_unknown_fields() -> None:
    remittance = Remittance("PR000001", "CR000001", "BACS00000001", "bup", "SIM001", "INV-0001",
                            16450, 15000, datetime(2026, 11, 20, 14, tzinfo=UTC))
    summary = _decimal_json({**payment_reconciliation(remittance), "newAttribute": {"x": 1}})
    details = _decimal_json({"resourceType": "Bundle", "entry": [
        {"resource": claim_response(remittance)}, {"resource": {"resourceType": "Unknown"}}, "junk"]})
    assert isinstance(summary, dict)
    read = read_remittance(summary, details)
    assert read is not None
    assert (read.remittance_id, read.payment_reference, read.insurer, read.total) == ("PR000001", "BACS00000001", "bup", 15000)
    assert read.date_paid == date(2026, 11, 20)
    (line,) = read.lines
    assert (line.invoice_number, line.amount_invoiced, line.amount_paid, line.shortfall) == ("INV-0001", 16450, 15000, 1450)
    assert read.to_wire()["lines"] == [{"invoiceNumber": "INV-0001", "amountInvoiced": 16450, "amountPaid": 15000,
                                        "shortfall": 1450}]
    # Without details, the summary alone still gives the payment (shortfall unknown: 0).
    alone = read_remittance(summary, None)
    assert alone is not None and alone.lines[0].amount_paid == 15000 and alone.lines[0].amount_invoiced is None
    assert read_remittance({"resourceType": "PaymentReconciliation"}, None) is None


@pytest.mark.parametrize(("paid", "reason", "read_reason"), [
    (0, ("NOTCOVERED", "Not covered (sample)"), "Not covered (sample)"),
    (15000, ("EXCESS", "Policy excess (sample)"), "Policy excess (sample)"),
    (15000, None, None),
    (16450, ("X", "ignored: paid in full"), None),
])
def test_the_insurer_s_reason_is_read_per_line(paid: int, reason: tuple[str, str] | None, read_reason: str | None) -> None:
    remittance = Remittance("PR000002", "CR000002", "BACS00000002", "bup", "SIM001", "INV-0002",
                            16450, paid, datetime(2026, 11, 20, 14, tzinfo=UTC), reason)
    summary = _decimal_json(payment_reconciliation(remittance))
    details = _decimal_json({"resourceType": "Bundle", "entry": [{"resource": claim_response(remittance)}]})
    assert isinstance(summary, dict)
    read = read_remittance(summary, details)
    assert read is not None and read.lines[0].reason == read_reason and read.lines[0].amount_paid == paid
    # Only a code, no words: the code.
    bare = {"resourceType": "ClaimResponse", "identifier": [{"value": "INV-0002"}],
            "item": [{"adjudication": [{"reason": {"coding": [{"code": "NOAUTH"}]}}]}]}
    coded = read_remittance(summary, {"resourceType": "Bundle", "entry": [{"resource": bare}]})
    assert coded is not None and coded.lines[0].reason == ("NOAUTH" if paid == 0 else None)


def test_members_read_tolerantly() -> None:
    bundle = {"entry": [
        {"resource": {"resourceType": "Coverage", "status": "active", "subscriberId": "AV5550001",
                      "contained": [{"resourceType": "Patient", "name": [{"family": "Placeholder", "given": ["Fiona"]}],
                                     "birthDate": "1970-01-15"}], "brandNew": True}},
        {"resource": {"resourceType": "Coverage", "status": "entered-in-error"}},
        {"resource": {"resourceType": "Patient"}},
    ]}
    first, second = read_members(bundle)
    assert first.policy_active and first.to_wire() == {
        "firstName": "Fiona", "lastName": "Placeholder", "dateOfBirth": "1970-01-15", "membershipNumber": "AV5550001"}
    assert not second.policy_active and second.membership_number is None
    assert read_members("not a bundle") == []
