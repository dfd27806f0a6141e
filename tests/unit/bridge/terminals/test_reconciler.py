"""bridge/terminals/reconciler.py: the Sydney day of a moment, across DST; the daily run's timing;
automatic runs put off while a PMS uses the terminal."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bridge.hub import Hub
from bridge.journal import Journal
from bridge.terminals.reconciler import MAX_AGE, Reconciler, _day_bounds, sydney_day


def test_sydney_day() -> None:
    assert sydney_day(datetime(2026, 11, 22, 13, 0, tzinfo=UTC)) == date(2026, 11, 23)  # 00:00 AEDT
    assert sydney_day(datetime(2026, 11, 22, 12, 59, tzinfo=UTC)) == date(2026, 11, 22)


def test_day_bounds_follow_dst() -> None:
    start, end = _day_bounds(date(2026, 10, 4))  # DST starts: a 23-hour day
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 23 * 3600
    start, end = _day_bounds(date(2026, 4, 5))  # DST ends: a 25-hour day
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 25 * 3600
    assert MAX_AGE.days == 7


def test_the_daily_run_is_due_once_a_day_after_daily_at_sydney() -> None:
    from bridge.terminals.reconciler import daily_due, daily_start

    before = datetime(2026, 11, 22, 19, 59, tzinfo=UTC)  # 06:59 AEDT, Monday 23
    after = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # 07:00 AEDT
    assert daily_start(before, "07:00") == date(2026, 11, 22)
    assert daily_start(after, "07:00") == date(2026, 11, 23)
    done = daily_start(before, "07:00")
    assert daily_due(before, "07:00", done) is None
    assert daily_due(after, "07:00", done) == date(2026, 11, 22)  # Sunday's report
    assert daily_due(after, "07:00", date(2026, 11, 23)) is None  # made already
    winter = datetime(2026, 6, 14, 21, 0, tzinfo=UTC)  # 07:00 AEST, Monday 15 June
    assert daily_due(winter, "07:00", date(2026, 6, 14)) == date(2026, 6, 14)


async def test_an_automatic_run_never_takes_a_terminal_a_pms_is_using(tmp_path: Path) -> None:
    """A job running or waiting on the terminal: the automatic run is put off (tried again
    later), so no claim is refused "Transaction already in progress" because of a report."""
    async with Journal(tmp_path / "claimbridge.db") as journal:
        workers: dict[str, Any] = {
            "busy": SimpleNamespace(busy=True, queued=0, paired=True),
            "waiting": SimpleNamespace(busy=False, queued=2, paired=True),
        }
        reconciler = Reconciler(journal, Hub(), workers, lambda: datetime(2026, 11, 23, tzinfo=UTC))
        assert await reconciler._try("busy", date(2026, 11, 22)) is False
        assert await reconciler._try("waiting", date(2026, 11, 22)) is False


async def test_an_unforeseen_failure_does_not_end_the_automatic_runs(tmp_path: Path, caplog: Any) -> None:
    """Only ClaimbridgeError was caught: any other exception left the loop, and the unknown jobs'
    days were never retried again for the daemon's life (while a reconcile by hand still worked)."""
    async with Journal(tmp_path / "claimbridge.db") as journal:
        workers: dict[str, Any] = {"front-desk": SimpleNamespace(busy=False, queued=0, paired=True)}
        reconciler = Reconciler(journal, Hub(), workers, lambda: datetime(2026, 11, 23, tzinfo=UTC))

        async def broken(terminal: str, day: date) -> None:
            raise KeyError("a report row without its refTag")

        reconciler.reconcile = broken  # type: ignore[method-assign,assignment]
        assert await reconciler._try("front-desk", date(2026, 11, 22)) is True
        assert "reconciliation of front-desk for 2026-11-22 failed" in caplog.text


# -- the matching's findings on the wire: sides a finding has not are left out, not null --------

_ROW = {
    "terminalDateTime": "20261123100002", "settlementDateTime": "20261124140000", "providerId": "2159081W",
    "privateHealthFundId": "PHF00999", "refTag": "2120601", "status": "APP", "totalClaimAmount": 20100,
    "privateHealthFundTotalBenefitAmount": 12060, "privateHealthFundResponseCode": "00", "text": "",
}


def _wire(model: Any) -> Any:
    return model.model_dump(mode="json", exclude_unset=True)


