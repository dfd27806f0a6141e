"""The journal's write probe, as a loop: a real write every few seconds while all is well, at
once after a failed write, then with a growing delay (:func:`bridge.backoff.backoff_delay`)
while writes keep failing, never in a tight loop. A storage failure is logged at ERROR once
when it starts and once (WARNING) when it ends, not once per probe. Held outcomes committed by
a probe are handed to ``committed`` (the daemon publishes them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bridge.backoff import backoff_delay
from bridge.journal.records import JobRecord
from bridge.journal.store import Journal

__all__ = ["JournalWatch"]

log = logging.getLogger("claimbridge.daemon")


class JournalWatch:
    """Probes ``journal`` for ever (run as one of the daemon's loops).

    Args:
        journal: the open journal.
        committed: called with each job whose held outcome a probe committed.
        after: awaited after every probe (the daemon refreshes its state, recovers jobs).
        probe_s: the delay between probes while writes work.
        first_retry_s, max_retry_s: the backoff while they fail.
    """

    def __init__(
        self, journal: Journal, committed: Callable[[JobRecord], object], after: Callable[[], Awaitable[None]],
        *, probe_s: float = 2.0, first_retry_s: float = 0.25, max_retry_s: float = 5.0,
    ) -> None:
        self.journal = journal
        self._committed = committed
        self._after = after
        self.probe_s = probe_s
        self.first_retry_s = first_retry_s
        self.max_retry_s = max_retry_s
        #: Whether a failure is under way (and was logged).
        self.failing = False
        #: Probes made since the start (for tests and benchmarks).
        self.probes = 0

    async def run(self) -> None:
        """Probe until cancelled."""
        attempt = 0
        while True:
            if self.journal.writable:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.journal.wait_fault(), self.probe_s)
            else:
                # A failed probe sets the fault itself: waiting on it would probe again at once.
                await asyncio.sleep(backoff_delay(attempt, self.first_retry_s, self.max_retry_s))
            await self.probe_once()
            attempt = 0 if self.journal.writable else attempt + 1
            await self._after()

    async def probe_once(self) -> None:
        """One probe, its committed outcomes handed on, the start or end of a failure logged once."""
        self.probes += 1
        for job in await self.journal.probe():
            log.info("job %s: held outcome %s committed", job.job_id, job.state)
            self._committed(job)
        if self.journal.writable and self.failing:
            self.failing = False
            log.warning("the journal accepts writes again")
        elif not self.journal.writable and not self.failing:
            self.failing = True
            log.error("the journal refuses writes: %s", self.journal.last_error)
