"""A call that did not start: failed where the evidence says nothing left the page, else unknown."""

from __future__ import annotations

import pytest

from bridge.healthpoint import StartFailure, refused_before_start, state_after_start_failure
from bridge.jobs import JobState


@pytest.mark.parametrize(("failure", "state"), [
    (StartFailure.REFUSED, JobState.FAILED),
    (StartFailure.UNREACHABLE, JobState.FAILED),
    (StartFailure.LOST, JobState.UNKNOWN),
])
def test_only_a_lost_call_is_unknown(failure: StartFailure, state: JobState) -> None:
    assert state_after_start_failure(failure) is state


def test_the_refusal_carries_the_terminals_words() -> None:
    error = refused_before_start(" Transaction already in progress. ")
    assert error == {
        "message": "the terminal refused it before it started: Transaction already in progress.",
        "data": {"reason": "refusedBeforeStart", "terminalMessage": "Transaction already in progress."},
    }
    assert refused_before_start("")["message"].endswith(": refused")


def test_an_operation_whose_frame_could_not_load_is_failed_never_unknown() -> None:
    from bridge.healthpoint.operation import Finish, HealthPointOperation, LeaveUnknown, OperationRequest
    from bridge.jobs import JobKind

    hp = HealthPointOperation(JobKind.REFUND, "job-1", OperationRequest(amount=500))
    hp.call(None)
    [end] = hp.receive_event("unreachable", "net::ERR_CONNECTION_REFUSED (http://sim/iclient.html)")
    assert isinstance(end, Finish) and end.state is JobState.FAILED and end.result is None
    assert end.error is not None and end.error["code"] == -32005
    assert end.error["data"]["reason"] == "iclientUnreachable"
    refused = hp.not_started(StartFailure.REFUSED, "Transaction already in progress.")
    assert isinstance(refused, Finish) and refused.state is JobState.FAILED
    assert refused.error == refused_before_start("Transaction already in progress.")
    hp.reattach(None)  # a re-attached unknown job is never made failed by a call that did not start
    assert isinstance(hp.not_started(StartFailure.REFUSED, "busy"), LeaveUnknown)
