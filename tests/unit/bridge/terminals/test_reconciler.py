"""bridge/terminals/reconciler.py's pure helpers: the Sydney day of a moment, across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bridge.terminals.reconciler import MAX_AGE, _day_bounds, sydney_day


def test_sydney_day() -> None:
    assert sydney_day(datetime(2026, 11, 22, 13, 0, tzinfo=UTC)) == date(2026, 11, 23)  # 00:00 AEDT
    assert sydney_day(datetime(2026, 11, 22, 12, 59, tzinfo=UTC)) == date(2026, 11, 22)


def test_day_bounds_follow_dst() -> None:
    start, end = _day_bounds(date(2026, 10, 4))  # DST starts: a 23-hour day
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 23 * 3600
    start, end = _day_bounds(date(2026, 4, 5))  # DST ends: a 25-hour day
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 25 * 3600
    assert MAX_AGE.days == 7


def test_the_daily_run_is_due_once_a_day_after_daily_at_sydney() -> None:
    from bridge.terminals.reconciler import daily_due, daily_start

    before = datetime(2026, 11, 22, 19, 59, tzinfo=UTC)  # 06:59 AEDT, Monday 23
    after = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # 07:00 AEDT
    assert daily_start(before, "07:00") == date(2026, 11, 22)
    assert daily_start(after, "07:00") == date(2026, 11, 23)
    done = daily_start(before, "07:00")
    assert daily_due(before, "07:00", done) is None
    assert daily_due(after, "07:00", done) == date(2026, 11, 22)  # Sunday's report
    assert daily_due(after, "07:00", date(2026, 11, 23)) is None  # made already
    winter = datetime(2026, 6, 14, 21, 0, tzinfo=UTC)  # 07:00 AEST, Monday 15 June
    assert daily_due(winter, "07:00", date(2026, 6, 14)) == date(2026, 6, 14)
