"""One terminal's worker: its FIFO runner, recovery and pairing (adapters around the page).
"""

from __future__ import annotations

from bridge.worker.history import (
    history_of,
)
from bridge.worker.runner import (
    TerminalWorker,
)

__all__ = [
    "TerminalWorker",
    "history_of",
]
