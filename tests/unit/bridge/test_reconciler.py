"""bridge/reconciler.py's pure helpers: the Sydney day of a moment, across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bridge.reconciler import MAX_AGE, _day_bounds, sydney_day


def test_sydney_day() -> None:
    assert sydney_day(datetime(2026, 11, 22, 13, 0, tzinfo=UTC)) == date(2026, 11, 23)  # 00:00 AEDT
    assert sydney_day(datetime(2026, 11, 22, 12, 59, tzinfo=UTC)) == date(2026, 11, 22)


def test_day_bounds_follow_dst() -> None:
    start, end = _day_bounds(date(2026, 10, 4))  # DST starts: a 23-hour day
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 23 * 3600
    start, end = _day_bounds(date(2026, 4, 5))  # DST ends: a 25-hour day
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 25 * 3600
    assert MAX_AGE.days == 7
