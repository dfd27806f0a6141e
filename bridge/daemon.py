"""Wiring: opens the journal, the server, the browser and the terminals, in that order.

Start-up recovery happens here: a job left ``running`` by a previous process becomes
``unknown`` before anything else can touch a terminal (it is never sent again); each worker
then tries ``continueLastTransaction`` for it. SIGTERM drains: new jobs are refused with
-32005, the running transaction finishes, then the daemon exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bridge.backoff import backoff_delay
from bridge.config import Settings
from bridge.errors import TerminalError
from bridge.hub import Hub
from bridge.jobs import JobKind, JobState
from bridge.journal import Journal
from bridge.parts import install_parts
from bridge.server import Dispatcher, WebsocketServer
from bridge.service import Service
from bridge.terminal import Browser, TerminalPage
from bridge.worker.runner import TerminalWorker

__all__ = ["Daemon", "ensure_token", "package_version"]

log = logging.getLogger("claimbridge.daemon")


def package_version() -> str:
    """The installed claimbridge version."""
    try:
        return version("claimbridge")
    except PackageNotFoundError:
        return "0+unknown"


def ensure_token(path: Path) -> str:
    """Read the bearer token, creating it (mode 0600) on first start. Never logged."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        token = path.read_text().strip()
        if token:
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
            return token
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    os.chmod(path, 0o600)
    return token


