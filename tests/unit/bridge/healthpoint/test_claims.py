"""Tests for bridge/healthpoint/claims.py: HealthPoint rules and the iClient boundary, both ways."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from collections.abc import Mapping
from pathlib import Path

import pytest
from pydantic import ValidationError

from bridge.healthpoint import (
    BONUS_SERVICE_CODE,
    FUNDS_BY_DIGITS,
    MODALITIES,
    SYDNEY,
    ClaimItem,
    ClaimRequest,
    Pairing,
    cancel_deadline,
    claim_total,
    may_cancel,
    normalise_claim_response,
    pad_service_code,
    to_iclient_cancel,
    to_iclient_claim,
)

FIXTURES = Path(__file__).parents[4] / "fixtures" / "healthpoint"
REFERENCE = Path(__file__).parents[4] / "simulator" / "healthpoint" / "data"  # the simulator's package data
EXAMPLE = json.loads((FIXTURES / "example-response.json").read_text())
PAIRING = Pairing(mid=100, tid=200, integrationKey="k-123-secret")


def _request() -> ClaimRequest:
    raw = {k: v for k, v in EXAMPLE["request"].items() if k != "requestId"}
    return ClaimRequest.model_validate(raw)


# --------------------------------------------------------------------------- reference data


def test_modalities_match_the_fixture():
    table = json.loads((REFERENCE / "modalities.json").read_text())["modalities"]
    assert tuple(m["code"] for m in table) == MODALITIES


def test_funds_match_the_fixture():
    funds = json.loads((REFERENCE / "funds.json").read_text())["funds"]
    current = {f["identifyingDigits"]: f["fundId"] for f in funds if f.get("acceptingClaims", True)}
    assert {d: f.id for d, f in FUNDS_BY_DIGITS.items()} == current


# --------------------------------------------------------------------------- to iClient


def test_claim_to_iclient_matches_seed_shape():
    assert to_iclient_claim(_request(), None) == EXAMPLE["iclientRequest"]


def test_claim_to_iclient_with_pairing_and_transaction_id():
    out = to_iclient_claim(_request(), PAIRING, transaction_id="t" * 36)
    assert out["mid"] == 100 and out["tid"] == 200
    assert out["integrationKey"] == "k-123-secret"
    assert out["transactionId"] == "t" * 36


def test_seed_example_request():
    # seeds/004 "Example request": provider 1455813F, two physio items, $201.00.
    request = ClaimRequest(
        providerId="1455813F",
        serviceType="P",
        items=(
            ClaimItem(claimAmount=10000, serviceCode="500", description="Assessment Consult",
                      serviceReference="01", patientId="02", serviceDate=date(2024, 9, 21)),
            ClaimItem(claimAmount=10100, serviceCode="505", description="Subsequent Consult",
                      serviceReference="01", patientId="02", serviceDate=date(2024, 9, 21)),
        ),
    )
    out = to_iclient_claim(request, None)
    assert out["claimItemsCount"] == "2"
    assert out["totalClaimAmount"] == "20100"
    assert out["claimItems"][1] == {
        "claimAmount": "10100", "serviceCode": "505", "description": "Subsequent Consult",
        "serviceReference": "01", "patientId": "02", "serviceDate": "20240921",
    }
    assert claim_total(request.items) == 20100


def test_cancel_is_the_original_payload_plus_ref_tag():
    out = to_iclient_cancel(_request(), "2120599", PAIRING)
    expected = {**EXAMPLE["iclientRequest"], **PAIRING.as_iclient(), "refTag": "2120599"}
    assert out == expected
    with pytest.raises(ValueError):
        to_iclient_cancel(_request(), " ", PAIRING)


def test_pairing_hides_its_key():
    assert "k-123-secret" not in repr(PAIRING)
    assert "k-123-secret" not in str(PAIRING)
    assert "100" in repr(PAIRING)


# --------------------------------------------------------------------------- from iClient


def test_normalise_seed_example_response():
    result = normalise_claim_response(EXAMPLE["response"], _request())
    assert result.model_dump(mode="json") == EXAMPLE["expected"]
    assert result.settlementAt == datetime(2024, 9, 21, 9, 33, 16, tzinfo=SYDNEY)


def test_normalise_without_request_gives_same_result():
    assert normalise_claim_response(EXAMPLE["response"]) == normalise_claim_response(
        EXAMPLE["response"], _request()
    )


def _with_items(*items: Mapping[str, object], **extra: object) -> dict[str, object]:
    return {**EXAMPLE["response"], "healthpointClaimItems": list(items), **extra}


def test_loyalty_item_is_a_bonus_only_when_not_requested():
    loyalty = {"claimAmount": "0", "rebateAmount": "500", "serviceCode": "992",
               "description": "Limit Boost", "patientId": "02", "responseCode": "00"}
    raw = _with_items(*EXAMPLE["response"]["healthpointClaimItems"], loyalty,
                      healthpointFreeText="Limit Boost")
    result = normalise_claim_response(raw, _request())
    bonus = result.items[-1]
    assert bonus.serviceCode == BONUS_SERVICE_CODE
    assert bonus.bonus and bonus.approved and bonus.benefit == 500 and bonus.claimAmount == 0
    assert not any(item.bonus for item in result.items[:-1])
    assert result.freeText == "Limit Boost"

    asked = ClaimRequest(
        providerId="2147661H", serviceType="P",
        items=(ClaimItem(claimAmount=0, serviceCode="00992", description="x", patientId="02",
                         serviceDate=date(2024, 9, 21)),),
    )
    assert not normalise_claim_response(raw, asked).items[-1].bonus


@pytest.mark.parametrize(
    ("code", "approved"), [("00", True), ("0000", True), ("01", False), ("2003", False), (None, False)]
)
def test_item_approval(code, approved):
    item = {"claimAmount": "1000", "rebateAmount": "0", "serviceCode": "500"}
    if code is not None:
        item["responseCode"] = code
    assert normalise_claim_response(_with_items(item)).items[0].approved is approved


def test_declined_response():
    raw = {
        "result": "DECLINED",
        "transactionId": "a" * 36,
        "healthpointRefTag": "undefined",
        "healthpointPhfResponseCode": "21",
        "healthpointPhfResponseCodeDescription": "CONTACT HELP DESK",
        "healthpointClaimItems": [
            {"claimAmount": "1000", "rebateAmount": "0", "serviceCode": "500",
             "responseCode": "10", "responseCodeDescription": "ITEM INVALID"}
        ],
    }
    result = normalise_claim_response(raw)
    assert result.result == "DECLINED"
    assert result.refTag is None
    assert result.phfResponseCode == "21" and result.phfResponseText == "CONTACT HELP DESK"
    assert result.items[0].responseText == "ITEM INVALID" and not result.items[0].approved
    assert result.gap is None and result.totalBenefit is None and result.fund is None


def test_not_started_with_error_code():
    raw = {"result": "NOT STARTED", "healthpointErrorCode": "400",
           "healthpointErrorDescription": "items.0.patientId: must be exactly two digits"}
    result = normalise_claim_response(raw)
    assert result.errorCode == "400"
    assert result.items == ()


@pytest.mark.parametrize("missing", [None, "undefined", "", "  ", "null", [], {}])
def test_tolerates_missing_and_undefined(missing):
    raw = {
        "result": "APPROVED",
        "transactionId": missing,
        "healthpointTotalBenefitAmount": missing,
        "healthpointGapAmount": missing,
        "healthpointSettlementDateTime": missing,
        "healthpointMemberNumber": missing,
        "healthpointHealthFundName": missing,
        "healthpointClaimItems": missing,
    }
    result = normalise_claim_response(raw)
    assert result.transactionId is None and result.totalBenefit is None and result.gap is None
    assert result.settlementAt is None and result.memberNumber is None and result.fund is None
    assert result.items == ()


def test_tolerates_garbage():
    raw = {
        "healthpointTotalBenefitAmount": "66.00",
        "healthpointSettlementDateTime": "20241341000000",
        "healthpointClaimItems": ["junk", {"serviceCode": "undefined", "claimAmount": "x"}],
        "healthpointHealthFundIdentifyingDigits": "0042",
    }
    result = normalise_claim_response(raw)
    assert result.result == "UNKNOWN"  # never guessed
    assert result.totalBenefit is None and result.settlementAt is None
    assert len(result.items) == 1 and result.items[0].claimAmount == 0
    assert result.fund is not None and result.fund.id == "PHF00100"


def test_settlement_in_the_repeated_hour_is_read_as_daylight_time():
    raw = {"result": "APPROVED", "healthpointSettlementDateTime": "20260405023000"}
    at = normalise_claim_response(raw).settlementAt
    assert at is not None and at.utcoffset() == timedelta(hours=11)
    assert normalise_claim_response(raw).model_dump(mode="json")["settlementAt"].endswith("+11:00")


@pytest.mark.parametrize(
    ("code", "padded"), [("500", "00500"), ("00500", "00500"), ("1", "00001"), ("M545", "M545"), ("", "")]
)
def test_pad_service_code(code, padded):
    assert pad_service_code(code) == padded


# --------------------------------------------------------------------------- cancel cut-off


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("claimed_at", "deadline_utc"),
    [
        # An ordinary AEST day.
        (_utc(2026, 6, 30, 13, 59), _utc(2026, 6, 30, 13, 59, 59)),
        # DST ends 2026-04-05 03:00 AEDT -> 02:00 AEST: the day before is all AEDT (+11)...
        (_utc(2026, 4, 4, 1, 0), _utc(2026, 4, 4, 12, 59, 59)),
        # ...a claim at 01:00 AEDT on the change day ends at 23:59:59 AEST (+10).
        (_utc(2026, 4, 4, 14, 0), _utc(2026, 4, 5, 13, 59, 59)),
        # ...and one made after the change, same deadline.
        (_utc(2026, 4, 5, 1, 0), _utc(2026, 4, 5, 13, 59, 59)),
        # DST starts 2026-10-04 02:00 AEST -> 03:00 AEDT: the day before is AEST (+10)...
        (_utc(2026, 10, 3, 13, 0), _utc(2026, 10, 3, 13, 59, 59)),
        # ...a claim at 01:30 AEST on the change day ends at 23:59:59 AEDT (+11).
        (_utc(2026, 10, 3, 15, 30), _utc(2026, 10, 4, 12, 59, 59)),
        (_utc(2026, 10, 4, 5, 0), _utc(2026, 10, 4, 12, 59, 59)),
    ],
)
def test_cancel_deadline_on_both_sides_of_both_dst_changes(claimed_at, deadline_utc):
    deadline = cancel_deadline(claimed_at)
    assert deadline == deadline_utc
    assert deadline.tzinfo is SYDNEY
    assert (deadline.hour, deadline.minute, deadline.second) == (23, 59, 59)
    assert may_cancel(claimed_at, claimed_at)
    assert may_cancel(claimed_at, deadline_utc)
    assert may_cancel(claimed_at, deadline_utc + timedelta(milliseconds=999))
    assert not may_cancel(claimed_at, deadline_utc + timedelta(seconds=1))
    assert not may_cancel(claimed_at, deadline_utc + timedelta(days=1))


def test_cancel_deadline_accepts_any_zone():
    claimed = datetime(2026, 4, 5, 1, 0, tzinfo=SYDNEY)  # still AEDT
    assert cancel_deadline(claimed) == cancel_deadline(claimed.astimezone(UTC))


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        cancel_deadline(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        may_cancel(_utc(2026, 1, 1), datetime(2026, 1, 1))


# --------------------------------------------------------------------------- models


def test_items_are_valid_by_construction():
    with pytest.raises(ValidationError):
        ClaimItem(claimAmount=1, serviceCode="123456", description="x", patientId="02",
                  serviceDate=date(2024, 1, 1))
    with pytest.raises(ValidationError):
        ClaimItem(claimAmount=1, serviceCode="1", description="x", patientId="2",
                  serviceDate=date(2024, 1, 1))


def test_models_are_frozen():
    request = _request()
    with pytest.raises(ValidationError):
        request.providerId = "1455813F"
