"""Tests for bridge.healthcode: the bill model and the models the transport returns."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from bridge.errors import InvalidParams
from bridge.healthcode import (
    Bill,
    BillStatus,
    PayeeKind,
    StatusReport,
    SubmitReceipt,
    parse_bill,
)
from tests.unit.bridge.healthcode.bills import make, wire






# --- the model ------------------------------------------------------------------------------

def test_wire_round_trip_is_camel_case() -> None:
    bill = make()
    wire: dict[str, Any] = bill.to_wire()
    assert wire["invoiceNumber"] == "INV-0001"
    assert wire["patient"]["membershipNumber"] == "BUP1000001"
    assert wire["patient"]["authorisationValidTo"] == "2026-12-31"
    assert wire["lines"][0] == {
        "serviceDate": "2026-11-10",
        "isc": "ISC-PHYS-INIT",
        "description": "Physiotherapy initial assessment",
        "fee": 9500,
        "quantity": 1,
    }
    assert Bill.model_validate(wire) == bill


def test_bill_accepts_snake_case_names_too() -> None:
    bill = make()
    assert Bill(**bill.model_dump()) == bill


def test_bill_is_frozen() -> None:
    with pytest.raises(ValidationError):
        make().invoice_number = "X"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("setting", "X"),  # Setting must be I, D or O (reference §3.2)
        ("lines.0.fee", 95.5),  # pence are integers
        ("lines.0.fee", "9500"),  # strict: no strings of pence
        ("lines.0.fee", -1),
        ("lines.0.quantity", 0),
        ("lines", []),
        ("patient.firstName", "  "),
        ("patient.dateOfBirth", "12/04/1980"),
        ("extraField", 1),
    ],
)
def test_model_refuses_malformed_bills(path: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        make(**{path: value})


def test_parse_bill_names_every_bad_field() -> None:
    data = wire()
    data["lines"][0]["fee"] = "95"
    data["setting"] = "Z"
    del data["patient"]["lastName"]
    with pytest.raises(InvalidParams) as caught:
        parse_bill(data)
    assert {e.field for e in caught.value.errors} == {"bill.lines[0].fee", "bill.setting", "bill.patient.lastName"}
    assert parse_bill(wire()) == make()


def test_totals_and_dates() -> None:
    bill = make(**{"lines.1": {**wire()["lines"][1], "quantity": 2}})
    assert bill.net_total == 9500 + 2 * 6500 + 450
    assert bill.first_service_date == date(2026, 11, 10)
    assert bill.last_service_date == date(2026, 11, 17)


def test_payee_kind_individual_or_clinic() -> None:
    assert make().payee_kind is PayeeKind.INDIVIDUAL
    assert make("clinic_payee_axa.json").payee_kind is PayeeKind.CLINIC



def test_transport_models_parse_wire_json() -> None:
    receipt = SubmitReceipt.model_validate({"reference": "SIM001-000001", "status": "Unprocessed", "duplicate": True})
    assert receipt.status is BillStatus.UNPROCESSED and receipt.duplicate
    with pytest.raises(ValidationError):
        SubmitReceipt.model_validate({"reference": "X" * 26, "status": "Unprocessed"})
    report = StatusReport.model_validate(
        {"status": "AwaitingCorrection", "at": "2026-11-20T10:00:00+00:00", "reference": "R1",
         "problems": [{"field": "patient.membershipNumber", "error": "No matching membership details can be found",
                       "suggestion": "Check", "healthcodeField": "RegistrationNo"}]}
    )
    assert report.problems[0].healthcode_field == "RegistrationNo"


# --- code search ----------------------------------------------------------------------------
