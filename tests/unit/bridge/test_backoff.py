"""bridge/backoff.py: the one retry delay."""

from __future__ import annotations

import pytest

from bridge.backoff import backoff_delay


def test_doubles_from_initial_to_the_cap() -> None:
    assert [backoff_delay(n, 0.5, 30) for n in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert [backoff_delay(n, 1.0, 60.0) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_initial_above_the_cap_is_capped() -> None:
    assert backoff_delay(0, 10.0, 3.0) == 3.0


def test_weeks_of_attempts_never_overflow() -> None:
    assert backoff_delay(10_000, 30.0, 900.0) == 900.0


def test_other_factors() -> None:
    assert backoff_delay(2, 1.0, 100.0, factor=3.0) == 9.0


def test_negative_attempt_is_a_bug() -> None:
    with pytest.raises(ValueError):
        backoff_delay(-1, 0.5, 3.0)