def _split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Daemon:
    """The claimbridge daemon.

    Args:
        settings: the configuration.
        now: the clock for business rules (cancel cut-off); tests freeze it.
    """

    def __init__(self, settings: Settings, now: Callable[[], datetime] = _utcnow) -> None:
        self.settings = settings
        self.now = now
        self.hub = Hub()
        self.workers: dict[str, TerminalWorker] = {}
        self.journal: Journal | None = None
        self.server: WebsocketServer | None = None
        self.browser: Browser | None = None
        self.service: Service | None = None
        self.token = ""
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.dispatcher: Dispatcher | None = None
        #: HTTP routes served beside the websocket (path, or prefix ending in "/", -> handler).
        self.extra_routes: dict[str, Any] = {}
        self._early: list[Callable[[Daemon, contextlib.AsyncExitStack], Awaitable[None]]] = []
        self._late: list[Callable[[Daemon, contextlib.AsyncExitStack], Awaitable[None]]] = []
        install_parts(self)

    @property
    def state_dir(self) -> Path:
        """Where the journal, the token and the browser's files live."""
        return Path(self.settings.state_dir)

    @property
    def url(self) -> str:
        """The websocket URL clients connect to."""
        assert self.server is not None
        return f"ws://{self.server.host}:{self.server.port}/v1"

    def stop(self) -> None:
        """Ask the daemon to drain and exit (what SIGTERM does)."""
        self._stop.set()

    @property
    def stopping(self) -> asyncio.Event:
        """Set once the daemon begins to drain (sd_notify's STOPPING=1 waits on it); do not set it."""
        return self._stop

    def add_setup(
        self, fn: Callable[[Daemon, contextlib.AsyncExitStack], Awaitable[None]], *, late: bool = False
    ) -> None:
        """Plug an optional part in (Healthcode, MQTT, metrics, console, sd_notify).

        Early setups run once the journal and the service exist, before the dispatcher is
        built: they add methods to ``service.extra`` and routes to ``extra_routes``. Late
        setups run once the server, the browser and the terminals are up, before ``ready``:
        they use ``dispatcher`` (the MQTT link) or wait for ``ready`` in a task. Contexts they
        enter on ``stack`` are closed at shutdown, in reverse order.
        """
        (self._late if late else self._early).append(fn)

    def spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        """Run a background task that is cancelled at shutdown; ``name`` like ``claimbridge[x].y``."""
        return self._spawn(coro, name)

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())

    async def run(self, install_signals: bool = True) -> None:
        """Run until :meth:`stop` (or SIGTERM/SIGINT), then drain and close everything."""
        if install_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError):
                    loop.add_signal_handler(sig, self.stop)
        async with contextlib.AsyncExitStack() as stack:
            await self._start(stack)
            self.ready.set()
            log.info("ready: %s (token file %s)", self.url, self.state_dir / "token")
            await self._stop.wait()
            log.info("draining: no new jobs; waiting for running transactions")
            assert self.service is not None
            self.service.accepting = False
            await asyncio.gather(*(w.drain() for w in self.workers.values()))
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        log.info("stopped")

    async def _start(self, stack: contextlib.AsyncExitStack) -> None:
        s = self.settings
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.token = ensure_token(self.state_dir / "token")
        self.journal = await stack.enter_async_context(Journal(self.state_dir / "claimbridge.db", clock=self.now))
        await self._recover_running()
        self.service = Service(
            self.journal, self.hub, self.workers, self._add_worker, self.now, package_version(),
            browser_state=self._browser_state,
        )
        for fn in self._early:
            await fn(self, stack)
        dispatcher = Dispatcher(self.service.handlers(), package_version(), max_batch=s.max_batch)
        self.dispatcher = dispatcher
        host, port = _split_listen(s.listen)
        self.server = await stack.enter_async_context(WebsocketServer(
            host, port, self.token, dispatcher, self.hub,
            allowed_origins=tuple(s.allowed_origins),
            readiness=self._readiness,
            extra_routes=self.extra_routes,
            max_frame_bytes=s.max_frame_bytes,
        ))
        os.environ.setdefault("XDG_CONFIG_HOME", str(self.state_dir / "browser"))
        self.browser = await stack.enter_async_context(Browser(
            s.browser.executable_path, tuple(s.browser.args), on_crash=self._browser_crashed,
        ))
        names: dict[str, tuple[int, int]] = {n: (t.mid, t.tid) for n, t in s.terminals.items()}
        for remembered in await self.journal.terminals():
            names.setdefault(remembered.name, (remembered.mid, remembered.tid))
        await asyncio.gather(*(self._add_worker(n, mid, tid) for n, (mid, tid) in sorted(names.items())))
        for fn in self._late:
            await fn(self, stack)

    async def _recover_running(self) -> None:
        assert self.journal is not None
        for job in await self.journal.list_jobs(states=[JobState.RUNNING]):
            if job.kind is JobKind.HEALTHCODE_BILL:
                continue  # submitted bills resume polling in bridge.healthcode.service's worker
            log.warning("job %s was running when the daemon stopped: now unknown", job.job_id)
            await self.journal.move(
                job.job_id, JobState.UNKNOWN,
                error={"message": "the daemon stopped while the job was running; outcome unknown"},
                note="daemon restarted while running",
            )

    async def _add_worker(self, name: str, mid: int, tid: int) -> TerminalWorker:
        assert self.journal is not None and self.server is not None and self.browser is not None
        s = self.settings
        page = TerminalPage(
            self.browser, self.server.host_page_url, s.iclient_url, s.api_key,
            {"posProductVendor": s.pos_product.vendor, "posProductName": s.pos_product.name,
             "posProductVersion": s.pos_product.version},
        )
        worker = TerminalWorker(
            name, self.journal, page, self.hub,
            transaction_timeout_s=s.transaction_timeout_s, pairing_timeout_s=s.pairing_timeout_s,
        )
        pairing = await self.journal.pairing(name)
        worker.mid, worker.tid, worker.paired = mid, tid, pairing is not None
        self.workers[name] = worker
        try:
            await worker.load_page()
        except TerminalError as exc:
            log.error("terminal %s: %s; retrying in the background", name, exc)
            self._spawn(self._load_until_up(worker), f"claimbridge[{name}].load")
        self._spawn(worker.run(), f"claimbridge[{name}].worker")
        self._spawn(worker.recover(), f"claimbridge[{name}].recover")
        return worker

    async def _load_until_up(self, worker: TerminalWorker, max_delay: float = 30.0) -> None:
        """Keep trying to load a terminal's page (iClient's URL unreachable at start, say)."""
        attempt = 0
        while not worker.ready:
            await asyncio.sleep(backoff_delay(attempt, 0.5, max_delay))
            attempt += 1
            if self.browser is None or not self.browser.up:
                continue  # the crash handler reloads every page once the browser is back
            try:
                await worker.load_page()
            except TerminalError as exc:
                log.warning("terminal %s: page still not loaded: %s", worker.name, exc)

    async def _browser_crashed(self) -> None:
        """Every page is gone: running jobs become unknown (in their workers), then relaunch."""
        assert self.browser is not None
        for worker in self.workers.values():
            worker.browser_died()
        await self.browser.relaunch()
        for name, worker in self.workers.items():
            try:
                await worker.load_page()
            except TerminalError as exc:
                log.error("terminal %s: page reload after browser restart failed: %s", name, exc)

    def _browser_state(self) -> dict[str, Any]:
        b = self.browser
        return {
            "up": bool(b and b.up),
            "restarts": b.restarts if b else 0,
            "executable": b.executable_path if b else None,
        }

    async def _readiness(self) -> tuple[bool, dict[str, Any]]:
        pages = {name: w.ready for name, w in self.workers.items()}
        browser_up = bool(self.browser and self.browser.up)
        ready = self.journal is not None and browser_up and all(pages.values())
        return ready, {"journal": self.journal is not None, "browser": browser_up, "terminals": pages}
