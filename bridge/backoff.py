"""Retry delays, pure: the one doubling-and-capped backoff every retry loop of the daemon uses
(browser relaunch, page loads, MQTT reconnects, Healthcode polls and retries)."""

from __future__ import annotations

__all__ = ["backoff_delay"]

#: Past this many doublings every realistic delay is at its cap; it keeps ``factor**n`` finite.
_MAX_EXPONENT = 64


def backoff_delay(attempt: int, initial: float, maximum: float, factor: float = 2.0) -> float:
    """Seconds to wait before try number ``attempt`` (0-based): ``initial * factor**attempt``, capped.

    Args:
        attempt: How many waits came before this one (0 for the first).
        initial: The first wait.
        maximum: The cap.
        factor: Growth per attempt.

    Returns:
        The wait in seconds, never above ``maximum`` (a bill polled for weeks never overflows).

    Raises:
        ValueError: ``attempt`` is negative (a caller's bug).
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    return float(min(maximum, initial * factor ** min(attempt, _MAX_EXPONENT)))
