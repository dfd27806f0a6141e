"""bridge/worker/recovery.py without a browser: waiting for the page (the page-driving part,
re-attaching with continueLastTransaction, is tests/e2e/daemon's and tests/crash's)."""

import asyncio

import pytest

from bridge.errors import TemporarilyUnavailable
from bridge.worker.recovery import wait_ready


def test_wait_ready_returns_once_the_page_is_back() -> None:
    async def scenario() -> int:
        checks = [False, False, True]
        asked = 0

        def ready() -> bool:
            nonlocal asked
            asked += 1
            return checks.pop(0)

        await wait_ready(ready, timeout=5.0, poll_s=0.001)
        return asked

    assert asyncio.run(scenario()) == 3


def test_wait_ready_gives_up_as_temporarily_unavailable() -> None:
    with pytest.raises(TemporarilyUnavailable, match="did not come back"):
        asyncio.run(wait_ready(lambda: False, timeout=0.01, poll_s=0.001))
