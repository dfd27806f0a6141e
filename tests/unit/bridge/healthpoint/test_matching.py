"""bridge/healthpoint/matching.py: the claims report held against the journal, as tables."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from bridge.healthpoint import (
    SYDNEY,
    Discrepancy,
    JournalSide,
    ReconJob,
    ReportRow,
    Settlement,
    Side,
    Totals,
    reconcile,
    report_rows,
    settled_result,
)
from bridge.jobs import JobKind, JobState

K, S = JobKind, JobState
T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=SYDNEY)
WINDOW = (T0, T0 + timedelta(seconds=5))
PROVIDER = "2159081W"


def _row(ref: str, at: datetime = T0 + timedelta(seconds=2), status: str = "APP", amount: int = 20100,
         benefit: int = 12060, provider: str = PROVIDER) -> dict[str, Any]:
    return {
        "terminalDateTime": at.strftime("%Y%m%d%H%M%S"), "settlementDateTime": "20261124140000",
        "providerId": provider, "privateHealthFundId": "PHF00999", "refTag": ref, "status": status,
        "totalClaimAmount": amount, "privateHealthFundTotalBenefitAmount": benefit,
        "privateHealthFundResponseCode": "00", "text": "APPROVED",
    }


def _report(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"type": "claims", "available": True, "claims": list(rows)}


def _rows(*rows: dict[str, Any]) -> list[ReportRow]:
    return report_rows(_report(*rows)) or []


def _unknown(job_id: str = "u1", amount: int = 20100, window: tuple[datetime, datetime] = WINDOW) -> ReconJob:
    return ReconJob(job_id, K.CLAIM, S.UNKNOWN, PROVIDER, amount, None, window=window)


def _done(job_id: str, ref: str, result: str = "APPROVED", benefit: int = 12060, amount: int = 20100,
          cancelled: bool = False) -> ReconJob:
    return ReconJob(job_id, K.CLAIM, S.COMPLETED, PROVIDER, amount, ref, result, benefit, cancelled=cancelled)


@pytest.mark.parametrize(
    ("rows", "held", "settled", "ambiguous"),
    [
        # one row: settled
        ([_row("2120601")], {}, {"u1": "2120601"}, {}),
        # two candidates: nothing settled
        ([_row("2120601"), _row("2120602", T0 + timedelta(seconds=3))], {}, {}, {"u1": ("2120601", "2120602")}),
        # the only candidate row is already another job's
        ([_row("2120601")], {"2120601": "other"}, {}, {"u1": ()}),
        # one row another job holds, one free: the free one settles it
        ([_row("2120601"), _row("2120602")], {"2120601": "other"}, {"u1": "2120602"}, {}),
        # clock skew: inside the window widened by 30 s on either edge
        ([_row("2120601", T0 - timedelta(seconds=30))], {}, {"u1": "2120601"}, {}),
        ([_row("2120601", T0 + timedelta(seconds=35))], {}, {"u1": "2120601"}, {}),
        ([_row("2120601", T0 - timedelta(seconds=31))], {}, {}, {"u1": ()}),
        ([_row("2120601", T0 + timedelta(seconds=36))], {}, {}, {"u1": ()}),
        # another provider or another amount is not the job
        ([_row("2120601", provider="4237955J")], {}, {}, {"u1": ()}),
        ([_row("2120601", amount=20000)], {}, {}, {"u1": ()}),
        # an autovoid row and a void row settle too, with what the fund says
        ([_row("2120601", status="AVOID")], {}, {"u1": "2120601"}, {}),
        ([_row("2120601", status="VOID")], {}, {"u1": "2120601"}, {}),
    ],
)
def test_unknown_claim(rows: list[dict[str, Any]], held: dict[str, str], settled: dict[str, str],
                       ambiguous: dict[str, tuple[str, ...]]) -> None:
    m = reconcile(_rows(*rows), [_unknown()], held)
    assert {j: r.ref_tag for j, r in m.settled.items()} == settled
    assert dict(m.ambiguous) == ambiguous


def test_an_unknown_claim_that_kept_its_ref_tag_is_that_row_only() -> None:
    job = ReconJob("u1", K.CLAIM, S.UNKNOWN, PROVIDER, 20100, "2120602", window=WINDOW)
    m = reconcile(_rows(_row("2120601"), _row("2120602")), [job], {"2120602": "u1"})
    assert {j: r.ref_tag for j, r in m.settled.items()} == {"u1": "2120602"}
    assert [d.ref_tag for d in m.discrepancies] == ["2120601"]  # the other row: notInJournal


def test_a_row_that_is_the_only_candidate_of_two_unknown_jobs_settles_neither() -> None:
    m = reconcile(_rows(_row("2120601")), [_unknown("u1"), _unknown("u2")], {})
    assert m.settled == {} and m.ambiguous == {"u1": ("2120601",), "u2": ("2120601",)}


@pytest.mark.parametrize(("status", "result"), [("APP", "APPROVED"), ("AVOID", "REVERSED"), ("VOID", "CANCELLED")])
def test_settled_result_carries_the_funds_answer(status: str, result: str) -> None:
    job = _unknown()
    m = reconcile(_rows(_row("2120601", status=status)), [job], {})
    got = settled_result(job, m.settled["u1"])
    assert isinstance(got, Settlement)
    assert got.result == result and got.ref_tag == "2120601" and got.fund_status == status
    assert got.total_claim_amount == 20100 and got.fund_id == "PHF00999" and got.phf_response_code == "00"
    assert got.terminal_at == T0 + timedelta(seconds=2) and got.free_text == "APPROVED"
    if status == "APP":
        assert got.total_benefit == 12060 and got.gap == 8040
        assert got.settlement_at == datetime(2026, 11, 24, 14, 0, tzinfo=SYDNEY)
    else:  # no benefit, no gap, no settlement for a claim the fund did not keep
        assert got.total_benefit == 0 and got.gap is None and got.settlement_at is None


@pytest.mark.parametrize(("status", "settled"), [("CAN", True), ("APP", False)])
def test_unknown_cancel_is_settled_only_by_a_can_row(status: str, settled: bool) -> None:
    cancel = ReconJob("x1", K.CANCEL, S.UNKNOWN, PROVIDER, 20100, "2120601", window=WINDOW)
    claim = _done("c1", "2120601", cancelled=False)
    m = reconcile(_rows(_row("2120601", T0 - timedelta(hours=1), status=status)), [claim, cancel], {"2120601": "c1"})
    assert ("x1" in m.settled) is settled
    if settled:
        got = settled_result(cancel, m.settled["x1"])
        assert got.result == "CANCELLED" and got.fund_status == "CAN" and got.gap is None
        assert got.total_benefit == 12060  # the cancelled claim's benefit, as the fund reports it
        assert m.discrepancies == ()  # the claim is cancelled now: CAN is what the journal expects
        assert m.totals.journal.benefit == m.totals.fund.benefit == 0
    else:
        assert m.ambiguous == {"x1": ("2120601",)}


@pytest.mark.parametrize(
    ("job", "row", "kind"),
    [
        (_done("c1", "2120601"), None, "missingAtFund"),
        (_done("c1", "2120601"), _row("2120601", status="CAN"), "statusDiffers"),
        (_done("c1", "2120601"), _row("2120601", status="AVOID"), "statusDiffers"),
        (_done("c1", "2120601", cancelled=True), _row("2120601", status="APP"), "statusDiffers"),
        (_done("c1", "2120601"), _row("2120601", benefit=12000), "amountDiffers"),
        (_done("c1", "2120601", amount=20000), _row("2120601"), "amountDiffers"),
        (_done("c1", "2120601"), _row("2120601"), None),
        (_done("c1", "2120601", cancelled=True), _row("2120601", status="CAN"), None),
        (_done("c1", "2120601", result="CANCELLED", benefit=0), _row("2120601", status="VOID"), None),
        (_done("c1", "2120601", result="DECLINED", benefit=0), None, None),
    ],
)
def test_discrepancies(job: ReconJob, row: dict[str, Any] | None, kind: str | None) -> None:
    m = reconcile(_rows(*([row] if row else [])), [job], {"2120601": "c1"})
    assert [d.kind for d in m.discrepancies] == ([kind] if kind else [])
    if kind:
        (found,) = m.discrepancies
        assert found.job_id == "c1" and found.ref_tag == "2120601"
        assert found.journal == JournalSide(S.COMPLETED, job.result, job.total_claim_amount, job.total_benefit)
        assert found.fund == (None if row is None else _rows(row)[0])  # missingAtFund has no row


def test_a_row_no_job_holds_is_not_in_journal() -> None:
    m = reconcile(_rows(_row("2120601"), _row("2120609", amount=5000, benefit=3000)), [_done("c1", "2120601")],
                  {"2120601": "c1"})
    (found,) = m.discrepancies
    assert found == Discrepancy("notInJournal", "2120609", fund=_rows(_row("2120609", amount=5000, benefit=3000))[0])
    assert found.job_id is None and found.journal is None
    assert m.totals == Totals(fund=Side(2, 25100, 15060), journal=Side(1, 20100, 12060))


def test_a_day_with_no_report_settles_nothing() -> None:
    assert report_rows({"type": "claims", "available": False, "message": "No report created."}) is None
    assert report_rows({"type": "claims", "available": True}) == []  # a report with no claims: a day of none
    m = reconcile(None, [_unknown(), _done("c1", "2120601")], {})
    assert not m.available and m.settled == {} and m.ambiguous == {"u1": ()} and m.discrepancies == ()
    assert m.totals.fund == Side(0, 0, 0) and m.totals.journal == Side(1, 20100, 12060)


def test_report_rows_read_the_parsed_report() -> None:
    (row,) = report_rows(_report(_row("2120601"))) or []
    assert row.at == T0 + timedelta(seconds=2) and row.total_benefit == 12060 and row.status == "APP"
    assert row.fund_id == "PHF00999" and row.response_code == "00" and row.text == "APPROVED"
    assert row.settlement_at == datetime(2026, 11, 24, 14, 0, tzinfo=SYDNEY)
    assert row.raw == _row("2120601")  # the row as the fund gave it, for the wire


def test_report_rows_read_an_empty_or_odd_tag_as_none() -> None:
    odd = {**_row("2120601"), "privateHealthFundId": "", "settlementDateTime": "2026", "text": None}
    del odd["privateHealthFundResponseCode"]
    (row,) = report_rows(_report(odd)) or []
    assert (row.fund_id, row.settlement_at, row.response_code, row.text) == (None, None, None, None)
    got = settled_result(_unknown(), row)
    assert got.fund_id is None and got.settlement_at is None and got.free_text is None


def test_a_job_that_knows_its_ref_tag_is_matched_by_it_whatever_the_time() -> None:
    # The fund's time fell outside the running window (a terminal clock far off, a late
    # answer): the refTag the job knows still names its row.
    job = ReconJob("u1", K.CLAIM, S.UNKNOWN, PROVIDER, 20100, "2120602", window=WINDOW)
    late = _row("2120602", T0 + timedelta(minutes=10))
    m = reconcile(_rows(_row("2120601"), late), [job], {"2120602": "u1"})
    assert {j: r.ref_tag for j, r in m.settled.items()} == {"u1": "2120602"}
    assert dict(m.ambiguous) == {}


def _resolved(outcome: str, ref: str | None = None) -> ReconJob:
    return ReconJob("r1", K.CLAIM, S.RESOLVED, PROVIDER, 20100, ref, None, window=WINDOW, resolution=outcome)


@pytest.mark.parametrize(
    ("outcome", "status", "kind"),
    [
        ("notProcessed", "APP", "statusDiffers"),  # the fund paid a benefit the operator said was never made
        ("declined", "APP", "statusDiffers"),
        ("approved", "APP", None),
        ("approved", "AVOID", "statusDiffers"),
        ("notProcessed", "AVOID", None),
        ("notProcessed", "VOID", None),
    ],
)
def test_a_resolved_claim_the_fund_contradicts_is_a_discrepancy(outcome: str, status: str, kind: str | None) -> None:
    m = reconcile(_rows(_row("2120601", status=status)), [_resolved(outcome)], {})
    found = [d for d in m.discrepancies if d.job_id == "r1"]
    assert [d.kind for d in found] == ([kind] if kind else [])
    if found:
        assert found[0].ref_tag == "2120601" and found[0].journal == JournalSide(S.RESOLVED, None, 20100, 0, outcome)
        assert found[0].fund is not None and found[0].fund.status == status
    # the row is explained by the resolved job: never also notInJournal
    assert [d for d in m.discrepancies if d.kind == "notInJournal"] == []
    assert m.settled == {} and dict(m.ambiguous) == {}


def test_a_resolved_claim_known_by_ref_tag_and_one_approved_missing_at_the_fund() -> None:
    m = reconcile(_rows(_row("2120601", T0 + timedelta(hours=1))), [_resolved("notProcessed", "2120601")], {})
    assert [d.kind for d in m.discrepancies] == ["statusDiffers"]
    m = reconcile(_rows(), [_resolved("approved")], {})
    assert m.discrepancies == (
        Discrepancy("missingAtFund", None, "r1", JournalSide(S.RESOLVED, None, 20100, 0, "approved")),
    )


def test_a_completed_jobs_side_carries_no_resolution() -> None:
    # Only a resolved job's side says how an operator resolved it (the wire leaves it out otherwise).
    job = ReconJob("c1", K.CLAIM, S.COMPLETED, PROVIDER, 20100, "2120601", "APPROVED", 12060, resolution="approved")
    (found,) = reconcile(_rows(), [job], {"2120601": "c1"}).discrepancies
    assert found.journal is not None and found.journal.resolution is None
