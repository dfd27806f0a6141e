"""bridge/healthpoint/operation.py case by case, without a loop or a browser: the iClient call of
each kind, what each callback means, which questions are answered without the desk, the outcome
of every iClient result, receipts, and re-attaching (ours or not) for every kind."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.healthpoint import ClaimRequest, ClaimResult, Pairing
from bridge.healthpoint.operation import (
    ACKNOWLEDGED,
    POLICY,
    Answer,
    Ask,
    Call,
    Finish,
    HealthPointOperation,
    LeaveUnknown,
    NotRunnable,
    OperationRequest,
    Parent,
    Receipt,
    Status,
    TRANSACTION_KINDS,
    is_purchase,
    pairing_call,
    pairing_status,
    report_call,
    terminal_info_call,
)
from bridge.jobs import JobKind, JobState

KEYS = Pairing(mid=100, tid=200, integrationKey="k-secret")
CLAIM = {
    "requestId": "r-1",
    "terminal": "front-desk",
    "providerId": "2159081W",
    "serviceType": "P",
    "items": [
        {"claimAmount": 10000, "serviceCode": "500", "description": "Consult", "patientId": "02", "serviceDate": "2026-11-22"},
        {"claimAmount": 4400, "serviceCode": "505", "description": "Review", "patientId": "03", "serviceDate": "2026-11-22"},
    ],
}
#: The claim a stored claim request holds (its other fields, requestId, terminal, onApproved, are ours).
CLAIM_REQUEST = ClaimRequest.model_validate({k: CLAIM[k] for k in ("providerId", "serviceType", "items")})
#: A claim's stored result as the journal keeps it (the wire's names).
CLAIM_RESULT = ClaimResult(result="APPROVED", refTag="RT-77", gap=8040, transactionId="hp-txn-1")

#: Each kind: what the operation reads of its stored request, and the job it was made against.
JOBS: dict[JobKind, tuple[OperationRequest, Parent | None]] = {
    JobKind.CLAIM: (OperationRequest(claim=CLAIM_REQUEST, on_approved="accept"), None),
    JobKind.REBATE_ESTIMATE: (OperationRequest(claim=CLAIM_REQUEST), None),
    JobKind.CANCEL: (OperationRequest(), Parent(CLAIM_REQUEST, CLAIM_RESULT)),
    JobKind.GAP: (OperationRequest(amount=8040), Parent(CLAIM_REQUEST, CLAIM_RESULT)),
    JobKind.REFUND: (OperationRequest(amount=8040), None),
}
#: What iClient answers for each kind when the transaction went through (the job's own).
ANSWERS: dict[JobKind, dict[str, Any]] = {
    JobKind.CLAIM: {
        "result": "APPROVED", "healthpointRefTag": "RT-78", "healthpointGapAmount": "4400",
        "healthpointTotalBenefitAmount": "10000", "healthpointProviderId": "2159081W",
        "healthpointClaimItems": [
            {"claimAmount": "10000", "rebateAmount": "6000", "serviceCode": "500", "patientId": "02", "responseCode": "00"},
            {"claimAmount": "4400", "rebateAmount": "4000", "serviceCode": "505", "patientId": "03", "responseCode": "00"},
        ],
    },
    JobKind.REBATE_ESTIMATE: {
        "result": "APPROVED", "healthpointTotalBenefitAmount": "10000",
        "healthpointClaimItems": [
            {"claimAmount": "10000", "rebateAmount": "6000", "serviceCode": "500", "patientId": "02"},
            {"claimAmount": "4400", "rebateAmount": "4000", "serviceCode": "505", "patientId": "03"},
        ],
    },
    JobKind.CANCEL: {
        "result": "CANCELLED", "healthpointRefTag": "RT-77",
        "healthpointClaimItems": [
            {"claimAmount": "10000", "serviceCode": "500", "patientId": "02"},
            {"claimAmount": "4400", "serviceCode": "505", "patientId": "03"},
        ],
    },
    JobKind.GAP: {"result": "APPROVED", "amount": "8040", "healthpointTransactionId": "hp-txn-1", "transactionReference": "S1"},
    JobKind.REFUND: {"result": "APPROVED", "amount": "8040", "transactionReference": "S2"},
}
KINDS = sorted(TRANSACTION_KINDS)


def _op(kind: JobKind, job_id: str = "job-1") -> HealthPointOperation:
    request, parent = JOBS[kind]
    return HealthPointOperation(kind, job_id, request, parent)


def _started(kind: JobKind) -> HealthPointOperation:
    op = _op(kind)
    op.call(KEYS)
    return op


def _complete(op: HealthPointOperation, response: dict[str, Any]) -> Finish | LeaveUnknown:
    (end,) = op.receive_event("complete", response)
    assert isinstance(end, (Finish, LeaveUnknown))
    return end


def _data(end: Finish) -> dict[str, object]:
    """A Finish's result as JSON values (a claim's result model, a purchase's members)."""
    if isinstance(end.result, ClaimResult):
        return end.result.model_dump(mode="json")
    assert end.result is not None
    return dict(end.result)


