"""Unit tests for simulator/healthpoint/day.py: settlement and the same-day cut-off, DST included."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from simulator.healthpoint.day import (
    SYDNEY,
    can_cancel_same_day,
    format_terminal_datetime,
    settlement_datetime,
)

def sydney(text: str, fold: int = 0) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SYDNEY, fold=fold)


# ---------------------------------------------------------------- dates


def test_settlement_next_business_day_at_two_pm_sydney() -> None:
    friday_night = datetime.fromisoformat("2026-11-27T23:30:00+11:00")
    assert settlement_datetime(friday_night) == datetime(2026, 11, 30, 14, 0, tzinfo=SYDNEY)
    # late evening UTC that is already the next Sydney day
    utc = datetime.fromisoformat("2026-11-24T14:30:00+00:00")  # Wed 01:30 AEDT
    assert settlement_datetime(utc).date() == date(2026, 11, 26)
    assert format_terminal_datetime(utc) == "20261125013000"


def test_cancel_cut_off_when_dst_ends() -> None:
    # 2026-04-05 03:00 AEDT -> 02:00 AEST: that Sydney day lasts 25 hours.
    claim_at = sydney("2026-04-05T01:30:00")  # AEDT, before the change
    assert claim_at.utcoffset() == timedelta(hours=11)
    last = sydney("2026-04-05T23:59:59")
    assert last.utcoffset() == timedelta(hours=10)
    assert can_cancel_same_day(claim_at, last)
    assert not can_cancel_same_day(claim_at, last + timedelta(seconds=1))
    # the hour a fixed +11:00 offset would wrongly refuse
    assert can_cancel_same_day(claim_at, datetime.fromisoformat("2026-04-05T13:30:00+00:00"))
    # the day before: cut-off at 23:59:59 AEDT
    before = sydney("2026-04-04T10:00:00")
    assert can_cancel_same_day(before, datetime.fromisoformat("2026-04-04T12:59:59+00:00"))
    assert not can_cancel_same_day(before, datetime.fromisoformat("2026-04-04T13:00:00+00:00"))


def test_cancel_cut_off_when_dst_starts() -> None:
    # 2026-10-04 02:00 AEST -> 03:00 AEDT: that Sydney day lasts 23 hours.
    claim_at = sydney("2026-10-04T01:30:00")
    assert claim_at.utcoffset() == timedelta(hours=10)
    last = sydney("2026-10-04T23:59:59")
    assert last.utcoffset() == timedelta(hours=11)
    assert can_cancel_same_day(claim_at, last)
    assert not can_cancel_same_day(claim_at, last + timedelta(seconds=1))
    # a fixed +10:00 offset would wrongly allow this moment (00:30 AEDT next day)
    assert not can_cancel_same_day(claim_at, datetime.fromisoformat("2026-10-04T13:30:00+00:00"))
    before = sydney("2026-10-03T09:00:00")
    assert can_cancel_same_day(before, datetime.fromisoformat("2026-10-03T13:59:59+00:00"))
    assert not can_cancel_same_day(before, datetime.fromisoformat("2026-10-03T14:00:00+00:00"))
