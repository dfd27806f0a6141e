"""Headless pairing: drives iClient's ``pairTerminal`` on a page until it succeeds, fails or times out.

Owns no state; the worker holds the terminal's lock, stores the keys and reloads the page after
a timeout (iClient keeps a pairing channel open forever; a fresh page is the only way out).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from bridge.browser.page import TerminalPage
from bridge.healthpoint.operation import pairing_call, pairing_status
from bridge.terminals.operations import next_op_id

__all__ = ["PairingOutcome", "pair_on_page", "timed_out_message"]


@dataclass(frozen=True, slots=True)
class PairingOutcome:
    """How a pairing ended: ``status`` is ``success`` (with the key), ``failure`` or ``timeout``."""

    status: str
    message: str
    integration_key: str | None = None


def timed_out_message(timeout_s: float) -> str:
    """What the engineer is told when nobody pressed "Authorise POS" in time (reference §3)."""
    return (
        f"Pairing timed out after {timeout_s:.0f} s: on the terminal choose Menu > "
        "Configuration > Integrated EFTPOS > Authorise POS, then try again."
    )


async def pair_on_page(
    page: TerminalPage, mid: int, tid: int, timeout_s: float, on_progress: Callable[[str], object]
) -> PairingOutcome:
    """Run ``pairTerminal`` for ``mid``/``tid``; ``on_progress`` gets each in-progress message."""
    call = pairing_call(mid, tid)
    op = await page.start(next_op_id("pair"), call.method, call.request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    try:
        while True:
            try:
                event = await asyncio.wait_for(op.events.get(), timeout=max(deadline - loop.time(), 0.01))
            except TimeoutError:
                return PairingOutcome("timeout", timed_out_message(timeout_s))
            if event.kind == "crashed":
                return PairingOutcome("failure", f"pairing interrupted: {event.payload}")
            if event.kind != "pairing":
                continue
            status, message, key = pairing_status(event.payload)
            if status == "inProgress":
                on_progress(message)
                continue
            if status == "success" and key:
                return PairingOutcome("success", message or "Paired", key)
            return PairingOutcome("failure", message or "Pairing failed")
    finally:
        page.finish(op.op_id)
