"""bridge/healthpoint/guards.py: the money guards, as tables of journal views."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bridge.healthpoint import (
    JobView,
    cancel_cutoff,
    claimed_at,
    default_gap_amount,
    refund_amount,
    refund_left,
    refuse_cancel,
    refuse_gap,
    refuse_late_cancel,
    refuse_refund,
)
from bridge.jobs import JobKind, JobState

K, S = JobKind, JobState
CLAIM = JobView("c1", K.CLAIM, S.COMPLETED, "APPROVED", gap=8040)


def _job(job_id: str, kind: JobKind, state: JobState, result: str | None = None, parent: str = "c1",
         amount: int | None = None) -> JobView:
    return JobView(job_id, kind, state, result, parent, asked=amount)


GAP_OK = _job("g1", K.GAP, S.COMPLETED, "APPROVED", amount=8040)


@pytest.mark.parametrize(
    ("related", "reason"),
    [
        ([], None),
        ([_job("x1", K.CANCEL, S.COMPLETED, "CANCELLED")], "the claim is already cancelled"),
        ([_job("x1", K.CANCEL, S.RUNNING)], "a cancel of this claim is in flight or its outcome is unknown"),
        ([_job("x1", K.CANCEL, S.UNKNOWN)], "a cancel of this claim is in flight or its outcome is unknown"),
        ([_job("x1", K.CANCEL, S.COMPLETED, "DECLINED")], None),  # the fund refused it: may try again
        ([_job("x1", K.CANCEL, S.FAILED)], None),
        ([GAP_OK], "the claim's gap payment is approved and not refunded; refund it first"),
        ([GAP_OK, _job("r1", K.REFUND, S.COMPLETED, "APPROVED", "g1", 8040)], None),
        ([GAP_OK, _job("r1", K.REFUND, S.COMPLETED, "APPROVED", "g1", 40)],
         "the claim's gap payment is approved and not refunded; refund it first"),
        ([_job("g1", K.GAP, S.COMPLETED, "DECLINED", amount=8040)], None),
        ([_job("g1", K.GAP, S.QUEUED, amount=8040)], "a gap payment of this claim is in flight or its outcome is unknown"),
    ],
)
def test_cancel_guard(related: list[JobView], reason: str | None) -> None:
    refusal = refuse_cancel(CLAIM, related)
    assert (refusal.message if refusal else None) == reason


def test_cancel_blocked_by_a_paid_gap_names_the_payment() -> None:
    refusal = refuse_cancel(CLAIM, [GAP_OK])
    assert refusal is not None and refusal.data["paymentJobId"] == "g1"


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        (JobView("c1", K.CLAIM, S.COMPLETED, "DECLINED"), "the claim was not approved"),
        (JobView("c1", K.CLAIM, S.UNKNOWN), "the claim was not approved"),
        (JobView("c1", K.GAP, S.COMPLETED, "APPROVED"), "the job is not a claim"),
    ],
)
def test_only_an_approved_claim_is_cancelled_or_paid(claim: JobView, reason: str) -> None:
    assert (r := refuse_cancel(claim, [])) is not None and r.message == reason
    assert (r := refuse_gap(claim, [], None)) is not None and r.message == reason


@pytest.mark.parametrize(
    ("related", "amount", "reason"),
    [
        ([], None, None),
        ([], 8040, None),
        ([], 100, None),
        ([], 8041, "the amount is above the claim's gap"),
        ([GAP_OK], None, "the claim already has a gap payment"),
        ([_job("g1", K.GAP, S.UNKNOWN, amount=8040)], None, "the claim already has a gap payment"),
        ([_job("g1", K.GAP, S.COMPLETED, "DECLINED", amount=8040)], None, None),
        ([GAP_OK, _job("r1", K.REFUND, S.COMPLETED, "APPROVED", "g1", 8040)], None, None),
        ([_job("x1", K.CANCEL, S.COMPLETED, "CANCELLED")], None, "the claim is cancelled or a cancel of it is in flight"),
        ([_job("x1", K.CANCEL, S.RUNNING)], None, "the claim is cancelled or a cancel of it is in flight"),
    ],
)
def test_gap_guard(related: list[JobView], amount: int | None, reason: str | None) -> None:
    refusal = refuse_gap(CLAIM, related, amount)
    assert (refusal.message if refusal else None) == reason


def test_a_claim_with_no_gap_cannot_be_paid() -> None:
    claim = JobView("c1", K.CLAIM, S.COMPLETED, "APPROVED", gap=0)
    assert default_gap_amount(claim) == 0
    assert (r := refuse_gap(claim, [], None)) is not None and r.message == "the claim left no gap to pay"


@pytest.mark.parametrize(
    ("refunds", "amount", "left", "reason"),
    [
        ([], None, 8040, None),
        ([], 8040, 8040, None),
        ([], 8041, 8040, "the amount is above what is left of the payment"),
        ([_job("r1", K.REFUND, S.COMPLETED, "APPROVED", "g1", 8040)], None, 0, "nothing is left of the payment to refund"),
        ([_job("r1", K.REFUND, S.COMPLETED, "APPROVED", "g1", 40)], 8000, 8000, None),
        ([_job("r1", K.REFUND, S.COMPLETED, "APPROVED", "g1", 40)], 8001, 8000, "the amount is above what is left of the payment"),
        ([_job("r1", K.REFUND, S.RUNNING, None, "g1", 8040)], None, 0, "nothing is left of the payment to refund"),
        ([_job("r1", K.REFUND, S.COMPLETED, "DECLINED", "g1", 8040)], None, 8040, None),
    ],
)
def test_refund_guard(refunds: list[JobView], amount: int | None, left: int, reason: str | None) -> None:
    assert refund_left(GAP_OK, refunds) == left
    refusal = refuse_refund(GAP_OK, refunds, amount)
    assert (refusal.message if refusal else None) == reason


def test_only_an_approved_gap_payment_is_refunded() -> None:
    assert (r := refuse_refund(CLAIM, [], None)) is not None and r.message == "the job is not a gap payment"
    declined = _job("g1", K.GAP, S.COMPLETED, "DECLINED", amount=8040)
    assert (r := refuse_refund(declined, [], None)) is not None and r.message == "the payment was not approved"


def test_every_refusal_carries_a_stable_code() -> None:
    from bridge.reasons import NOT_ALLOWED_REASONS

    declined = replace(CLAIM, result="DECLINED")
    cases = [
        (refuse_cancel(declined, []), "notApproved"),
        (refuse_refund(CLAIM, [], None), "notAPayment"),
        (refuse_gap(replace(CLAIM, gap=0), [], None), "noGap"),
        (refuse_gap(CLAIM, [], 10**9), "amountAboveGap"),
    ]
    for refusal, code in cases:
        assert refusal is not None and refusal.reason == code and code in NOT_ALLOWED_REASONS




# ---------------------------------------------------------------- the cancel cut-off, refund amounts


def test_claimed_at_is_the_rows_last_change_or_the_reports_terminal_time() -> None:
    changed = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    plain = JobView("c", JobKind.CLAIM, JobState.COMPLETED, result="APPROVED")
    settled = JobView("c", JobKind.CLAIM, JobState.COMPLETED, "APPROVED", terminal_at=_when("2026-11-20T10:00:00+11:00"))
    assert claimed_at(plain, changed) == changed
    assert claimed_at(settled, changed) == datetime(2026, 11, 19, 23, 0, tzinfo=UTC)


def test_a_cancel_after_the_claims_sydney_day_is_refused() -> None:
    claim = JobView("c", JobKind.CLAIM, JobState.COMPLETED, result="APPROVED")
    made = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # 12:00 in Sydney (AEDT)
    assert refuse_late_cancel(claim, made, datetime(2026, 11, 22, 12, 59, 59, tzinfo=UTC)) is None
    refusal = refuse_late_cancel(claim, made, datetime(2026, 11, 22, 13, 0, tzinfo=UTC))
    assert refusal is not None and refusal.reason == "pastCancelDeadline" and "23:59:59 Australia/Sydney" in refusal.message
    assert refusal.data == {"claimJobId": "c", "deadline": "2026-11-22T23:59:59+11:00"}


def test_a_refund_asks_for_its_amount_or_what_is_left() -> None:
    paid = JobView("g", JobKind.GAP, JobState.COMPLETED, result="APPROVED", paid=5000)
    part = JobView("r", JobKind.REFUND, JobState.COMPLETED, result="APPROVED", parent_job_id="g", paid=1000)
    assert refund_amount(paid, [part], 700) == 700
    assert refund_amount(paid, [part], None) == 4000


# -- the cancel cut-off: the fund's day, not the journal's ------------------------------------


SYD = ZoneInfo("Australia/Sydney")


def _when(text: str | None) -> datetime | None:
    """A result's time as the journal's model reads it (text that is no time never gets this far)."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _approved(terminal_at: str | None, settlement_at: str | None = None) -> JobView:
    return JobView(job_id="c", kind=JobKind.CLAIM, state=JobState.COMPLETED, result="APPROVED",
                   terminal_at=_when(terminal_at), settlement_at=_when(settlement_at))


