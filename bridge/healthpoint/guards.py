"""Money guards, pure: the cancels, gap payments and refunds that must never reach a terminal.

Each guard is asked with the journal's view of the jobs involved (the claim, the cancels and
gap payments made against it, the refunds made against a payment) before anything is
queued, and answers with a :class:`Refusal` (becomes -32004 ``NotAllowedNow`` with
``data.reason``) or ``None``. They exist because the patient taps again and the fund then
declines, or worse, accepts (INTERFACES.md "Money guards"): a second cancel, a cancel that
leaves an approved gap payment charged, a gap larger than the gap, a second gap, a gap after a
cancel, a refund of more than was paid.

A job whose outcome is not known yet (``queued``, ``running``, ``unknown``) counts as if it
succeeded: guessing that it failed is how money moves twice. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bridge.errors import NotAllowedReason
from bridge.healthpoint.claims import cancel_deadline
from bridge.jobs import JobKind, JobState

__all__ = [
    "JobView",
    "Refusal",
    "cancel_cutoff",
    "claimed_at",
    "default_gap_amount",
    "gap_amount",
    "paid_amount",
    "refund_amount",
    "refund_left",
    "refuse_cancel",
    "refuse_gap",
    "refuse_late_cancel",
    "refuse_refund",
]

#: States whose outcome is still open: treated as if the operation went through.
_OPEN = frozenset({JobState.QUEUED, JobState.RUNNING, JobState.UNKNOWN})


@dataclass(frozen=True, slots=True)
class JobView:
    """What a guard needs to know of one journalled job (the terminals' adapter reads it off the
    journal's record: its request and result models)."""

    job_id: str
    kind: JobKind
    state: JobState
    #: The terminal's ``result`` word (``APPROVED``, ``DECLINED``, ``CANCELLED`` ...), once it has one.
    result: str | None = None
    #: The job this one was made against (the claim of a cancel or gap, the gap of a refund).
    parent_job_id: str | None = None
    #: A gap's or refund's ``amount`` as journalled (its default filled in).
    asked: int | None = None
    #: The amount the terminal reported for a gap or refund, when it did.
    paid: int | None = None
    #: A claim's gap in cents, as the fund answered it.
    gap: int | None = None
    #: A claim's time at the terminal (the fund's clock) and its settlement time.
    terminal_at: datetime | None = None
    settlement_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an operation is refused: ``reason`` a stable code, ``message`` in plain words,
    ``data`` for the PMS."""

    reason: NotAllowedReason
    message: str
    data: Mapping[str, object] = field(default_factory=dict)


def _terminal_result(job: JobView) -> str | None:
    return job.result or None


def _approved(job: JobView) -> bool:
    return job.state is JobState.COMPLETED and _terminal_result(job) == "APPROVED"


def _cancelled(job: JobView) -> bool:
    """A cancel that went through at the fund (CANCELLED) or may have (still open)."""
    return job.state in _OPEN or (job.state is JobState.COMPLETED and _terminal_result(job) == "CANCELLED")


def _of(related: Sequence[JobView], kind: JobKind, parent: str) -> list[JobView]:
    return [j for j in related if j.kind is kind and j.parent_job_id == parent]


def paid_amount(payment: JobView) -> int:
    """Cents a gap payment (or refund) asked the terminal for; the terminal's own figure wins."""
    if payment.paid is not None:
        return payment.paid
    return payment.asked or 0


def refund_left(payment: JobView, related: Sequence[JobView]) -> int:
    """What is left of an approved gap payment once its refunds are taken off.

    A refund still open (queued, running, unknown) is taken off too: it may have gone through.
    """
    if not _approved(payment):
        return 0
    refunded = sum(
        paid_amount(r) for r in _of(related, JobKind.REFUND, payment.job_id) if _approved(r) or r.state in _OPEN
    )
    return max(paid_amount(payment) - refunded, 0)


def refund_amount(payment: JobView, related: Sequence[JobView], amount: int | None) -> int:
    """The amount a refund asks for: ``amount`` if given, else what is left of the payment."""
    return amount if amount is not None else refund_left(payment, related)


def _claim_refusal(claim: JobView) -> Refusal | None:
    if claim.kind is not JobKind.CLAIM:
        return Refusal("notAClaim", "the job is not a claim", {"claimJobId": claim.job_id, "kind": str(claim.kind)})
    if not _approved(claim):
        return Refusal(
            "notApproved", "the claim was not approved",
            {"claimJobId": claim.job_id, "state": str(claim.state), "result": _terminal_result(claim)},
        )
    return None


def _cancel_refusal(claim: JobView, related: Sequence[JobView]) -> Refusal | None:
    for cancel in _of(related, JobKind.CANCEL, claim.job_id):
        if cancel.state in _OPEN:
            return Refusal(
                "cancelInFlight", "a cancel of this claim is in flight or its outcome is unknown",
                {"claimJobId": claim.job_id, "cancelJobId": cancel.job_id, "state": str(cancel.state)},
            )
        if _cancelled(cancel):
            return Refusal("alreadyCancelled", "the claim is already cancelled", {"claimJobId": claim.job_id, "cancelJobId": cancel.job_id})
    return None


def refuse_cancel(claim: JobView, related: Sequence[JobView]) -> Refusal | None:
    """Whether a cancel of ``claim`` must be refused.

    Refused: a job that is not an approved claim; a second cancel (a cancel that went through,
    or one still open); a claim whose gap payment is approved (or still open) and not fully
    refunded: cancelling would leave the patient charged for a gap that no longer exists
    (``data.paymentJobId`` names that payment).

    Args:
        claim: the claim to cancel.
        related: the jobs made against the claim and against its payments.
    """
    refusal = _claim_refusal(claim) or _cancel_refusal(claim, related)
    if refusal is not None:
        return refusal
    for gap in _of(related, JobKind.GAP, claim.job_id):
        if gap.state in _OPEN:
            return Refusal(
                "gapInFlight", "a gap payment of this claim is in flight or its outcome is unknown",
                {"claimJobId": claim.job_id, "paymentJobId": gap.job_id, "state": str(gap.state)},
            )
        if _approved(gap) and refund_left(gap, related) > 0:
            return Refusal(
                "gapApproved", "the claim's gap payment is approved and not refunded; refund it first",
                {"claimJobId": claim.job_id, "paymentJobId": gap.job_id, "left": refund_left(gap, related)},
            )
    return None


def _aware(value: datetime | None) -> datetime | None:
    """A result's time when it names an aware moment (a naive one is not trusted)."""
    if value is not None and value.utcoffset() is not None:
        return value
    return None


def claimed_at(claim: JobView, last_change: datetime) -> datetime:
    """When the fund took a claim, by the fund's own clock: the terminal's time of the
    transaction (``result.terminalAt``, from the terminal's answer or the fund's claims report).
    Only a result without an aware one falls back to ``last_change`` (the journal row's): a
    patient who accepts after midnight must not move the claim to the next day."""
    return _aware(claim.terminal_at) or last_change


def cancel_cutoff(claim: JobView, last_change: datetime) -> datetime:
    """The last second (inclusive) a claim may be cancelled: 23:59:59 Australia/Sydney of the day
    the fund took it (:func:`claimed_at`), and never at or after its settlement (seeds/004
    "Claim Cancel": same day, prior to settlement)."""
    deadline = cancel_deadline(claimed_at(claim, last_change))
    settles = _aware(claim.settlement_at)
    if settles is not None and settles <= deadline:
        return settles - timedelta(seconds=1)
    return deadline


def refuse_late_cancel(claim: JobView, last_change: datetime, now: datetime) -> Refusal | None:
    """A cancel after :func:`cancel_cutoff` (the whole 23:59:59 second still counts);
    ``last_change`` is the claim row's, ``now`` the daemon's clock."""
    cutoff = cancel_cutoff(claim, last_change)
    if now < cutoff + timedelta(seconds=1):
        return None
    return Refusal(
        "pastCancelDeadline", "a claim can be cancelled only until 23:59:59 Australia/Sydney of the day it was made",
        {"claimJobId": claim.job_id, "deadline": cutoff.isoformat()},
    )


def default_gap_amount(claim: JobView) -> int:
    """The claim's gap in cents as the fund answered it (0 when it left none)."""
    return claim.gap or 0


def gap_amount(claim: JobView, amount: int | None) -> int:
    """The amount a gap payment asks for: ``amount`` if given, else the claim's gap."""
    return amount if amount is not None else default_gap_amount(claim)


def refuse_gap(claim: JobView, related: Sequence[JobView], amount: int | None) -> Refusal | None:
    """Whether a gap payment of ``amount`` (None: the claim's gap) on ``claim`` must be refused.

    Refused: a job that is not an approved claim; a claim cancelled (or with a cancel still
    open); a claim that already has an approved gap payment not fully refunded, or one still
    open; a claim that left no gap; an ``amount`` above the claim's gap.
    """
    refusal = _claim_refusal(claim)
    if refusal is not None:
        return refusal
    for cancel in _of(related, JobKind.CANCEL, claim.job_id):
        if _cancelled(cancel):
            return Refusal(
                "claimCancelled", "the claim is cancelled or a cancel of it is in flight",
                {"claimJobId": claim.job_id, "cancelJobId": cancel.job_id, "state": str(cancel.state)},
            )
    for payment in _of(related, JobKind.GAP, claim.job_id):
        if payment.state in _OPEN or (_approved(payment) and refund_left(payment, related) > 0):
            return Refusal(
                "gapExists", "the claim already has a gap payment",
                {"claimJobId": claim.job_id, "paymentJobId": payment.job_id, "state": str(payment.state)},
            )
    gap = default_gap_amount(claim)
    if gap <= 0:
        return Refusal("noGap", "the claim left no gap to pay", {"claimJobId": claim.job_id, "gap": gap})
    wanted = gap_amount(claim, amount)
    if wanted > gap:
        return Refusal("amountAboveGap", "the amount is above the claim's gap", {"claimJobId": claim.job_id, "gap": gap, "amount": wanted})
    return None


def refuse_refund(payment: JobView, related: Sequence[JobView], amount: int | None) -> Refusal | None:
    """Whether a refund of ``amount`` (None: all that is left) of ``payment`` must be refused.

    Refused: a job that is not a gap payment, or one not approved; nothing left to refund;
    an ``amount`` above what is left (refunds still open count as made).
    """
    if payment.kind is not JobKind.GAP:
        return Refusal("notAPayment", "the job is not a gap payment", {"paymentJobId": payment.job_id, "kind": str(payment.kind)})
    if not _approved(payment):
        return Refusal(
            "notApproved", "the payment was not approved",
            {"paymentJobId": payment.job_id, "state": str(payment.state), "result": _terminal_result(payment)},
        )
    left = refund_left(payment, related)
    if left <= 0:
        return Refusal("nothingToRefund", "nothing is left of the payment to refund", {"paymentJobId": payment.job_id, "left": 0})
    wanted = amount if amount is not None else left
    if wanted > left:
        return Refusal(
            "amountAboveRemaining", "the amount is above what is left of the payment",
            {"paymentJobId": payment.job_id, "left": left, "amount": wanted},
        )
    return None
