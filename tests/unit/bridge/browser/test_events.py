"""A page operation's events arrive in order on its queue; ``over`` starts false."""

from __future__ import annotations

from bridge.browser.events import Operation, PageEvent


async def test_events_queue_in_order() -> None:
    op = Operation("op-1", "initiateHealthPointClaim")
    op.events.put_nowait(PageEvent("status", "Reading card"))
    op.events.put_nowait(PageEvent("unreachable", "net::ERR_CONNECTION_REFUSED"))
    assert [await op.events.get(), await op.events.get()] == [
        PageEvent("status", "Reading card"), PageEvent("unreachable", "net::ERR_CONNECTION_REFUSED")]
    assert op.over is False