def test_a_claim_the_patient_accepts_after_midnight_belongs_to_the_day_the_fund_took_it() -> None:
    # The fund took it at 23:59:58 Sydney (AEDT); the journal recorded the outcome at 00:00:03.
    claim = _approved("2026-11-23T23:59:58+11:00", "2026-11-24T14:00:00+11:00")
    recorded = datetime(2026, 11, 24, 0, 0, 3, tzinfo=SYD)
    assert claimed_at(claim, recorded) == datetime(2026, 11, 23, 23, 59, 58, tzinfo=SYD)
    assert cancel_cutoff(claim, recorded) == datetime(2026, 11, 23, 23, 59, 59, tzinfo=SYD)
    with time_machine.travel(datetime(2026, 11, 23, 12, 59, 59, 500000, tzinfo=UTC), tick=False):
        assert refuse_late_cancel(claim, recorded, datetime.now(UTC)) is None  # 23:59:59.5 Sydney
    with time_machine.travel(datetime(2026, 11, 23, 13, 0, 0, tzinfo=UTC), tick=False):
        assert refuse_late_cancel(claim, recorded, datetime.now(UTC)) is not None  # 00:00:00 next day


def test_without_the_fund_s_time_the_journal_s_time_is_used() -> None:
    recorded = datetime(2026, 11, 23, 10, 0, tzinfo=SYD)
    for claim in (_approved(None), _approved("not a time"), _approved("2026-11-23T10:00:00")):  # naive: not trusted
        assert cancel_cutoff(claim, recorded) == datetime(2026, 11, 23, 23, 59, 59, tzinfo=SYD)


