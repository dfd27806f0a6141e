"""bridge/healthpoint/guards.py: the money guards, as tables of journal views."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.healthpoint import (
    JobView,
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
CLAIM = JobView("c1", K.CLAIM, S.COMPLETED, {}, {"result": "APPROVED", "gap": 8040})


def _job(job_id: str, kind: JobKind, state: JobState, result: str | None = None, parent: str = "c1",
         amount: int | None = None) -> JobView:
    request: dict[str, Any] = {"amount": amount} if amount is not None else {}
    return JobView(job_id, kind, state, request, {"result": result} if result else None, parent)


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
        (JobView("c1", K.CLAIM, S.COMPLETED, {}, {"result": "DECLINED"}), "the claim was not approved"),
        (JobView("c1", K.CLAIM, S.UNKNOWN, {}, None), "the claim was not approved"),
        (JobView("c1", K.GAP, S.COMPLETED, {}, {"result": "APPROVED"}), "the job is not a claim"),
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
    claim = JobView("c1", K.CLAIM, S.COMPLETED, {}, {"result": "APPROVED", "gap": 0})
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

    declined = replace(CLAIM, result={"result": "DECLINED"})
    cases = [
        (refuse_cancel(declined, []), "notApproved"),
        (refuse_refund(CLAIM, [], None), "notAPayment"),
        (refuse_gap(replace(CLAIM, result={"result": "APPROVED", "gap": 0}), [], None), "noGap"),
        (refuse_gap(CLAIM, [], 10**9), "amountAboveGap"),
    ]
    for refusal, code in cases:
        assert refusal is not None and refusal.reason == code and code in NOT_ALLOWED_REASONS




# ---------------------------------------------------------------- the cancel cut-off, refund amounts


def test_claimed_at_is_the_rows_last_change_or_the_reports_terminal_time() -> None:
    changed = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    plain = JobView("c", JobKind.CLAIM, JobState.COMPLETED, result={"result": "APPROVED"})
    settled = JobView("c", JobKind.CLAIM, JobState.COMPLETED,
                      result={"source": "reconciliation", "terminalAt": "2026-11-20T10:00:00+11:00"})
    assert claimed_at(plain, changed) == changed
    assert claimed_at(settled, changed) == datetime(2026, 11, 19, 23, 0, tzinfo=UTC)


def test_a_cancel_after_the_claims_sydney_day_is_refused() -> None:
    claim = JobView("c", JobKind.CLAIM, JobState.COMPLETED, result={"result": "APPROVED"})
    made = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # 12:00 in Sydney (AEDT)
    assert refuse_late_cancel(claim, made, datetime(2026, 11, 22, 12, 59, 59, tzinfo=UTC)) is None
    refusal = refuse_late_cancel(claim, made, datetime(2026, 11, 22, 13, 0, tzinfo=UTC))
    assert refusal is not None and refusal.reason == "pastCancelDeadline" and "23:59:59 Australia/Sydney" in refusal.message
    assert refusal.data == {"claimJobId": "c", "deadline": "2026-11-22T23:59:59+11:00"}


def test_a_refund_asks_for_its_amount_or_what_is_left() -> None:
    paid = JobView("g", JobKind.GAP, JobState.COMPLETED, result={"result": "APPROVED", "amount": 5000})
    part = JobView("r", JobKind.REFUND, JobState.COMPLETED, result={"result": "APPROVED", "amount": 1000},
                   parent_job_id="g")
    assert refund_amount(paid, [part], 700) == 700
    assert refund_amount(paid, [part], None) == 4000
