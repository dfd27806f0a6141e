"""Tests for bridge/healthcode/jobs.py: job states, results, the clinic's date."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bridge.healthcode import Bill, BillStatus, Problem, StatusReport, SubmitReceipt
from bridge.healthcode.jobs import (
    bill_result,
    holds_invoice,
    is_own_bill,
    merge_problems,
    job_state_for,
    problem_to_wire,
    uk_today,
)
from bridge.jobs import JobState


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (BillStatus.UNPROCESSED, JobState.RUNNING),
        (BillStatus.IN_PROCESS, JobState.RUNNING),
        (BillStatus.AWAITING_CORRECTION, JobState.RUNNING),
        (BillStatus.VALIDATED, JobState.RUNNING),
        (BillStatus.AWAITING_COLLECTION, JobState.RUNNING),
        (BillStatus.COLLECTED, JobState.COMPLETED),
        (BillStatus.CANCELLED, JobState.COMPLETED),
        (BillStatus.NOT_FOUND, JobState.UNKNOWN),
    ],
)
def test_every_status_has_a_job_state(status: BillStatus, state: JobState) -> None:
    assert job_state_for(status) is state


def test_result_from_a_receipt() -> None:
    receipt = SubmitReceipt(reference="SIM001-261120-00001", status=BillStatus.UNPROCESSED, duplicate=True)
    assert bill_result(receipt, "INV-1") == {
        "status": "Unprocessed", "reference": "SIM001-261120-00001", "invoiceNumber": "INV-1",
        "at": None, "problems": [], "duplicate": True,
    }


def test_result_from_a_report_keeps_reference_and_duplicate_flag() -> None:
    problem = Problem(field="patient.lastName", error="Patient demographics do not match registration number",
                      suggestion="Check the name", healthcode_field="Surname")
    report = StatusReport(status=BillStatus.AWAITING_CORRECTION, at=datetime(2026, 11, 20, 14, tzinfo=UTC),
                          problems=(problem,))
    previous = {"status": "In-process", "reference": "R-1", "duplicate": True}
    result = bill_result(report, "INV-1", previous)
    assert result["status"] == "AwaitingCorrection"
    assert result["reference"] == "R-1" and result["duplicate"] is True
    assert result["at"] == "2026-11-20T14:00:00+00:00"
    assert result["problems"] == [{
        "field": "patient.lastName", "error": "Patient demographics do not match registration number",
        "suggestion": "Check the name", "healthcodeField": "Surname",
    }]


def test_problem_without_healthcode_name_leaves_it_out() -> None:
    wire = problem_to_wire(Problem(field="lines", error="Must be greater than zero", suggestion="Add a fee"))
    assert wire == {"field": "lines", "error": "Must be greater than zero", "suggestion": "Add a fee"}


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        (datetime(2026, 7, 1, 22, 59, tzinfo=UTC), date(2026, 7, 1)),  # 23:59 BST
        (datetime(2026, 7, 1, 23, 0, tzinfo=UTC), date(2026, 7, 2)),  # 00:00 BST
        (datetime(2026, 12, 1, 23, 59, tzinfo=UTC), date(2026, 12, 1)),  # GMT
    ],
)
def test_uk_today_follows_london_time(instant: datetime, day: date) -> None:
    assert uk_today(instant) == day


# --- resubmission (healthcode.submit replaces) ------------------------------------------------


def test_which_bills_may_be_replaced() -> None:
    from bridge.healthcode.jobs import replacement_refusal
    from bridge.jobs import JobState

    assert replacement_refusal(JobState.COMPLETED, {"status": "Cancelled"}) is None
    assert replacement_refusal(JobState.COMPLETED, {"status": "Collected"}) is None
    paid = replacement_refusal(JobState.COMPLETED, {"status": "Collected", "paid": 5000})
    assert paid is not None and paid[0] == "billPaid" and "paid" in paid[1]
    twice = replacement_refusal(JobState.COMPLETED, {"status": "Cancelled", "replacedBy": "j2"})
    assert twice is not None and twice[0] == "alreadyReplaced" and "j2" in twice[1]
    running = replacement_refusal(JobState.RUNNING, {"status": "Unprocessed"})
    assert running is not None and running[0] == "billInProgress" and "in progress" in running[1]
    assert replacement_refusal(JobState.FAILED, None) is not None
    assert replacement_refusal(JobState.UNKNOWN, {"status": "NotFound"}) is not None


def test_bill_result_keeps_pointers_and_payment() -> None:
    from bridge.healthcode import BillStatus, StatusReport
    from bridge.healthcode.jobs import bill_result

    before = {"reference": "R1", "replaces": "j0", "paid": 100, "shortfall": 5, "remittanceIds": ["PR1"]}
    after = bill_result(StatusReport(status=BillStatus.COLLECTED), "INV-1", before)
    assert after["replaces"] == "j0" and after["paid"] == 100 and after["remittanceIds"] == ["PR1"]
    assert after["reference"] == "R1" and after["status"] == "Collected"


def _bill(**changes: object) -> Bill:
    data = json.loads((Path(__file__).resolve().parents[4] / "fixtures/healthcode/bills/valid_bupa.json").read_text())
    data.update(changes)
    return Bill.model_validate(data)


@pytest.mark.parametrize(
    ("state", "status", "holds"),
    [
        (JobState.QUEUED, None, True),
        (JobState.RUNNING, "Unprocessed", True),
        (JobState.COMPLETED, "Collected", True),
        (JobState.UNKNOWN, "NotFound", True),
        (JobState.COMPLETED, "Cancelled", False),
        (JobState.FAILED, None, False),
    ],
)
def test_which_bill_jobs_hold_their_invoice_number(state: JobState, status: str | None, holds: bool) -> None:
    assert holds_invoice(state, {"status": status} if status else None) is holds


def test_a_bill_found_by_invoice_number_is_adopted_only_when_it_is_this_job_s() -> None:
    mine = _bill()
    found = StatusReport(status=BillStatus.IN_PROCESS, reference="R-1", bill=mine)
    assert is_own_bill(found, mine, None)
    assert not is_own_bill(found, mine, "R-1"), "the bill this job resubmits"
    assert not is_own_bill(found.model_copy(update={"status": BillStatus.CANCELLED}), mine, None)
    assert not is_own_bill(found, _bill(setting="D"), None), "another bill under the number"
    assert not is_own_bill(StatusReport(status=BillStatus.IN_PROCESS, reference="R-1"), mine, None)
    assert not is_own_bill(StatusReport(status=BillStatus.NOT_FOUND), mine, None)


def test_unreadable_content_in_a_report_is_no_content() -> None:
    report = StatusReport.model_validate({"status": "Unprocessed", "reference": "R-1", "bill": {"x": 1}})
    assert report.bill is None and report.reference == "R-1"


def test_problems_merged_once_each() -> None:
    ours = [Problem(field="invoiceNumber", error="Invalid Format", suggestion="a")]
    theirs = [Problem(field="invoiceNumber", error="Invalid Format", suggestion="b"),
              Problem(field="patient.lastName", error="Patient demographics do not match registration number",
                      suggestion="c")]
    assert [p.suggestion for p in merge_problems(ours, theirs)] == ["a", "c"]


# --- a stored result, read for these rules ------------------------------------------------------


def test_a_stored_bill_result_reads_back_whole_with_the_remittances_keys() -> None:
    from bridge.healthcode.jobs import read_bill_result

    stored = {
        "status": "Collected", "reference": "R1", "invoiceNumber": "INV-1", "at": "2026-11-20T14:00:00+00:00",
        "problems": [{"field": "lines", "error": "Invalid Format", "suggestion": "a", "healthcodeField": "NetTotal"}],
        "duplicate": False, "replaces": "j0", "replacedBy": None, "paid": 0, "shortfall": 6500,
        "paymentReference": "P-1", "datePaid": None, "remittanceIds": ["PR1"], "rejected": True, "reason": "no cover",
    }
    assert read_bill_result(stored) == stored
    assert read_bill_result({}) == {}
    assert read_bill_result({"status": "Unprocessed", "somethingNew": 1}) == {"status": "Unprocessed"}


def test_a_stored_bill_result_of_the_wrong_shape_is_refused() -> None:
    from pydantic import ValidationError

    from bridge.healthcode.jobs import read_bill_result

    with pytest.raises(ValidationError):
        read_bill_result({"status": "Collected", "paid": "lots"})


def test_a_protocol_bill_outcome_reads_as_a_bill_result() -> None:
    # The journal's model and these rules' TypedDict describe one shape: what one writes the
    # other reads, key for key.
    from bridge.healthcode.jobs import read_bill_result
    from bridge.protocol import BillOutcome, result_data

    outcome = BillOutcome.model_validate(bill_result(
        StatusReport(status=BillStatus.AWAITING_CORRECTION, at=datetime(2026, 11, 20, 14, tzinfo=UTC),
                     problems=(Problem(field="x", error="y", suggestion="z"),)),
        "INV-1", {"reference": "R-1", "replaces": "j0", "paid": 100, "remittanceIds": ["PR1"], "rejected": False},
    ))
    data = result_data(outcome)
    assert read_bill_result(data) == data


def test_problem_to_wire_matches_the_model_s_own_dump() -> None:
    for problem in (Problem(field="a", error="b", suggestion="c"),
                    Problem(field="a", error="b", suggestion="c", healthcode_field="d")):
        wire = problem_to_wire(problem)
        assert list(wire.items()) == list(problem.model_dump(mode="json", by_alias=True, exclude_none=True).items())
