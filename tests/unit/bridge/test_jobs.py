"""Tests for bridge/jobs.py: walk every cell of the job state table."""

from __future__ import annotations

import itertools

import pytest

from bridge.jobs import (
    ANSWERED_STATES,
    FINAL_STATES,
    ICLIENT_RESULTS,
    TRANSITIONS,
    IllegalTransition,
    JobKind,
    JobState,
    can_move,
    check_move,
    is_final,
    outcome_state,
)

S = JobState
#: The moves INTERFACES.md draws, written out independently of the table.
ALLOWED = {
    (S.QUEUED, S.RUNNING),
    (S.QUEUED, S.FAILED),
    (S.RUNNING, S.COMPLETED),
    (S.RUNNING, S.FAILED),
    (S.RUNNING, S.UNKNOWN),
    (S.UNKNOWN, S.COMPLETED),
    (S.UNKNOWN, S.RESOLVED),
}


def test_names_are_the_interfaces_names():
    assert [s.value for s in JobState] == [
        "queued", "running", "completed", "failed", "unknown", "resolved"
    ]
    assert [k.value for k in JobKind] == [
        "claim", "rebateEstimate", "cancel", "gap", "refund", "healthcodeBill"
    ]


def test_table_covers_every_state():
    assert set(TRANSITIONS) == set(JobState)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(JobState, JobState)))
def test_every_cell(a, b):
    allowed = (a, b) in ALLOWED
    assert can_move(a, b) is allowed
    if allowed:
        check_move(a, b)
    else:
        with pytest.raises(IllegalTransition) as info:
            check_move(a, b)
        assert isinstance(info.value, ValueError)
        assert (info.value.from_state, info.value.to_state) == (a, b)


def test_queued_never_becomes_unknown():
    assert not can_move(S.QUEUED, S.UNKNOWN)


@pytest.mark.parametrize("state", list(JobState))
def test_final_states(state):
    assert is_final(state) is (state in {S.COMPLETED, S.FAILED, S.RESOLVED})
    assert is_final(state) is (not TRANSITIONS[state])


@pytest.mark.parametrize(
    ("result", "state"),
    [
        ("APPROVED", S.COMPLETED),
        ("DECLINED", S.COMPLETED),
        ("CANCELLED", S.COMPLETED),
        ("REVERSED", S.COMPLETED),
        ("NOT STARTED", S.FAILED),
        ("UNKNOWN", S.UNKNOWN),
        ("SYSTEM ERROR", S.UNKNOWN),
        ("approved", S.COMPLETED),
        ("", S.UNKNOWN),
        ("SOMETHING NEW", S.UNKNOWN),
    ],
)
def test_outcome_state(result, state):
    assert outcome_state(result) is state


def test_outcomes_are_moves_from_running():
    for state in ICLIENT_RESULTS.values():
        assert can_move(S.RUNNING, state)


def test_a_waiting_caller_is_answered_in_every_final_state_and_unknown() -> None:
    assert ANSWERED_STATES == FINAL_STATES | {JobState.UNKNOWN}
    assert JobState.QUEUED not in ANSWERED_STATES and JobState.RUNNING not in ANSWERED_STATES
    assert "unknown" in ANSWERED_STATES  # a wire state (text) is looked up as it comes