# -------------------------------------------------------------------------------- what is sent


def test_a_claim_is_initiate_health_point_claim_with_our_transaction_id_and_the_keys() -> None:
    call = _op(JobKind.CLAIM).call(KEYS)
    assert call.method == "initiateHealthPointClaim"
    assert call.request is not None
    assert call.request["transactionId"] == "job-1"
    assert (call.request["mid"], call.request["tid"], call.request["integrationKey"]) == (100, 200, "k-secret")
    assert call.request["providerId"] == "2159081W" and call.request["totalClaimAmount"] == "14400"
    assert [i["claimAmount"] for i in call.request["claimItems"]] == ["10000", "4400"]
    assert call.answers == ("ACCEPT",)  # onApproved: accept, answered by the page at once


@pytest.mark.parametrize(("policy", "answers"), [("accept", ("ACCEPT",)), ("reject", ("REJECT",)), ("ask", ()), (None, ())])
def test_the_page_answers_what_on_approved_says(policy: str | None, answers: tuple[str, ...]) -> None:
    request = OperationRequest(claim=CLAIM_REQUEST, on_approved=policy)
    assert HealthPointOperation(JobKind.CLAIM, "j", request).call(None).answers == answers


def test_a_rebate_estimate_has_its_own_method_and_no_policy() -> None:
    call = _op(JobKind.REBATE_ESTIMATE).call(None)
    assert call.method == "initiateHealthPointRebateEstimate"
    assert call.answers == () and call.request is not None and "mid" not in call.request


def test_a_cancel_sends_the_original_claim_and_its_ref_tag() -> None:
    call = _op(JobKind.CANCEL).call(KEYS)
    assert call.method == "cancelHealthPointClaim" and call.request is not None
    assert call.request["refTag"] == "RT-77" and call.request["transactionId"] == "job-1"
    assert call.request["claimItems"] == _op(JobKind.CLAIM).call(KEYS).request["claimItems"]  # type: ignore[index]


def test_a_gap_is_a_purchase_linked_to_the_claim_with_the_claims_gap_by_default() -> None:
    call = _op(JobKind.GAP).call(KEYS)
    assert call.method == "initiatePurchase" and call.request is not None
    assert call.request["healthpointTransactionId"] == "hp-txn-1" and call.request["amount"] == "8040"
    assert call.request["integratedReceipt"] is True
    default = HealthPointOperation(JobKind.GAP, "j", OperationRequest(), Parent(CLAIM_REQUEST, CLAIM_RESULT)).call(None)
    assert default.request is not None and default.request["amount"] == "8040"


def test_a_refund_is_initiate_refund_of_its_amount() -> None:
    call = _op(JobKind.REFUND).call(KEYS)
    assert call.method == "initiateRefund" and call.request is not None
    assert call.request["amount"] == "8040" and call.request["transactionId"] == "job-1"


