"""The terminals wing: each terminal's FIFO runner (runner.py), re-attach and re-queue after a
restart (recovery.py), pairing, reports (operations.py), the pending question, audit rows and
history, the reconciler, and the HealthPoint, job, terminal and system methods (methods.py).
Adapters around the pure :mod:`bridge.healthpoint`; the page they drive is in :mod:`bridge.browser`.
"""

from __future__ import annotations

from bridge.terminals.history import (
    history_of,
)
from bridge.terminals.runner import (
    TerminalWorker,
)

__all__ = [
    "TerminalWorker",
    "history_of",
]
