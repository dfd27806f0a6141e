"""Tests for bridge/reasons.py: every reason code is listed, camelCase, with its words."""

from __future__ import annotations

from typing import get_args

from bridge.reasons import NOT_ALLOWED_REASONS, UNAVAILABLE_REASONS, NotAllowedReason, UnavailableReason


def test_every_reason_code_is_listed_with_its_words():
    assert set(get_args(NotAllowedReason)) == set(NOT_ALLOWED_REASONS)
    assert set(get_args(UnavailableReason)) == set(UNAVAILABLE_REASONS)
    for code in (*NOT_ALLOWED_REASONS, *UNAVAILABLE_REASONS):
        assert code[:1].islower() and code.isalnum(), code  # camelCase
    assert all(NOT_ALLOWED_REASONS.values()) and all(UNAVAILABLE_REASONS.values())
    for code in ("alreadyCancelled", "cancelInFlight", "gapApproved", "pastCancelDeadline", "notApproved",
                 "amountAboveGap", "amountAboveRemaining", "noQuestion", "notYourJob", "jobEnded", "alreadyPaired"):
        assert code in NOT_ALLOWED_REASONS
    for code in ("journalBehind", "iclientUnreachable", "terminalBusy", "browserRestarting", "shuttingDown",
                 "healthcodeCredentials"):
        assert code in UNAVAILABLE_REASONS