@pytest.mark.parametrize("kind", [JobKind.CANCEL, JobKind.GAP])
def test_a_job_made_against_a_claim_needs_the_claim_and_its_result(kind: JobKind) -> None:
    with pytest.raises(NotRunnable, match="needs the job"):
        HealthPointOperation(kind, "j", OperationRequest()).call(None)
    with pytest.raises(NotRunnable, match="has no result"):
        HealthPointOperation(kind, "j", OperationRequest(), Parent(CLAIM_REQUEST, None)).call(None)


def test_what_cannot_be_sent_is_not_runnable() -> None:
    with pytest.raises(NotRunnable, match="do not run on a terminal"):
        HealthPointOperation(JobKind.HEALTHCODE_BILL, "j", OperationRequest())
    no_gap = CLAIM_RESULT.model_copy(update={"gap": 0})
    with pytest.raises(NotRunnable, match="cannot be sent"):
        HealthPointOperation(JobKind.GAP, "j", OperationRequest(), Parent(CLAIM_REQUEST, no_gap)).call(None)
    with pytest.raises(NotRunnable, match="needs its claim"):
        HealthPointOperation(JobKind.CLAIM, "j", OperationRequest()).call(None)
    with pytest.raises(NotRunnable, match="cannot be sent"):
        HealthPointOperation(JobKind.REFUND, "j", OperationRequest()).call(None)
    # A claim settled by hand has no refTag or transactionId: nothing to send, never "None".
    settled_by_hand = ClaimResult(result="APPROVED")
    with pytest.raises(NotRunnable, match="no refTag"):
        HealthPointOperation(JobKind.CANCEL, "j", OperationRequest(), Parent(CLAIM_REQUEST, settled_by_hand)).call(None)
    with pytest.raises(NotRunnable, match="no transactionId"):
        HealthPointOperation(JobKind.GAP, "j", OperationRequest(), Parent(CLAIM_REQUEST, settled_by_hand)).call(None)


def test_purchases_are_gaps_and_refunds() -> None:
    assert [k for k in KINDS if is_purchase(k)] == sorted([JobKind.GAP, JobKind.REFUND])


# -------------------------------------------------------------------------------- callbacks


def test_a_status_line_is_journalled_and_told() -> None:
    assert _started(JobKind.CLAIM).receive_event("status", "Present card") == [Status("Present card")]


def test_events_that_mean_nothing_to_the_transaction() -> None:
    assert _started(JobKind.CLAIM).receive_event("info", {"status": "success"}) == []


def test_a_question_the_page_answered_by_policy() -> None:
    effects = _started(JobKind.CLAIM).receive_event(
        "question", {"text": "Patient accepts?", "options": ["ACCEPT", "REJECT"], "answered": "ACCEPT"}
    )
    assert effects == [Answer("Patient accepts?", ("ACCEPT", "REJECT"), "ACCEPT", POLICY, send=False)]


def test_a_policy_answer_the_page_did_not_give_is_sent() -> None:
    effects = _started(JobKind.CLAIM).receive_event("question", {"text": "Accept?", "options": ["REJECT", "ACCEPT"]})
    assert effects == [Answer("Accept?", ("REJECT", "ACCEPT"), "ACCEPT", POLICY, send=True)]


def test_a_single_option_error_question_is_acknowledged_by_the_daemon() -> None:
    question = {"text": "Invalid transaction details (400).", "options": ["OK"], "isError": True}
    for kind in KINDS:
        op = _started(kind)
        assert op.receive_event("question", question) == [
            Answer("Invalid transaction details (400).", ("OK",), "OK", ACKNOWLEDGED, send=True)
        ]
        assert op.pending is None


@pytest.mark.parametrize(
    "question",
    [
        {"text": "Cancel this transaction?", "options": ["YES", "NO"], "isError": True},
        {"text": "Print customer copy?", "options": ["OK"]},
        {"text": "APPROVED W/ SIGNATURE. Signature OK?", "options": ["YES", "NO"]},
    ],
)
def test_other_questions_go_to_the_desk_once(question: dict[str, Any]) -> None:
    op = _started(JobKind.GAP)
    ask = Ask(question["text"], tuple(question["options"]))
    assert op.receive_event("question", question) == [ask]
    assert op.pending == ask
    assert op.receive_event("question", question) == []  # repeated by the terminal: asked once


