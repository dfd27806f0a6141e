"""bridge/server.py: the refusal log's throttle (the server itself runs in tests/e2e and
tests/security: handshakes, limits, HTTP routes)."""

import logging
from typing import Any

from bridge.server import ThrottledLog


def test_throttled_log_writes_one_line_a_minute_with_the_count(caplog: Any) -> None:
    now = [0.0]
    throttled = ThrottledLog(logging.getLogger("test.throttle"), 60.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="test.throttle"):
        written = [throttled.warning("k", "refused") for _ in range(1000)]
        now[0] = 61.0
        throttled.warning("k", "refused")
        throttled.warning("other", "other kind")
    assert written.count(True) == 1
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["refused", "refused (999 more since the last report)", "other kind"]
