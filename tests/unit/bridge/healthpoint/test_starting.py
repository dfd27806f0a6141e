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
