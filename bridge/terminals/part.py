"""HealthPoint in the daemon: the headless browser, one worker per terminal (its page, its line of
jobs, its recovery), the HealthPoint, job, terminal and system methods, and the loops that keep
the pages alive — built from the settings, beside :class:`bridge.clearing.service.HealthcodePart`.

Its life cycle, driven by :mod:`bridge.daemon`:

1. built once the journal is open (:meth:`add_terminals` makes a worker, without a page yet, for
   every configured or journal-remembered terminal, so any terminal a request names is known);
2. :meth:`methods` joins the dispatcher's table before the server answers;
3. :meth:`recover_running` turns a job a previous process left ``running`` into ``unknown``
   (never sent again);
4. entering it launches the browser (:class:`~bridge.errors.CannotStart` when it cannot start);
5. :meth:`start` loads every page, starts each worker's loops (``continueLastTransaction``
   first) and the loops that probe the pages and reload them; a page that does not answer
   counts as dead: the browser is restarted and the page's job becomes ``unknown``;
6. :meth:`drain` lets every running transaction finish; leaving it closes the browser.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from types import TracebackType
from typing import Any

from bridge.browser.page import Browser, TerminalPage
from bridge.config import Settings
from bridge.errors import CannotStart, JournalUnavailable, TemporarilyUnavailable, TerminalError
from bridge.hub import Hub
from bridge.jobs import JobKind, JobState
from bridge.journal import Journal, TerminalRecord
from bridge.protocol import JobError
from bridge.dispatcher import Handler
from bridge.terminals.methods import Service
from bridge.terminals.views import BrowserState
from bridge.terminals.runner import TerminalWorker
from bridge.terminals.supervisor import PageSupervisor

__all__ = ["HealthPointPart"]

log = logging.getLogger("claimbridge.daemon")

Spawn = Callable[[Coroutine[Any, Any, Any], str], None]


class HealthPointPart:
    """The browser, the terminals' workers and the HealthPoint methods.

    Args:
        settings: the daemon's configuration (``[terminals]``, ``[browser]``, timeouts).
        journal: the open journal.
        hub: notification fan-out.
        now: the daemon's clock for business rules.
        version: the package version (``system.version``).
        gate: raises -32005 when new work for a terminal cannot be taken now (the daemon's state).
        host_url: each terminal tab's page URL, known once the server (or the page link) listens.
        changed: called when the browser or a page changes state (the daemon re-derives its own).
        spawn: runs a loop until shutdown, in the daemon's task group.
    """

    def __init__(
        self,
        settings: Settings,
        journal: Journal,
        hub: Hub,
        now: Callable[[], datetime],
        version: str,
        *,
        gate: Callable[[str | None], None],
        host_url: Callable[[], str],
        changed: Callable[[], None],
        spawn: Spawn,
    ) -> None:
        self.settings = settings
        self.journal = journal
        self.hub = hub
        self._host_url = host_url
        self._changed = changed
        self._spawn = spawn
        self.browser = Browser(settings.browser.executable_path, tuple(settings.browser.args), on_crash=self._browser_crashed)
        self.workers: dict[str, TerminalWorker] = {}
        #: The task restarting the browser because a page hung (None when none is).
        self.restarting: asyncio.Task[Any] | None = None
        #: True once every page was loaded at start (a terminal paired later needs it).
        self.started = False
        #: True once the jobs a previous process left ``running`` were made ``unknown``.
        self.recovered = False
        self.service = Service(
            journal, hub, self.workers, self._add_worker, now, version,
            browser_state=self.browser_state, gate=gate, iclient_state=self.browser.iclient.view,
            configured=frozenset(settings.terminals),
        )

    async def add_terminals(self, remembered: list[TerminalRecord]) -> None:
        """A worker (no page yet) for each configured terminal and each the journal remembers."""
        names: dict[str, tuple[int, int]] = {n: (t.mid, t.tid) for n, t in self.settings.terminals.items()}
        for record in remembered:
            names.setdefault(record.name, (record.mid, record.tid))
        for name, (mid, tid) in sorted(names.items()):
            await self._make_worker(name, mid, tid)

    def methods(self) -> dict[str, Handler]:
        """The HealthPoint, job, terminal and system methods for the dispatcher."""
        return dict(self.service.handlers())

    async def __aenter__(self) -> HealthPointPart:
        """Launch the browser.

        Raises:
            CannotStart: Chromium cannot start (one plain line naming the fix).
        """
        try:
            await self.browser.__aenter__()
        except TerminalError as exc:
            raise CannotStart(f"claimbridge: {exc.detail.splitlines()[0]}; install Debian's "
                              "chromium-headless-shell or set [browser] executable_path") from None
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        await self.browser.__aexit__(et, e, tb)

    async def start(self) -> None:
        """Load every page, start the workers and the loops that keep the pages alive."""
        for worker in self.workers.values():
            worker.page.host_url = self._host_url()
        await asyncio.gather(*(self._start_worker(w) for _, w in sorted(self.workers.items())))
        self.started = True
        self._spawn(self._page_probe_loop(), "claimbridge.browser.probe")
        supervisor = PageSupervisor(self.workers, self.browser, self._spawn,
                                    paused=lambda: self.restarting is not None, changed=self._changed)
        self._spawn(supervisor.load_loop(), "claimbridge.browser.supervisor")
        self._spawn(supervisor.probe_loop(), "claimbridge.iclient.probe")

    async def drain(self) -> None:
        """Wait for every running transaction to finish (new jobs are refused by then)."""
        self.service.accepting = False
        await asyncio.gather(*(w.drain() for w in self.workers.values()))

    async def recover_running(self) -> None:
        """``running`` -> ``unknown`` for jobs a previous process left; tried again (the daemon's
        journal loop) while the journal does not take writes."""
        try:
            for job in await self.journal.list_jobs(states=[JobState.RUNNING]):
                if job.kind is JobKind.HEALTHCODE_BILL:
                    continue  # submitted bills resume polling in bridge.clearing.service's worker
                log.warning("job %s was running when the daemon stopped: now unknown", job.job_id)
                moved = await self.journal.move(
                    job.job_id, JobState.UNKNOWN,
                    error=JobError(message="the daemon stopped while the job was running; outcome unknown"),
                    note="daemon restarted while running", from_state=JobState.RUNNING,
                )
                # A caller that re-sent the requestId during start-up waits for this.
                self.hub.publish_job(moved)
        except JournalUnavailable as exc:
            log.error("recovery of running jobs postponed: the journal refuses writes (%s)", exc.detail)
            return
        self.recovered = True

    def browser_state(self) -> BrowserState:
        """``system.health``'s browser part."""
        up = self.browser.up
        hung = sorted(name for name, w in self.workers.items() if w.page.hung)
        return {
            "up": up,
            "ok": up and not hung and self.restarting is None,
            "hungPages": hung,
            "restarts": self.browser.restarts,
            "executable": self.browser.executable_path,
        }

    # -- workers -------------------------------------------------------------------------------

    async def _make_worker(self, name: str, mid: int, tid: int) -> TerminalWorker:
        """A worker for a terminal, with its page object (not loaded) and pairing state."""
        s = self.settings
        page = TerminalPage(
            self.browser, self._host_url(), s.iclient_url, s.api_key,
            {"posProductVendor": s.pos_product.vendor, "posProductName": s.pos_product.name,
             "posProductVersion": s.pos_product.version},
            call_timeout_s=s.page_probe_timeout_s,
        )
        worker = TerminalWorker(
            name, self.journal, page, self.hub,
            transaction_timeout_s=s.transaction_timeout_s, pairing_timeout_s=s.pairing_timeout_s,
        )
        pairing = await self.journal.pairing(name)
        worker.mid, worker.tid, worker.paired = mid, tid, pairing is not None
        self.workers[name] = worker
        return worker

    async def _start_worker(self, worker: TerminalWorker) -> None:
        """Load the worker's page (the page supervisor retries it if that fails) and start its loops."""
        try:
            await worker.load_page()
        except TerminalError as exc:
            log.error("terminal %s: %s; retrying in the background", worker.name, exc)
        self._spawn(worker.run(), f"claimbridge[{worker.name}].worker")
        self._spawn(worker.recover(), f"claimbridge[{worker.name}].recover")

    async def _add_worker(self, name: str, mid: int, tid: int) -> TerminalWorker:
        """A terminal that ``terminal.pair`` names for the first time (needs the browser up)."""
        if not (self.started and self.browser.up):
            raise TemporarilyUnavailable("browserRestarting", "the browser is not up yet")
        worker = await self._make_worker(name, mid, tid)
        await self._start_worker(worker)
        return worker

    # -- the browser ---------------------------------------------------------------------------

    async def _browser_crashed(self) -> None:
        """Every page is gone: running jobs become unknown (in their workers), then relaunch."""
        await self._relaunch(None)

    async def _relaunch(self, why: str | None) -> None:
        for worker in self.workers.values():
            worker.browser_died()
        self._changed()
        if why is None:
            await self.browser.relaunch()
        else:
            await self.browser.restart(why)
        for name, worker in self.workers.items():
            if worker.loading:
                continue  # the page supervisor is at it
            try:
                await worker.load_page()
            except TerminalError as exc:
                log.error("terminal %s: page reload after browser restart failed: %s", name, exc)
        self._changed()

    async def _page_probe_loop(self) -> None:
        """Probe every loaded page; a page that does not answer counts as dead (browser restart)."""
        timeout = self.settings.page_probe_timeout_s
        while True:
            await asyncio.sleep(min(timeout / 2, 5.0))
            if not self.browser.up or self.restarting is not None:
                continue
            loaded = [w for w in self.workers.values() if w.page.loaded]
            answers = await asyncio.gather(*(w.page.probe() for w in loaded))
            hung = [w.name for w, ok in zip(loaded, answers, strict=True) if not ok]
            if hung:
                self._changed()
                why = f"the page of {', '.join(hung)} did not answer within {timeout:g} s"
                self.restarting = asyncio.current_task()
                try:
                    await self._relaunch(why)
                finally:
                    self.restarting = None
