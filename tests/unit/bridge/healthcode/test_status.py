"""Tests for bridge.healthcode.status: status values and every cell of the transition table."""

from __future__ import annotations

import pytest

from bridge.healthcode.status import BILL_TRANSITIONS, BillStatus, can_reach, can_transition, is_final


def test_status_values_are_exactly_the_interface_ones() -> None:
    assert [s.value for s in BillStatus] == [
        "Unprocessed", "In-process", "AwaitingCorrection", "Validated",
        "AwaitingCollection", "Collected", "Cancelled", "NotFound",
    ]


_ALLOWED = {
    ("Unprocessed", "In-process"), ("Unprocessed", "Cancelled"),
    ("In-process", "Validated"), ("In-process", "AwaitingCorrection"), ("In-process", "Cancelled"),
    ("AwaitingCorrection", "In-process"), ("AwaitingCorrection", "Cancelled"),
    ("Validated", "AwaitingCollection"), ("Validated", "Cancelled"),
    ("AwaitingCollection", "Collected"), ("AwaitingCollection", "Cancelled"),
}


@pytest.mark.parametrize("current", list(BillStatus))
@pytest.mark.parametrize("new", list(BillStatus))
def test_transition_table_every_cell(current: BillStatus, new: BillStatus) -> None:
    assert can_transition(current, new) is ((current.value, new.value) in _ALLOWED)


def test_table_covers_every_status() -> None:
    assert set(BILL_TRANSITIONS) == set(BillStatus)


def test_final_statuses() -> None:
    assert {s for s in BillStatus if is_final(s)} == {
        BillStatus.COLLECTED, BillStatus.CANCELLED, BillStatus.NOT_FOUND}


def test_can_reach_skips_unseen_states() -> None:
    assert can_reach(BillStatus.UNPROCESSED, BillStatus.COLLECTED)
    assert can_reach(BillStatus.AWAITING_CORRECTION, BillStatus.COLLECTED)
    assert not can_reach(BillStatus.COLLECTED, BillStatus.CANCELLED)
    assert not can_reach(BillStatus.VALIDATED, BillStatus.UNPROCESSED)
    assert not can_reach(BillStatus.UNPROCESSED, BillStatus.NOT_FOUND)