def test_an_ask_policy_claim_asks_the_desk() -> None:
    op = HealthPointOperation(JobKind.CLAIM, "j", OperationRequest(claim=CLAIM_REQUEST, on_approved="ask"))
    op.call(KEYS)
    assert op.receive_event("question", {"text": "Accept?", "options": ["ACCEPT", "REJECT"]}) == [
        Ask("Accept?", ("ACCEPT", "REJECT"))
    ]


def test_the_desks_answer_names_an_option_without_regard_to_case() -> None:
    op = _started(JobKind.REBATE_ESTIMATE)
    assert op.answer("yes") is None  # nothing pending
    op.receive_event("question", {"text": "Signature OK?", "options": ["YES", "NO"]})
    assert op.answer("maybe") is None and op.pending is not None  # still pending
    assert op.answer(" yes ") == "YES" and op.pending is None
    # Once answered, the same question again is new: the terminal asks it anew.
    assert op.receive_event("question", {"text": "Signature OK?", "options": ["YES", "NO"]}) != []


def test_receipts_reach_the_result() -> None:
    op = _started(JobKind.GAP)
    assert op.receive_event("receipt", {"merchantReceipt": "MERCHANT 1", "signatureRequired": True}) == [Receipt("MERCHANT 1")]
    op.receive_event("receipt", {"merchantReceipt": "MERCHANT 2"})
    end = _complete(op, {**ANSWERS[JobKind.GAP], "customerReceipt": "CUSTOMER"})
    assert isinstance(end, Finish)
    assert end.receipts == {"merchant": "MERCHANT 1\n\nMERCHANT 2", "customer": "CUSTOMER"}
    assert "receipts" not in _data(end)  # beside the result, not inside it


def test_no_receipts_no_receipts_field() -> None:
    end = _complete(_started(JobKind.CLAIM), ANSWERS[JobKind.CLAIM])
    assert isinstance(end, Finish) and end.receipts is None


# -------------------------------------------------------------------------------- outcomes


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("result", "state"),
    [
        ("APPROVED", JobState.COMPLETED),
        ("DECLINED", JobState.COMPLETED),
        ("CANCELLED", JobState.COMPLETED),
        ("REVERSED", JobState.COMPLETED),
        ("NOT STARTED", JobState.FAILED),
        ("SYSTEM ERROR", JobState.UNKNOWN),
        ("UNKNOWN", JobState.UNKNOWN),
        ("SOMETHING NEW", JobState.UNKNOWN),
    ],
)
def test_every_iclient_result_of_every_kind(kind: JobKind, result: str, state: JobState) -> None:
    end = _complete(_started(kind), {**ANSWERS[kind], "result": result})
    assert isinstance(end, Finish) and not end.reattached
    assert end.state is state and _data(end)["result"] == result
    assert (end.error is not None) is (state is JobState.FAILED)


def test_no_result_at_all_is_unknown() -> None:
    end = _complete(_started(JobKind.CLAIM), {})
    assert isinstance(end, Finish) and end.state is JobState.UNKNOWN


def test_a_failed_job_carries_healthpoints_error() -> None:
    end = _complete(_started(JobKind.CLAIM), {
        "result": "NOT STARTED", "healthpointErrorCode": "E12", "healthpointErrorDescription": "Card not supported",
    })
    assert isinstance(end, Finish)
    assert end.error == {"message": "Card not supported", "code": "E12"}
    bare = _complete(_started(JobKind.REFUND), {"result": "NOT STARTED"})
    assert isinstance(bare, Finish) and bare.error == {"message": "NOT STARTED", "code": None}


def test_a_claims_result_in_the_wires_names() -> None:
    end = _complete(_started(JobKind.CLAIM), ANSWERS[JobKind.CLAIM])
    assert isinstance(end, Finish)
    assert isinstance(end.result, ClaimResult)
    assert end.result.refTag == "RT-78" and end.result.gap == 4400 and end.result.totalBenefit == 10000
    assert [i.benefit for i in end.result.items] == [6000, 4000]


