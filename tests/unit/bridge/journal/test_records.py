"""bridge/journal/records.py: rows decoded from a plain mapping and from a real SQLite row alike,
into the protocol's models of the job's kind (receipts lifted out of the result), and a pairing's
key kept out of its repr."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.jobs import JobKind, JobState
from bridge.errors import JournalUnavailable
from bridge.journal.records import (
    JobRecord, PairingRecord, TerminalRecord, decode_every_job, decode_jobs, job_from_row, pairing_from_row,
)
from bridge.journal.schema import SCHEMA
from bridge.protocol import BillRequest, ClaimOutcome, ClaimParams, JobError, Receipts, request_data
from tests.job_requests import bill, claim, claim_outcome

AT = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def _job_row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "job_id": "j1", "request_id": "r1", "kind": "claim", "terminal": "t", "state": "completed",
        "request": json.dumps(request_data(claim("r1"))), "result": '{"result":"APPROVED"}', "error": None,
        "parent_job_id": None, "created_at": "2026-11-22T23:00:00.000000+00:00",
        "updated_at": "2026-11-22T23:00:05.000000+00:00", "seq": 7,
    }
    row.update(changes)
    return row


def test_a_job_row_from_a_mapping() -> None:
    job = job_from_row(_job_row())
    assert job == JobRecord(
        "j1", "r1", JobKind.CLAIM, "t", JobState.COMPLETED, claim("r1"),
        claim_outcome(result="APPROVED"), None, None, AT, datetime(2026, 11, 22, 23, 0, 5, tzinfo=UTC), seq=7,
    )
    assert job.kind is JobKind.CLAIM and job.state is JobState.COMPLETED
    assert isinstance(job.request, ClaimParams) and isinstance(job.result, ClaimOutcome) and job.receipts is None


def test_receipts_are_lifted_out_of_the_stored_result() -> None:
    job = job_from_row(_job_row(result='{"result":"APPROVED","gap":40,"receipts":{"merchant":"M","customer":"C"}}'))
    assert job.receipts == Receipts(merchant="M", customer="C")
    assert job.result == claim_outcome(result="APPROVED", gap=40) and "receipts" not in (job.result.model_extra or {})


def test_each_kind_decodes_into_its_own_models() -> None:
    stored = bill(replaces="old")
    job = job_from_row(_job_row(kind="healthcodeBill", terminal=None, request=json.dumps(request_data(stored)),
                                result='{"status":"Collected","invoiceNumber":"INV-1","paid":4200,"datePaid":"x"}'))
    assert job.request == stored and job.request_as(BillRequest).replaces == "old"
    assert job.result is not None and job.result.model_dump(mode="json", exclude_unset=True) == {
        "status": "Collected", "invoiceNumber": "INV-1", "paid": 4200, "datePaid": "x",
    }
    with pytest.raises(TypeError):
        job.request_as(ClaimParams)
    with pytest.raises(TypeError):
        job.result_as(ClaimOutcome)


@pytest.mark.parametrize("changes", [
    {"request": '{"items":[{"claimAmount":5000}]}'},  # not what a claim job stores
    {"result": '{"status":"Collected"}', "kind": "claim"},  # a claim result is tolerant, but...
    {"result": '"APPROVED"'},  # not an object
    {"result": '{"result":"APPROVED","receipts":"text"}'},
    {"error": '{"code":1}'},  # no message
])
def test_a_row_whose_json_does_not_fit_its_model_does_not_decode(changes: dict[str, Any]) -> None:
    if changes.get("kind") == "claim":  # ... a bill's result needs its invoice number
        changes = {"kind": "healthcodeBill", "terminal": None, "request": json.dumps(request_data(bill()))}
        changes["result"] = '{"status":"Collected"}'
    with pytest.raises(ValueError):
        job_from_row(_job_row(**changes))


def test_a_job_row_from_sqlite_decodes_the_same(tmp_path: Path) -> None:
    row = _job_row(error='{"message":"late"}', parent_job_id="p")
    with sqlite3.connect(tmp_path / "j.db") as db:
        db.row_factory = sqlite3.Row
        db.executescript(SCHEMA)
        db.execute(
            "INSERT INTO jobs (job_id, request_id, kind, terminal, state, digest, request, result, error,"
            " parent_job_id, created_at, updated_at, seq) VALUES (?,?,?,?,?,'d',?,?,?,?,?,?,?)",
            tuple(row[k] for k in ("job_id", "request_id", "kind", "terminal", "state", "request", "result",
                                   "error", "parent_job_id", "created_at", "updated_at", "seq")),
        )
        stored = db.execute("SELECT * FROM jobs").fetchone()
    assert job_from_row(stored) == job_from_row(row)
    assert job_from_row(stored).error == JobError(message="late") and job_from_row(stored).parent_job_id == "p"


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError):
        job_from_row(_job_row(state="teleported"))


def test_a_pairing_row_and_its_repr_hide_the_key() -> None:
    pairing = pairing_from_row({
        "terminal": "t", "mid": 1, "tid": 2, "integration_key": "secret-key",
        "paired_at": "2026-11-22T23:00:00.000000+00:00",
    })
    assert pairing == PairingRecord("t", 1, 2, "secret-key", AT)
    assert "secret-key" not in repr(pairing) and "tid=2" in repr(pairing)


def test_records_are_frozen() -> None:
    terminal = TerminalRecord("t", 1, 2)
    with pytest.raises(AttributeError):
        terminal.mid = 3  # type: ignore[misc]


def test_a_damaged_row_is_skipped_in_a_listing_but_stops_an_answer_that_needs_every_row() -> None:
    rows = [_job_row(), _job_row(job_id="j2", request_id="r2", state="no-such-state")]
    skipped: list[str] = []
    assert [job.job_id for job in decode_jobs(rows, skipped)] == ["j1"] and "j2" in skipped[0]
    with pytest.raises(JournalUnavailable) as err:
        decode_every_job(rows)
    assert "j2" in err.value.detail
    assert [job.job_id for job in decode_every_job(rows[:1])] == ["j1"]
