"""Tests for simulator.healthcode.rules: credentials, bill checks, the status timeline."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from simulator.healthcode.rules import (
    HcStatus,
    Member,
    StoredBill,
    Timings,
    check_credentials,
    check_required,
    check_rules,
    make_reference,
    status_at,
)

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "healthcode"
DATA = Path(__file__).resolve().parents[4] / "simulator" / "healthcode" / "data"
MEMBERS_FILE = json.loads((DATA / "members.json").read_text(encoding="utf-8"))
MEMBERS = tuple(Member.from_row(row) for row in MEMBERS_FILE["members"])
DB_INSURERS = frozenset(MEMBERS_FILE["insurersWithMemberDatabase"])
INSURERS = frozenset(i["code"] for i in json.loads((DATA / "insurers.json").read_text())["insurers"])
TODAY = date(2026, 11, 20)
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def bill(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "bills" / "valid_bupa.json").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if key.startswith("patient."):
            data["patient"][key.removeprefix("patient.")] = value
        else:
            data[key] = value
    return data


def rules(raw: dict[str, Any]) -> list[tuple[str, str]]:
    found = check_rules(raw, today=TODAY, insurers=INSURERS, member_db_insurers=DB_INSURERS, members=MEMBERS)
    return [(p["field"], p["error"]) for p in found]


# --- credentials ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("site", "user", "password", "expired", "code", "status"),
    [
        ("SIM001", "claimbridge", "healthcode-test", False, "OK", 200),
        ("SIM999", "claimbridge", "healthcode-test", False, "InvalidSiteId", 401),
        (None, "claimbridge", "healthcode-test", False, "InvalidSiteId", 401),
        ("SIM001", "other", "healthcode-test", False, "InvalidUsername", 401),
        ("SIM001", None, None, False, "InvalidUsername", 401),
        ("SIM001", "claimbridge", "nope", False, "InvalidPassword", 401),
        ("SIM001", "claimbridge", "healthcode-test", True, "CredentialsExpired", 401),
        ("SIM002", "claimbridge", "healthcode-test", False, "AccessDenied", 403),
    ],
)
def test_credentials(site: str | None, user: str | None, password: str | None, expired: bool,
                     code: str, status: int) -> None:
    outcome = check_credentials(site, user, password, expired=expired)
    assert (outcome.ok, outcome.code, outcome.status) == (code == "OK", code, status)


def test_bad_password_text_is_healthcodes() -> None:
    assert check_credentials("SIM001", "claimbridge", "x").message == "Invalid Username/Password"


# --- structural checks ----------------------------------------------------------------------


def test_fixture_bill_is_well_formed() -> None:
    assert check_required(bill()) == []


@pytest.mark.parametrize(
    ("raw", "field", "error"),
    [
        ("not a bill", "bill", "Invalid Request Format"),
        (bill(invoiceNumber=""), "invoiceNumber", "Required"),
        (bill(insurer=None), "insurer", "Required"),
        (bill(setting="X"), "setting", "Must be I, D or O"),
        (bill(lines=[]), "lines", "Required"),
        (bill(payee={}), "payee.healthcodeId", "Required"),
        (bill(**{"patient.dateOfBirth": "12/04/1980"}), "patient.dateOfBirth", "Required"),
        (bill(**{"patient.membershipNumber": " "}), "patient.membershipNumber", "Required"),
    ],
)
def test_structural_problems(raw: Any, field: str, error: str) -> None:
    assert [(p["field"], p["error"]) for p in check_required(raw)] == [(field, error)]


def test_line_problems() -> None:
    raw = bill()
    raw["lines"][0] = {"serviceDate": "2026-13-01", "isc": "", "fee": 12.5}
    assert [p["field"] for p in check_required(raw)] == [
        "lines[0].serviceDate", "lines[0].isc", "lines[0].fee"]


# --- business checks and the member database ------------------------------------------------


def test_known_member_passes() -> None:
    assert rules(bill()) == []


def test_unknown_member() -> None:
    assert rules(bill(**{"patient.membershipNumber": "BUP0000000"})) == [
        ("patient.membershipNumber", "No matching membership details can be found")]


@pytest.mark.parametrize(
    "change",
    [{"patient.lastName": "Otherwise"}, {"patient.dateOfBirth": "1980-04-13"}, {"patient.postcode": "ZZ9 9ZZ"}],
)
def test_demographics_mismatch(change: dict[str, str]) -> None:
    assert rules(bill(**change)) == [("patient", "Patient demographics do not match registration number")]


def test_demographics_ignore_case_and_spaces() -> None:
    assert rules(bill(**{"patient.lastName": "TESTWELL", "patient.postcode": "zz11aa"})) == []


def test_lapsed_member() -> None:
    raw = bill(**{"patient.membershipNumber": "BUP1000003", "patient.lastName": "Lapsington",
                  "patient.dateOfBirth": "1990-02-02", "patient.postcode": "ZZ2 3CD"})
    assert rules(raw) == [("patient.membershipNumber", "Cover not in force on the date of service")]


def test_insurer_without_member_database_is_not_matched() -> None:
    assert rules(bill(insurer="wpa", **{"patient.membershipNumber": "ANYTHING1"})) == []


def test_unknown_insurer_and_future_date() -> None:
    raw = bill(insurer="zzz")
    raw["lines"][0]["serviceDate"] = "2026-11-21"
    assert rules(raw) == [("insurer", "Invalid Insurer"), ("lines", "May not be after Today")]


# --- status timeline ------------------------------------------------------------------------


def stored(problems: list[dict[str, Any]] | None = None, cancelled_at: datetime | None = None) -> StoredBill:
    return StoredBill(reference="R", site_id="SIM001", invoice_number="INV-1", insurer="bup", wire={},
                      submitted_at=T0, problems=problems or [], cancelled_at=cancelled_at)


TIMINGS = Timings(unprocessed=10, in_process=20, validated=30, awaiting_collection=40)


@pytest.mark.parametrize(
    ("seconds", "status"),
    [(0, HcStatus.UNPROCESSED), (9.9, HcStatus.UNPROCESSED), (10, HcStatus.IN_PROCESS),
     (30, HcStatus.VALIDATED), (60, HcStatus.AWAITING_COLLECTION), (99, HcStatus.AWAITING_COLLECTION),
     (100, HcStatus.COLLECTED), (10_000, HcStatus.COLLECTED)],
)
def test_status_progresses_with_time(seconds: float, status: HcStatus) -> None:
    assert status_at(stored(), T0 + timedelta(seconds=seconds), TIMINGS)[-1][0] is status


def test_history_has_timestamps() -> None:
    history = status_at(stored(), T0 + timedelta(seconds=100), TIMINGS)
    assert history == [
        (HcStatus.UNPROCESSED, T0), (HcStatus.IN_PROCESS, T0 + timedelta(seconds=10)),
        (HcStatus.VALIDATED, T0 + timedelta(seconds=30)),
        (HcStatus.AWAITING_COLLECTION, T0 + timedelta(seconds=60)),
        (HcStatus.COLLECTED, T0 + timedelta(seconds=100)),
    ]


def test_bill_with_problems_stops_at_awaiting_correction() -> None:
    bill_ = stored(problems=[{"field": "x"}])
    assert status_at(bill_, T0 + timedelta(days=30), TIMINGS)[-1][0] is HcStatus.AWAITING_CORRECTION


def test_cancel_ends_the_history() -> None:
    bill_ = stored(cancelled_at=T0 + timedelta(seconds=15))
    history = status_at(bill_, T0 + timedelta(days=1), TIMINGS)
    assert [s for s, _ in history] == [HcStatus.UNPROCESSED, HcStatus.IN_PROCESS, HcStatus.CANCELLED]
    assert status_at(bill_, T0 + timedelta(seconds=12), TIMINGS)[-1][0] is HcStatus.IN_PROCESS


def test_reference_is_at_most_25_characters() -> None:
    assert make_reference("SIM001", T0, 1) == "SIM001-261120-00001"
    assert len(make_reference("X" * 30, T0, 99999)) == 25


def test_fault_plan_counts_down_then_clears() -> None:
    from simulator.healthcode.rules import FaultPlan

    plan = FaultPlan()
    assert plan.take() is None
    plan.arm("503", 2)
    assert [plan.take(), plan.take(), plan.take()] == ["503", "503", None]
    plan.arm("slow", 0)
    assert plan.fault is None and plan.take() is None


def test_the_simulator_s_insurers_are_the_bridge_s() -> None:
    """The simulator keeps its own copy (it never imports the bridge): the two must not drift."""
    bridge_copy = Path(__file__).resolve().parents[4] / "bridge" / "clearing" / "data" / "insurers.json"
    assert json.loads((DATA / "insurers.json").read_text()) == json.loads(bridge_copy.read_text())
