"""What a terminal's page reports for one iClient operation: its events, in order, on a queue."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Operation", "PageEvent", "PageEventKind"]

PageEventKind = Literal["status", "question", "receipt", "complete", "pairing", "info", "report", "crashed", "unreachable"]

@dataclass(frozen=True, slots=True)
class PageEvent:
    """One thing the page reported for an operation."""

    kind: PageEventKind
    payload: Any = None


@dataclass(slots=True)
class Operation:
    """One iClient call in flight on a page: its events arrive on ``events`` in order."""

    op_id: str
    method: str
    events: asyncio.Queue[PageEvent] = field(default_factory=asyncio.Queue)
    #: The page reported ``complete``: nothing follows it, and the page has let the operation go.
    over: bool = False
