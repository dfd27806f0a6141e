"""HealthPoint's day, pure: Sydney dates, terminal times, settlement and the same-day cut-off.

Nothing here reads a clock: times arrive as aware datetimes. Sources: ``seeds/004`` (Tyro's
HealthPoint page) and ``reference/tyro-iclient-healthpoint.md`` (§ numbers).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "SYDNEY",
    "can_cancel_same_day",
    "format_terminal_datetime",
    "settlement_datetime",
    "sydney_date",
]

SYDNEY = ZoneInfo("Australia/Sydney")
"""HealthPoint's day: 00:00:00 to 23:59:59 Australian Eastern time, DST-aware (seeds/004)."""


def sydney_date(moment: datetime) -> date:
    """The calendar date in Australia/Sydney of an aware moment."""
    return moment.astimezone(SYDNEY).date()


def format_terminal_datetime(moment: datetime) -> str:
    """yyyyMMddHHmmss in Sydney local time (reference §1.5)."""
    return moment.astimezone(SYDNEY).strftime("%Y%m%d%H%M%S")


def settlement_datetime(claim_at: datetime) -> datetime:
    """Settlement of a claim: 14:00 Sydney on the next business day (weekends skipped).

    Next business day: seeds/004 "Settlement"; 14:00: the ISS sample (reference §5.2).
    Public holidays are not simulated (OUR CHOICE).
    """
    day = sydney_date(claim_at) + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(14, 0), tzinfo=SYDNEY)


def can_cancel_same_day(claim_at: datetime, now: datetime) -> bool:
    """True while ``now`` is on the claim's Sydney calendar day (until 23:59:59, DST-aware).

    seeds/004 "Claim Cancel": same day, prior to settlement, 23:59:59 Australian Eastern
    Time adjusted for daylight savings.
    """
    return sydney_date(now) == sydney_date(claim_at) and now >= claim_at