@pytest.mark.parametrize(("terminal_at", "last_second_utc"), [
    # DST starts 2026-10-04 02:00 AEST -> 03:00 AEDT: the day's 23:59:59 is AEDT (+11).
    ("2026-10-04T01:30:00+10:00", datetime(2026, 10, 4, 12, 59, 59, tzinfo=UTC)),
    # DST ends 2026-04-05 03:00 AEDT -> 02:00 AEST: the day's 23:59:59 is AEST (+10).
    ("2026-04-05T02:30:00+11:00", datetime(2026, 4, 5, 13, 59, 59, tzinfo=UTC)),
    # A terminal time given in UTC still counts by its Sydney day (14:30 UTC is 01:30 next day AEDT).
    ("2026-11-23T14:30:00+00:00", datetime(2026, 11, 24, 12, 59, 59, tzinfo=UTC)),
])
def test_the_cut_off_is_23_59_59_sydney_of_the_fund_s_day_across_dst(terminal_at: str, last_second_utc: datetime) -> None:
    claim = _approved(terminal_at)
    recorded = datetime(2030, 1, 1, tzinfo=UTC)  # the journal's clock jumped: ignored
    assert cancel_cutoff(claim, recorded) == last_second_utc
    with time_machine.travel(last_second_utc, tick=False):
        assert refuse_late_cancel(claim, recorded, datetime.now(UTC)) is None
    with time_machine.travel(last_second_utc + timedelta(seconds=1), tick=False):
        assert refuse_late_cancel(claim, recorded, datetime.now(UTC)) is not None


def test_never_at_or_after_settlement() -> None:
    claim = _approved("2026-11-23T10:00:00+11:00", "2026-11-23T14:00:00+11:00")
    assert cancel_cutoff(claim, datetime(2026, 11, 23, tzinfo=UTC)) == datetime(2026, 11, 23, 13, 59, 59, tzinfo=SYD)
