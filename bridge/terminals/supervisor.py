"""Page supervision: every terminal page that is not loaded is loaded again until it loads, and
the iClient server's reachability is probed from a loaded page.

A page can be left unloaded by many things — iClient's server unreachable at start-up, a
browser restart, a pairing time-out, a lost outcome, an operation whose iClient frame could not
load (the page is then *stale*: iClient holds a half-open channel) — and whatever the cause the
same loop retries it, with the shared backoff (:func:`bridge.backoff.backoff_delay`) capped at a
few seconds, so claims work again within seconds of the server's return, without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from bridge.backoff import backoff_delay
from bridge.browser.page import Browser
from bridge.errors import TerminalError
from bridge.terminals.runner import TerminalWorker

__all__ = ["ICLIENT_PROBE_S", "PAGE_RETRY_FIRST_S", "PAGE_RETRY_MAX_S", "SUPERVISE_S", "PageSupervisor"]

log = logging.getLogger("claimbridge.browser.supervisor")

#: How often a loaded page asks the iClient server whether it answers (an outage is seen within
#: this plus the probe's own 3 s limit).
ICLIENT_PROBE_S = 2.0
#: How often the supervisor looks for pages to load.
SUPERVISE_S = 0.25
#: The backoff between loads of one page: its first wait and its longest.
PAGE_RETRY_FIRST_S = 0.5
PAGE_RETRY_MAX_S = 5.0

Spawn = Callable[[Coroutine[Any, Any, Any], str], "asyncio.Task[None] | None"]


class PageSupervisor:
    """Keeps every terminal's page loaded, and the iClient server's reachability measured.

    Args:
        workers: terminal name -> worker (the daemon's live table).
        browser: the shared browser (its :attr:`~bridge.browser.page.Browser.iclient`).
        spawn: runs a short task among the daemon's loops (:meth:`bridge.loops.Loops.spawn`).
        paused: true while the daemon restarts the browser (it reloads the pages itself).
        changed: told when a page loaded or reachability changed (the daemon's state follows).
    """

    def __init__(
        self,
        workers: Mapping[str, TerminalWorker],
        browser: Browser,
        spawn: Spawn,
        paused: Callable[[], bool],
        changed: Callable[[], None],
    ) -> None:
        self._workers = workers
        self._browser = browser
        self._spawn = spawn
        self._paused = paused
        self._changed = changed
        self._attempts: dict[str, int] = {}
        self._due: dict[str, float] = {}
        self._loading: dict[str, asyncio.Task[None]] = {}

    def _idle(self) -> bool:
        return not self._browser.up or self._paused()

    async def load_loop(self) -> None:
        """Forever: start a load of each page that is not loaded, is not busy and is due."""
        loop = asyncio.get_running_loop()
        seen = self._browser.iclient.changes
        while True:
            await asyncio.sleep(SUPERVISE_S)
            if self._idle():
                continue
            iclient = self._browser.iclient
            if iclient.changes != seen:
                seen = iclient.changes
                if iclient.ok:
                    self._due.clear()  # the server is back: every waiting page is tried at once
            now = loop.time()
            for name, worker in list(self._workers.items()):
                if worker.ready:
                    self._attempts.pop(name, None)
                    self._due.pop(name, None)
                    continue
                if worker.busy or worker.loading or name in self._loading or now < self._due.get(name, 0.0):
                    continue
                attempt = self._attempts.get(name, 0)
                self._attempts[name] = attempt + 1
                self._due[name] = now + backoff_delay(attempt, PAGE_RETRY_FIRST_S, PAGE_RETRY_MAX_S)
                task = self._spawn(self._load(worker, attempt), f"claimbridge[{name}].load")
                if task is not None:
                    self._loading[name] = task
                    task.add_done_callback(self._forget(name))

    def _forget(self, name: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(_task: asyncio.Task[None]) -> None:
            self._loading.pop(name, None)
        return forget

    async def _load(self, worker: TerminalWorker, attempt: int) -> None:
        try:
            await worker.load_page()
        except TerminalError as exc:
            # The first failure of a run is worth a warning; the retries that follow are not.
            log.log(logging.WARNING if attempt == 0 else logging.INFO,
                    "terminal %s: page not loaded (try %d): %s", worker.name, attempt + 1, exc)
            return
        log.info("terminal %s: page loaded (try %d)", worker.name, attempt + 1)
        self._changed()

    async def probe_loop(self) -> None:
        """Forever: one loaded page asks the iClient server whether it answers; the operations'
        own requests report in between (:class:`~bridge.browser.reachability.Reachability`)."""
        while True:
            await asyncio.sleep(ICLIENT_PROBE_S)
            if self._idle():
                continue
            page = next((w.page for w in self._workers.values() if w.page.loaded), None)
            if page is None:
                continue  # no page to ask: the loads above are the probes
            before = self._browser.iclient.changes
            await page.probe_iclient()
            if self._browser.iclient.changes != before:
                self._changed()
