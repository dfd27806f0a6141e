"""One HealthPoint transaction, sans I/O: what to ask iClient, and what its callbacks mean.

A :class:`HealthPointOperation` holds every rule of one claim, rebate estimate, cancel, gap
payment or refund on a terminal, in the manner of websockets' ``Protocol`` and h11's
``Connection``: it does no I/O and reads no clock. The terminal's runner asks it for the iClient
call (:meth:`~HealthPointOperation.call`), feeds it each event the page relays
(:meth:`~HealthPointOperation.receive_event`) and carries out the effects it returns, in order:

- :class:`Status`: journal a status line and tell the desk (``job.status``);
- :class:`Ask`: a question for the desk (``job.question``), answered by ``job.answer``;
- :class:`Answer`: a question answered without the desk (the claim's ``onApproved`` policy, which
  the page applies at once, or a single-option error question, which the runner acknowledges);
- :class:`Receipt`: journal a merchant receipt;
- :class:`Finish`: the job's outcome (state, result, error);
- :class:`LeaveUnknown`: a re-attached job stays ``unknown`` (the answer is not ours, or not
  definite), with the reason for its history.

A job whose outcome was lost is re-attached with ``continueLastTransaction``
(:meth:`~HealthPointOperation.reattach`); its answer counts only when it is provably this job's
transaction (:func:`bridge.healthpoint.is_same_transaction`), and it completes the job only when
the outcome is definite.

Sources: reference/tyro-iclient-healthpoint.md §1.2 (callbacks, ``isError``), §1.3 (methods),
§1.4/§1.5 (results); seeds/004 (custom ``transactionId``, gap payments, cancel).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeGuard

from bridge.healthpoint.claims import (
    ClaimRequest, ClaimResult, Pairing, normalise_claim_response, to_iclient_cancel, to_iclient_claim,
)
from bridge.healthpoint.iclient import (
    Failure, IclientRequest, JsonObject, PairCall, PurchaseOutcome, ReportCall, TransactionCall,
)
from bridge.healthpoint.policy import auto_answers
from bridge.healthpoint.purchases import (
    UnfitAnswer,
    normalise_purchase,
    receipts_of,
    to_iclient_gap_purchase,
    to_iclient_refund,
)
from bridge.healthpoint.recovery import is_same_transaction
from bridge.healthpoint.starting import StartFailure, start_error, state_after_start_failure
from bridge.jobs import JobKind, JobState, outcome_state

__all__ = [
    "ACKNOWLEDGED",
    "Answer",
    "Ask",
    "Call",
    "Effect",
    "Finish",
    "HealthPointOperation",
    "LeaveUnknown",
    "NotRunnable",
    "OperationRequest",
    "POLICY",
    "Parent",
    "Receipt",
    "Status",
    "TRANSACTION_KINDS",
    "is_purchase",
    "pairing_call",
    "pairing_status",
    "report_call",
    "terminal_info_call",
]

#: The kinds of job that are one iClient transaction on a terminal.
TRANSACTION_KINDS = frozenset({JobKind.CLAIM, JobKind.REBATE_ESTIMATE, JobKind.CANCEL, JobKind.GAP, JobKind.REFUND})

#: The iClient method of each kind (reference §1.3).
_METHODS: Mapping[JobKind, str] = MappingProxyType({
    JobKind.CLAIM: "initiateHealthPointClaim",
    JobKind.REBATE_ESTIMATE: "initiateHealthPointRebateEstimate",
    JobKind.CANCEL: "cancelHealthPointClaim",
    JobKind.GAP: "initiatePurchase",
    JobKind.REFUND: "initiateRefund",
})
_CONTINUE = "continueLastTransaction"
#: Who answered a question the desk never saw (history's ``by``).
POLICY = "onApproved policy"
ACKNOWLEDGED = "error acknowledged"


def is_purchase(kind: JobKind) -> bool:
    """Whether a job of ``kind`` is a card purchase or refund (iClient's purchase answer, §1.4),
    not a HealthPoint claim, estimate or cancel (§1.5)."""
    return kind in (JobKind.GAP, JobKind.REFUND)


class NotRunnable(ValueError):
    """The job cannot be turned into an iClient call (its parent is missing or has no result)."""


# -- effects -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """Start an iClient method on the page.

    ``answers``: option labels the page answers at once when a question offers them (the
    claim's ``onApproved`` policy), so that the common path costs no round trip.
    """

    method: str
    request: IclientRequest | None
    answers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Status:
    """A status line the terminal showed."""

    text: str


@dataclass(frozen=True, slots=True)
class Ask:
    """A question for the desk; the terminal waits for ``job.answer``."""

    text: str
    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    """A question answered without the desk: ``send`` when the runner must pass ``label`` to the
    page, False when the page already answered it (from :attr:`Call.answers`)."""

    text: str
    options: tuple[str, ...]
    label: str
    by: str
    send: bool


@dataclass(frozen=True, slots=True)
class Receipt:
    """A merchant receipt the terminal printed into the daemon (integrated receipts)."""

    text: str


@dataclass(frozen=True, slots=True)
class Finish:
    """The job's outcome: its next state, result, receipts (``{merchant?, customer?}``, None
    when the terminal sent none) and (for a failed one) error.

    ``reattached``: the outcome of an ``unknown`` job, learnt by ``continueLastTransaction``
    (``note`` says so in its history). An answer that does not fit is ``unknown`` with no
    result, and ``note`` keeps it whole.
    """

    state: JobState
    result: ClaimResult | PurchaseOutcome | None
    error: Failure | None
    receipts: Mapping[str, str] | None = None
    reattached: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class LeaveUnknown:
    """A re-attached job stays ``unknown``; ``why`` goes to its history."""

    why: str


Effect = Status | Ask | Answer | Receipt | Finish | LeaveUnknown


@dataclass(frozen=True, slots=True)
class OperationRequest:
    """What the operation reads of a job's stored request (validated once, where it entered)."""

    #: A claim's or rebate estimate's claim.
    claim: ClaimRequest | None = None
    #: A claim's ``onApproved`` policy.
    on_approved: str | None = None
    #: A gap's or refund's amount in cents (a gap without one pays the claim's gap).
    amount: int | None = None


@dataclass(frozen=True, slots=True)
class Parent:
    """The journalled job a cancel or gap is made against: its claim and the claim's result
    (``refTag``, ``gap``, ``transactionId``), None while it has none."""

    claim: ClaimRequest | None
    result: ClaimResult | None


# -- the operation -------------------------------------------------------------------------------


class HealthPointOperation:
    """One transaction of one job.

    Args:
        kind: the job's kind (one of :data:`TRANSACTION_KINDS`).
        job_id: the job's id, sent as iClient's custom ``transactionId`` so that a re-attached
            answer can be proven to be this job's (seeds/004 "Supply a custom transaction ID").
        request: what the operation reads of the job's stored request.
        parent: for a cancel or gap, the claim it is made against.
    """

    def __init__(self, kind: JobKind, job_id: str, request: OperationRequest, parent: Parent | None = None) -> None:
        if kind not in TRANSACTION_KINDS:
            raise NotRunnable(f"{kind} jobs do not run on a terminal")
        self.kind = kind
        self.job_id = job_id
        self.request = request
        self.parent = parent
        #: The iClient request sent (or that would have been), once :meth:`call` made it.
        self.sent: TransactionCall | None = None
        #: Whether the operation follows ``continueLastTransaction`` for an ``unknown`` job.
        self.reattached = False
        #: The question the terminal waits on the desk for, if any.
        self.pending: Ask | None = None
        self._receipts: list[str] = []

    # -- what to send --------------------------------------------------------------------------

    @property
    def answers(self) -> tuple[str, ...]:
        """Labels the page answers by itself: the claim's ``onApproved`` policy."""
        return auto_answers(self.request.on_approved)

    @property
    def cancels_on_timeout(self) -> bool:
        """Whether a transaction that goes too long without an outcome is asked to cancel. A
        re-attached one is only waited for: cancelling it could void what the patient accepted."""
        return not self.reattached

    def call(self, pairing: Pairing | None) -> Call:
        """The iClient call that runs this job, every request carrying the job's id as its
        custom ``transactionId``.

        Raises:
            NotRunnable: a cancel or gap without the claim it was made against, or whose claim
                has no result; a request the conversions refuse.
        """
        try:
            request = self._request(pairing)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, NotRunnable):
                raise
            raise NotRunnable(f"a {self.kind} job cannot be sent: {exc}") from exc
        request["transactionId"] = self.job_id
        self.sent = request
        return Call(_METHODS[self.kind], request, self.answers)

    def _claim(self, claim: ClaimRequest | None) -> ClaimRequest:
        if claim is None:
            raise NotRunnable(f"a {self.kind} job needs its claim")
        return claim

    def _request(self, pairing: Pairing | None) -> TransactionCall:
        if self.kind in (JobKind.CLAIM, JobKind.REBATE_ESTIMATE):
            return to_iclient_claim(self._claim(self.request.claim), pairing)
        if self.kind is JobKind.REFUND:
            return to_iclient_refund(self.request.amount or 0, pairing)
        if self.parent is None:
            raise NotRunnable(f"a {self.kind} job needs the job it was made against")
        result = self.parent.result
        if result is None:
            raise NotRunnable(f"the job a {self.kind} was made against has no result")
        if self.kind is JobKind.CANCEL:
            if not result.refTag:
                raise NotRunnable("the claim a cancel was made against has no refTag")
            return to_iclient_cancel(self._claim(self.parent.claim), result.refTag, pairing)
        if not result.transactionId:
            raise NotRunnable("the claim a gap was made against has no transactionId")
        return to_iclient_gap_purchase(self.request.amount or result.gap or 0, result.transactionId, pairing)

    def reattach(self, pairing: Pairing | None) -> Call:
        """Follow ``continueLastTransaction`` for this ``unknown`` job from now on: the call to
        make. What was sent is rebuilt from the job when this operation did not send it.

        Raises:
            NotRunnable: as :meth:`call`.
        """
        if self.sent is None:
            self.call(pairing)
        self.reattached = True
        self.pending = None
        self._receipts = []
        return Call(_CONTINUE, None, self.answers)

    # -- what comes back -----------------------------------------------------------------------

    def receive_event(self, kind: str, payload: object) -> list[Effect]:
        """One event the page relayed (``status``, ``question``, ``receipt``, ``complete``); the
        effects to carry out, in order. Other kinds mean nothing to the transaction.

        ``payload`` is JSON as the page sent it: it is narrowed here, once, into the effects'
        typed values."""
        if kind == "status":
            return [Status(str(payload))]
        if kind == "question":
            return self._question(_object(payload))
        if kind == "receipt":
            text = str(_object(payload).get("merchantReceipt") or "")
            self._receipts.append(text)
            return [Receipt(text)]
        if kind == "complete":
            return [self._outcome(_object(payload))]
        if kind == "unreachable":
            # iClient's frame could not load from its server: the request never left the page.
            return [self.not_started(StartFailure.UNREACHABLE, str(payload))]
        return []

    def refused(self, detail: str) -> Finish | LeaveUnknown:
        """iClient refused the call at once ("Transaction already in progress."): see :meth:`not_started`."""
        return self.not_started(StartFailure.REFUSED, detail)

    def not_started(self, failure: StartFailure, detail: str) -> Finish | LeaveUnknown:
        """The call did not start (:mod:`bridge.healthpoint.starting`): ``failed`` with the
        terminal's reason where nothing left the page. A re-attached job stays ``unknown``."""
        self.pending = None
        if self.reattached:
            return LeaveUnknown(f"{_CONTINUE} did not start: {detail}")
        return Finish(state_after_start_failure(failure), None, start_error(failure, detail))

    def _question(self, question: JsonObject) -> list[Effect]:
        text = str(question.get("text") or "")
        offered = question.get("options") or []
        options = tuple(str(o) for o in offered) if isinstance(offered, (list, tuple)) else ()
        answered = question.get("answered")
        if answered is not None:
            # The page answered at once, from :attr:`Call.answers`.
            return [Answer(text, options, str(answered), POLICY, send=False)]
        if question.get("isError") and len(options) == 1:
            # "Invalid transaction details (400)." OK: nothing to decide; its outcome follows as
            # NOT STARTED (reference §1.2).
            return [Answer(text, options, options[0], ACKNOWLEDGED, send=True)]
        policy = next((a for a in self.answers if a in options), None)
        if policy is not None:
            return [Answer(text, options, policy, POLICY, send=True)]
        ask = Ask(text, options)
        if ask == self.pending:
            return []  # terminals repeat an unanswered question now and then: ask the desk once
        self.pending = ask
        return [ask]

    def answer(self, answer: str) -> str | None:
        """The desk's answer to the pending question: the option it names, matched without
        regard to case ("accept" answers "ACCEPT") and as the terminal offered it; None when no
        question is pending or it names no option. The question is no longer pending once
        answered."""
        if self.pending is None:
            return None
        wanted = answer.strip().casefold()
        label = next((o for o in self.pending.options if o.casefold() == wanted), None)
        if label is not None:
            self.pending = None
        return label

    def is_ours(self, response: JsonObject) -> bool:
        """Whether a ``continueLastTransaction`` answer is this job's transaction."""
        if self.sent is None:
            return False
        return is_same_transaction(self.sent, response)

    def _outcome(self, response: JsonObject) -> Finish | LeaveUnknown:
        self.pending = None
        raw = str(response.get("result", "UNKNOWN"))
        state = outcome_state(raw)
        if self.reattached:
            if not self.is_ours(response):
                return LeaveUnknown("the terminal's last transaction is another one")
            if state is not JobState.COMPLETED:
                return LeaveUnknown(f"terminal answered {raw}; left unknown")
        receipts = receipts_of(self._receipts, response)
        code = response.get("healthpointErrorCode")
        message = str(response.get("healthpointErrorDescription") or response.get("result"))
        told = {"message": message, "code": code} if state is JobState.FAILED else None
        code_fits = told is None or _is_code(code)
        try:
            result = self._result(response)
        except UnfitAnswer as exc:
            return self._unfit(exc.problems + (not code_fits), exc.kept, receipts, told)
        error: Failure | None = None
        if told is not None:
            if not _is_code(code):
                kept = result if not isinstance(result, ClaimResult) else result.model_dump(mode="json")
                return self._unfit(1, kept, receipts, told)
            error = {"message": message, "code": code}
        if self.reattached:
            return Finish(state, result, error, receipts, reattached=True, note=f"outcome from {_CONTINUE}")
        return Finish(state, result, error, receipts)

    def _result(self, response: JsonObject) -> ClaimResult | PurchaseOutcome:
        if is_purchase(self.kind):
            return normalise_purchase(response)
        request = None if self.kind is JobKind.CANCEL else self.request.claim
        return normalise_claim_response(response, request)

    def _unfit(
        self, problems: int, kept: Mapping[str, object], receipts: Mapping[str, str] | None,
        told: Mapping[str, object] | None,
    ) -> Finish | LeaveUnknown:
        """An answer with a member whose type iClient never documented is not guessed at nor
        lost: the job is ``unknown``, and its history keeps the answer whole."""
        why = f"the terminal's answer does not fit the documented result ({problems} problem(s))"
        if self.reattached:
            return LeaveUnknown(f"{why}; left unknown")
        result = {**kept, "receipts": receipts} if receipts is not None else kept
        answer = json.dumps({"result": result, "error": told}, sort_keys=True, default=str)
        return Finish(JobState.UNKNOWN, None, {"message": why}, note=f"{why}: {answer}")