def test_settled_outcome_is_the_funds_answer_marked_reconciliation() -> None:
    from bridge import healthpoint
    from bridge.jobs import JobKind, JobState
    from bridge.terminals.reconciler import settled_outcome

    (row,) = healthpoint.report_rows({"available": True, "claims": [_ROW]}) or []
    claim = healthpoint.ReconJob("u1", JobKind.CLAIM, JobState.UNKNOWN, "2159081W", 20100, None)
    assert _wire(settled_outcome(healthpoint.settled_result(claim, row))) == {
        "result": "APPROVED", "refTag": "2120601", "fund": {"id": "PHF00999", "name": None},
        "totalBenefit": 12060, "gap": 8040, "settlementAt": "2026-11-24T14:00:00+11:00",
        "terminalAt": "2026-11-23T10:00:02+11:00", "freeText": None, "phfResponseCode": "00",
        "source": "reconciliation", "fundStatus": "APP", "totalClaimAmount": 20100,
    }
    cancel = healthpoint.ReconJob("x1", JobKind.CANCEL, JobState.UNKNOWN, "2159081W", 20100, "2120601")
    got = _wire(settled_outcome(healthpoint.settled_result(cancel, row)))
    assert got["result"] == "CANCELLED" and "gap" not in got  # a gap is an approved claim's only
    assert list(got)[-2:] == ["fundStatus", "totalClaimAmount"]  # the order the wire always had


def test_reconcile_result_leaves_out_the_side_a_discrepancy_has_not() -> None:
    from bridge import healthpoint
    from bridge.jobs import JobKind, JobState
    from bridge.terminals.reconciler import reconcile_result

    rows = healthpoint.report_rows({"available": True, "claims": [_ROW]})
    jobs = [
        healthpoint.ReconJob("c9", JobKind.CLAIM, JobState.COMPLETED, "2159081W", 500, "2120699", "APPROVED", 300),
        healthpoint.ReconJob("u1", JobKind.CLAIM, JobState.UNKNOWN, "2159081W", 777, None),
    ]
    matching = healthpoint.reconcile(rows, jobs, {"2120699": "c9"})
    out = _wire(reconcile_result("front-desk", date(2026, 11, 23), matching, []))
    journal = {"state": "completed", "result": "APPROVED", "totalClaimAmount": 500, "totalBenefit": 300}
    assert out == {
        "terminal": "front-desk", "date": "2026-11-23", "available": True, "settled": [],
        "discrepancies": [
            {"kind": "missingAtFund", "jobId": "c9", "refTag": "2120699", "journal": journal},
            {"kind": "notInJournal", "refTag": "2120601", "fund": _ROW},
        ],
        "ambiguous": [{"jobId": "u1", "refTags": []}],
        "totals": {"fund": {"claims": 1, "claimed": 20100, "benefit": 12060},
                   "journal": {"claims": 1, "claimed": 500, "benefit": 300}},
    }


async def test_a_run_settles_an_unknown_claim_and_keeps_the_run_as_its_json(tmp_path: Path) -> None:
    """The run kept for the day is the answer's JSON: the settled jobs' results were kept as
    Python reprs (a model inside a dict, dumped with ``default=str``)."""
    from bridge.healthpoint import SYDNEY
    from bridge.jobs import JobKind, JobState
    from bridge.journal import ReconciliationStore
    from bridge.protocol import ClaimOutcome
    from tests.job_requests import request_for

    at = datetime(2026, 11, 23, 10, 0, 0, tzinfo=SYDNEY)
    async with Journal(tmp_path / "claimbridge.db", clock=lambda: at) as journal:
        job, _ = await journal.create_job(
            kind=JobKind.CLAIM, request_id="c", terminal="front-desk", request=request_for(JobKind.CLAIM, "c"),
        )
        await journal.move(job.job_id, JobState.RUNNING)
        await journal.move(job.job_id, JobState.UNKNOWN)

        async def reconciliation(day: str, report_type: str) -> dict[str, Any]:
            return {"type": report_type, "available": True, "claims": [_ROW]}

        workers: dict[str, Any] = {"front-desk": SimpleNamespace(
            reconciliation=reconciliation, pending_question=lambda job_id: None,
        )}
        out = await Reconciler(journal, Hub(), workers, lambda: at).reconcile("front-desk", date(2026, 11, 23))

        (settled,) = out.settled
        assert settled.jobId == job.job_id and settled.state is JobState.COMPLETED and settled.refTag == "2120601"
        assert settled.result.source == "reconciliation" and settled.result.gap == 8040
        assert out.discrepancies == () and out.ambiguous == ()
        stored = (await journal.get(job.job_id)).result_as(ClaimOutcome)
        assert stored is not None and _wire(stored) == _wire(settled.result)
        kept = await ReconciliationStore(journal).last_reconciliation("front-desk", "2026-11-23")
        assert kept is not None and _wire(kept) == _wire(out) and kept.settled[0].result.source == "reconciliation"
