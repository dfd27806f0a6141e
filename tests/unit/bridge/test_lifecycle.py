"""bridge/lifecycle.py: the daemon's states, their moves, and what new work may count on."""

from __future__ import annotations

import pytest

from bridge.lifecycle import (
    LEGAL_MOVES,
    DaemonState,
    Health,
    IllegalLifecycleMove,
    check_lifecycle_move,
    refusal,
    state_for,
)

ALL_UP = Health(journal_ok=True, browser_up=True, pages={"front-desk": True})


@pytest.mark.parametrize("current", list(DaemonState))
@pytest.mark.parametrize("new", list(DaemonState))
def test_every_cell_of_the_table(current: DaemonState, new: DaemonState) -> None:
    if new is current or new in LEGAL_MOVES[current]:
        check_lifecycle_move(current, new)
    else:
        with pytest.raises(IllegalLifecycleMove):
            check_lifecycle_move(current, new)


def test_draining_is_the_end_and_starting_is_never_returned_to() -> None:
    assert LEGAL_MOVES[DaemonState.DRAINING] == frozenset()
    assert all(DaemonState.STARTING not in moves for moves in LEGAL_MOVES.values())


def test_state_follows_what_is_measured() -> None:
    hung = Health(journal_ok=True, browser_up=True, pages={"front-desk": False})
    assert state_for(DaemonState.STARTING, ALL_UP, started=False) is DaemonState.STARTING
    assert state_for(DaemonState.STARTING, ALL_UP, started=True) is DaemonState.READY
    assert state_for(DaemonState.STARTING, hung, started=True) is DaemonState.DEGRADED
    assert state_for(DaemonState.READY, hung, started=True) is DaemonState.DEGRADED
    assert state_for(DaemonState.DEGRADED, ALL_UP, started=True) is DaemonState.READY
    assert state_for(DaemonState.DRAINING, ALL_UP, started=True) is DaemonState.DRAINING


def test_new_work_is_refused_with_a_reason_and_a_retry_hint() -> None:
    assert refusal(DaemonState.READY, ALL_UP, "front-desk") is None
    assert refusal(DaemonState.STARTING, ALL_UP, None) is None  # journal-only work
    code, words, retry = refusal(DaemonState.STARTING, ALL_UP, "front-desk") or ("", "", 0)
    assert code == "starting" and "starting" in words and retry > 0
    no_journal = Health(journal_ok=False, browser_up=True, pages={"front-desk": True})
    assert "journal" in (refusal(DaemonState.DEGRADED, no_journal, None) or ("", ""))[1]
    assert "journal" in (refusal(DaemonState.DEGRADED, no_journal, "front-desk") or ("", ""))[1]
    no_browser = Health(journal_ok=True, browser_up=False, pages={"front-desk": False})
    assert "browser" in (refusal(DaemonState.DEGRADED, no_browser, "front-desk") or ("", ""))[1]
    hung = Health(journal_ok=True, browser_up=True, pages={"front-desk": False, "room-2": True})
    assert "front-desk" in (refusal(DaemonState.DEGRADED, hung, "front-desk") or ("", ""))[1]
    assert refusal(DaemonState.DEGRADED, hung, "room-2") is None
    assert refusal(DaemonState.DEGRADED, hung, "new-terminal") is None  # needs only the browser
    assert "shutting down" in (refusal(DaemonState.DRAINING, ALL_UP, None) or ("", ""))[1]


def test_refusals_carry_stable_codes() -> None:
    no_journal = Health(journal_ok=False, browser_up=True, pages={"front-desk": True})
    no_browser = Health(journal_ok=True, browser_up=False, pages={"front-desk": False})
    hung = Health(journal_ok=True, browser_up=True, pages={"front-desk": False})
    assert (refusal(DaemonState.DEGRADED, no_journal, None) or ("",))[0] == "journalUnavailable"
    assert (refusal(DaemonState.DEGRADED, no_browser, "front-desk") or ("",))[0] == "browserRestarting"
    assert (refusal(DaemonState.DEGRADED, hung, "front-desk") or ("",))[0] == "pageNotReady"
    assert (refusal(DaemonState.DRAINING, ALL_UP, None) or ("",))[0] == "shuttingDown"