def test_a_purchases_result_in_cents() -> None:
    end = _complete(_started(JobKind.GAP), ANSWERS[JobKind.GAP])
    assert isinstance(end, Finish) and _data(end)["amount"] == 8040 and _data(end)["transactionReference"] == "S1"


def test_the_outcome_ends_a_pending_question() -> None:
    op = _started(JobKind.GAP)
    op.receive_event("question", {"text": "Signature OK?", "options": ["YES", "NO"]})
    _complete(op, ANSWERS[JobKind.GAP])
    assert op.pending is None


# -------------------------------------------------------------------------------- re-attaching


def _reattached(kind: JobKind, *, sent_here: bool) -> tuple[HealthPointOperation, Call]:
    op = _started(kind) if sent_here else _op(kind)
    return op, op.reattach(KEYS)


@pytest.mark.parametrize("sent_here", [True, False], ids=["after-a-lost-answer", "after-a-restart"])
@pytest.mark.parametrize("kind", KINDS)
def test_reattach_asks_for_the_last_transaction_and_only_waits(kind: JobKind, sent_here: bool) -> None:
    op, call = _reattached(kind, sent_here=sent_here)
    assert call == Call("continueLastTransaction", None, op.answers)
    assert not op.cancels_on_timeout and _op(kind).cancels_on_timeout
    assert op.sent is not None and op.sent["transactionId"] == "job-1"


@pytest.mark.parametrize("sent_here", [True, False], ids=["after-a-lost-answer", "after-a-restart"])
@pytest.mark.parametrize("kind", KINDS)
def test_our_transaction_echoing_our_id_completes_the_job(kind: JobKind, sent_here: bool) -> None:
    op, _ = _reattached(kind, sent_here=sent_here)
    end = _complete(op, {**ANSWERS[kind], "transactionId": "job-1"})
    assert isinstance(end, Finish) and end.reattached and end.state is JobState.COMPLETED
    assert end.note == "outcome from continueLastTransaction"


@pytest.mark.parametrize("kind", KINDS)
def test_another_transaction_leaves_the_job_unknown(kind: JobKind) -> None:
    op, _ = _reattached(kind, sent_here=False)
    assert _complete(op, {**ANSWERS[kind], "transactionId": "job-0"}) == LeaveUnknown(
        "the terminal's last transaction is another one"
    )


@pytest.mark.parametrize("kind", [JobKind.CLAIM, JobKind.REBATE_ESTIMATE, JobKind.CANCEL, JobKind.GAP])
def test_an_answer_without_our_id_is_judged_by_what_it_echoes(kind: JobKind) -> None:
    op, _ = _reattached(kind, sent_here=False)
    end = _complete(op, ANSWERS[kind])
    assert isinstance(end, Finish) and end.reattached


@pytest.mark.parametrize("sent_here", [True, False], ids=["after-a-lost-answer", "after-a-restart"])
def test_a_refund_whose_answer_does_not_echo_our_id_is_judged_as_a_purchase(sent_here: bool) -> None:
    # Failed before the fix: recovery judged a refund as a claim (no claim items echoed: never
    # ours), so a refund could be re-attached only when the terminal echoed our transactionId.
    op, _ = _reattached(JobKind.REFUND, sent_here=sent_here)
    end = _complete(op, ANSWERS[JobKind.REFUND])
    assert isinstance(end, Finish) and end.reattached and end.state is JobState.COMPLETED


@pytest.mark.parametrize(
    "answer",
    [
        {**ANSWERS[JobKind.GAP], "amount": "8040"},  # the gap payment before it: linked to a claim
        {**ANSWERS[JobKind.REFUND], "amount": "1000"},  # another amount
    ],
    ids=["the-gap-payment", "another-amount"],
)
def test_a_refund_answer_that_is_another_transaction_is_not_ours(answer: dict[str, Any]) -> None:
    op, _ = _reattached(JobKind.REFUND, sent_here=False)
    assert _complete(op, answer) == LeaveUnknown("the terminal's last transaction is another one")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("result", ["NOT STARTED", "SYSTEM ERROR", "UNKNOWN"])