# -- the terminal's other iClient calls ----------------------------------------------------------


def pairing_call(mid: int, tid: int) -> Call:
    """iClient's ``pairTerminal`` (reference §3)."""
    request: PairCall = {"mid": mid, "tid": tid}
    return Call("pairTerminal", request)


def pairing_status(payload: object) -> tuple[str, str, str | None]:
    """A ``pairingStatus`` callback: its status (``inProgress``, ``success``, ``failure``), its
    message, and the integration key a success carries."""
    status = _object(payload)
    key = status.get("integrationKey")
    return str(status.get("status")), str(status.get("message") or ""), str(key) if key else None


def terminal_info_call(pairing: Pairing) -> Call:
    """iClient's ``terminalInfo`` with the pairing keys: tells a fresh iClient frame (whose own
    storage may be lost with the browser) which terminal to ask."""
    return Call("terminalInfo", pairing.as_iclient())


def report_call(pairing: Pairing, date: str, report_type: str) -> Call:
    """iClient's ``healthpointReconciliationReport`` for a Sydney business day ``YYYY-MM-DD``."""
    request: ReportCall = {
        "reportType": report_type, "reconDate": date.replace("-", ""),
        "mid": pairing.mid, "tid": pairing.tid, "integrationKey": pairing.integrationKey,
    }
    return Call("healthpointReconciliationReport", request)


def _object(payload: object) -> JsonObject:
    """A page event's payload as a JSON object (an empty one when it is not an object)."""
    return payload if isinstance(payload, Mapping) else {}


def _is_code(code: object) -> TypeGuard[int | str | None]:
    """Whether the fund's ``healthpointErrorCode`` fits a job's error: text (``"93"``), a
    number, or none."""
    return code is None or isinstance(code, str) or (isinstance(code, int) and not isinstance(code, bool))