def test_a_reattached_job_completes_only_on_a_definite_outcome(kind: JobKind, result: str) -> None:
    op, _ = _reattached(kind, sent_here=True)
    end = _complete(op, {**ANSWERS[kind], "transactionId": "job-1", "result": result})
    assert end == LeaveUnknown(f"terminal answered {result}; left unknown")


def test_a_reattached_claims_questions_and_receipts_start_afresh() -> None:
    op = _started(JobKind.GAP)
    op.receive_event("receipt", {"merchantReceipt": "BEFORE"})
    op.receive_event("question", {"text": "Signature OK?", "options": ["YES", "NO"]})
    op.reattach(KEYS)
    assert op.pending is None
    op.receive_event("receipt", {"merchantReceipt": "AFTER"})
    end = _complete(op, {**ANSWERS[JobKind.GAP], "transactionId": "job-1"})
    assert isinstance(end, Finish) and end.receipts == {"merchant": "AFTER"}


def test_nothing_sent_nothing_ours() -> None:
    assert not _op(JobKind.CLAIM).is_ours({"transactionId": "job-1"})


# -------------------------------------------------------------------------------- other calls


def test_the_terminals_other_calls() -> None:
    assert pairing_call(100, 200) == Call("pairTerminal", {"mid": 100, "tid": 200})
    assert terminal_info_call(KEYS) == Call("terminalInfo", {"mid": 100, "tid": 200, "integrationKey": "k-secret"})
    assert report_call(KEYS, "2026-11-22", "claims") == Call(
        "healthpointReconciliationReport",
        {"reportType": "claims", "reconDate": "20261122", "mid": 100, "tid": 200, "integrationKey": "k-secret"},
    )


def test_pairing_status() -> None:
    assert pairing_status({"status": "inProgress", "message": "Waiting"}) == ("inProgress", "Waiting", None)
    assert pairing_status({"status": "success", "message": "Paired", "integrationKey": "k"}) == ("success", "Paired", "k")
    assert pairing_status(None) == ("None", "", None)


# -------------------------------------------------------------------------------- unfit answers


def test_a_purchase_answer_with_a_member_of_an_undocumented_type_is_unknown_and_kept_whole() -> None:
    # rrn is documented as text: a number is not guessed at (nor "123456"), nor dropped.
    op = _started(JobKind.GAP)
    op.receive_event("receipt", {"merchantReceipt": "M"})
    end = _complete(op, {**ANSWERS[JobKind.GAP], "rrn": 123456, "cardType": ["visa"]})
    assert isinstance(end, Finish) and end.state is JobState.UNKNOWN and end.result is None and end.receipts is None
    assert end.error == {"message": "the terminal's answer does not fit the documented result (2 problem(s))"}
    assert '"rrn": 123456' in end.note and '"merchant": "M"' in end.note and '"cardType": ["visa"]' in end.note


def test_a_failed_answer_whose_error_code_is_not_text_nor_a_number_is_unknown() -> None:
    end = _complete(_started(JobKind.CLAIM), {"result": "NOT STARTED", "healthpointErrorCode": {"n": 93}})
    assert isinstance(end, Finish) and end.state is JobState.UNKNOWN and end.result is None
    assert end.error is not None and "(1 problem(s))" in end.error["message"]
    assert '"code": {"n": 93}' in end.note
    numbered = _complete(_started(JobKind.CLAIM), {"result": "NOT STARTED", "healthpointErrorCode": 93})
    assert isinstance(numbered, Finish) and numbered.error == {"message": "NOT STARTED", "code": 93}


def test_a_reattached_unfit_answer_stays_unknown() -> None:
    op = _started(JobKind.REFUND)
    op.reattach(KEYS)
    end = _complete(op, {**ANSWERS[JobKind.REFUND], "transactionId": "job-1", "rrn": 1})
    assert isinstance(end, LeaveUnknown) and "does not fit" in end.why
