"""Wiring and life cycle: the state directory's lock, the port, the journal, the server, the
browser and the terminals, in that order.

Start-up order is what keeps every answer honest:

1. the state directory's lock (a second daemon exits here, having changed nothing);
2. the port is bound (a port clash exits here: the journal is not even opened);
3. the journal is opened; HealthPoint's part (:class:`~bridge.terminals.part.HealthPointPart`: the
   browser, a worker per terminal, the HealthPoint methods) makes a worker, without a page yet,
   for every configured and journal-remembered terminal, so that every terminal a request may
   name is known;
4. the server starts answering: reads from the journal and repeated ``requestId`` s at once,
   new work -32005 until it can be done (:mod:`bridge.lifecycle`);
5. recovery: a job left ``running`` by a previous process becomes ``unknown`` (never sent
   again; the lock guarantees no other process is running it);
6. the browser and the pages; each worker then tries ``continueLastTransaction``.

The optional parts are chosen here, in plain code, and each gets what it needs in its constructor:
before the server starts, Healthcode (``[healthcode] url``: its methods join the dispatcher's table),
observability (``/metrics``, JSON logs) and the console (routes), and sd_notify (``$NOTIFY_SOCKET``: the
watchdog runs from here on); once the terminals are started, the Healthcode worker, the MQTT link
(``[mqtt] url``), sd_notify's announcements and the automatic reconciliation. Each part that opens
something is an async context manager on the one exit stack, so shutdown closes them in reverse order.
The background loops run in one ``asyncio.TaskGroup`` inside that stack (so every loop has ended before
the parts it uses close) and are cancelled after the drain; :mod:`bridge.loops` keeps each loop's
failure its own and lets a start-up :class:`~bridge.errors.CannotStart` leave as itself. While running,
a health loop measures the journal (a real write) and probes every page; a hung page counts as dead: the
browser is restarted and the page's job becomes ``unknown``. SIGTERM drains: new jobs are refused with
-32005, the running transaction finishes, then the daemon exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from websockets.http11 import Request, Response

from bridge.config import Settings
from bridge.clients import ClientRegistry, open_access
from bridge.console import Console
from bridge.endpoint import bind_socket, split_listen
from bridge.errors import CannotStart, JournalUnavailable, TemporarilyUnavailable
from bridge.hub import Hub
from bridge.journal import Journal
from bridge.journal.events import EventLog
from bridge.journal.guard import MarkKeeper, check_before_open
from bridge.journal.watch import JournalWatch
from bridge.lifecycle import ICLIENT_UNREACHABLE, DaemonState, iclient_unreachable, Health, check_lifecycle_move, refusal, state_for
from bridge.loops import Loops, quiet_driver_exit
from bridge.mqtt.topics import Topics, parse_broker_url
from bridge.observability import Observability, secrets_to_mask
from bridge.dispatcher import Dispatcher
from bridge.server import ConsoleSessions, WebsocketServer
from bridge.shutdown import ShutdownDeadline
from bridge.terminals.methods import Service
from bridge.terminals.part import HealthPointPart
from bridge.statelock import StateDirLock
from bridge.browser.flags import driver_node_options
from bridge.browser.page import Browser
from bridge.terminals.runner import TerminalWorker

if TYPE_CHECKING:
    from bridge.clearing.service import HealthcodePart
    from bridge.mqtt.link import MqttLink
    from bridge.sdnotify import SystemdNotifier

__all__ = ["Daemon", "package_version"]

log = logging.getLogger("claimbridge.daemon")

#: How often the journal's write probe runs while all is well (a failed write probes at once).
JOURNAL_PROBE_S = 2.0

_Route = Callable[[Request], Awaitable[tuple[HTTPStatus, bytes, str] | Response]]


def package_version() -> str:
    """The installed claimbridge version."""
    try:
        return version("claimbridge")
    except PackageNotFoundError:
        return "0+unknown"


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
        #: Set at start: the clients, the port's certificate fingerprint (``[tls]``), the MQTT link.
        self.clients: ClientRegistry | None = None
        self.tls_fingerprint: str | None = None
        self.mqtt: MqttLink | None = None
        #: Set once everything is up the first time (start-up is over).
        self.ready = asyncio.Event()
        #: Set as soon as the server answers (start-up still going on).
        self.listening = asyncio.Event()
        self.state = DaemonState.STARTING
        self._started = False
        self._stop = asyncio.Event()
        self._loops = Loops()
        self.dispatcher: Dispatcher | None = None
        #: Set as each part is built (tests read them).
        self.observability: Observability | None = None
        self.healthcode: HealthcodePart | None = None
        self.healthpoint: HealthPointPart | None = None
        if settings.mqtt.enabled:
            # Checked now, so a bad broker URL or site stops the daemon before anything starts.
            [parse_broker_url(url) for url in settings.mqtt.broker_urls], Topics(settings.mqtt.site)
            try:
                import bridge.mqtt.link  # noqa: F401 - aiomqtt, only when it is used
            except ModuleNotFoundError as exc:
                raise CannotStart(f"claimbridge: [mqtt] url is set but the {exc.name} package is not installed: "
                                  "pip install 'claimbridge[mqtt]' (or remove [mqtt] url)") from None

    @property
    def state_dir(self) -> Path:
        """Where the journal, the token and the browser's files live."""
        return Path(self.settings.state_dir)

    @property
    def url(self) -> str:
        """The websocket URL clients connect to (the configured one until the server listens)."""
        host, port = (self.server.host, self.server.port) if self.server else split_listen(self.settings.listen)
        return f"{'wss' if self.settings.tls.enabled else 'ws'}://{host}:{port}/v1"

    def _host_url(self) -> str:
        """Each terminal tab's page: on our port, or on the page link's when ours is TLS only."""
        if self.settings.tls.enabled:
            return self.browser.link.host_url if self.browser is not None else ""
        return self.server.host_page_url if self.server is not None else ""

    def stop(self) -> None:
        """Ask the daemon to drain and exit (what SIGTERM does)."""
        self._stop.set()

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Run a loop until shutdown (:class:`~bridge.loops.Loops`)."""
        self._loops.spawn(coro, name)

    # -- life cycle ----------------------------------------------------------------------------

    def health(self) -> Health:
        """What is measured now: journal writes, the browser, each page's liveness."""
        j = self.journal
        return Health(j is not None and j.writable, bool(self.browser and self.browser.up),
                      {name: w.ready for name, w in self.workers.items()}, j is not None and j.behind is not None,
                      iclient_ok=self.browser is None or self.browser.iclient.ok)

    def _move_to(self, new: DaemonState) -> None:
        check_lifecycle_move(self.state, new)
        if new is not self.state:
            log.info("daemon state: %s -> %s", self.state, new)
            self.state = new

    def _refresh_state(self) -> None:
        self._move_to(state_for(self.state, self.health(), self._started))

    def gate(self, terminal: str | None) -> None:
        """Raise -32005 when new work for ``terminal`` (None: journal-only work) cannot be
        taken now; the service asks this after it has looked for a repeated ``requestId``.

        Raises:
            TemporarilyUnavailable: with the reason and a retry hint.
        """
        self._refresh_state()
        refused = refusal(self.state, self.health(), terminal)
        if refused is not None and refused[0] == ICLIENT_UNREACHABLE and self.browser is not None:
            raise iclient_unreachable(self.browser.iclient.reason or "no answer", refused[2])
        if refused is not None:
            raise TemporarilyUnavailable(*refused)

    async def run(self, install_signals: bool = True) -> None:
        """Run until :meth:`stop` (or SIGTERM/SIGINT), then drain and close everything.

        Raises:
            StateDirLocked: another daemon holds the state directory (nothing was changed).
            CannotStart: the port cannot be bound (the journal was not opened).
        """
        if install_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError):
                    loop.add_signal_handler(sig, self.stop)
            loop.set_exception_handler(quiet_driver_exit)
        deadline = ShutdownDeadline(self.settings.shutdown_timeout_s, self._last_words, hard_exit=install_signals)
        with StateDirLock(self.state_dir):
            await deadline.run(asyncio.ensure_future(self._body()), self._stop)
        log.info("stopped")

    async def _body(self) -> None:
        # The loops' group inside the stack: every loop has ended before the parts it uses close.
        async with contextlib.AsyncExitStack() as stack, self._loops:
            await self._serve(stack)

    def _last_words(self) -> None:
        """At the shutdown deadline: every outcome the journal has not taken, at ERROR, whole."""
        if self.journal is not None:
            self.journal.log_unwritten("the daemon exits (shutdown_timeout_s)")

    async def _serve(self, stack: contextlib.AsyncExitStack) -> None:
        """Start, answer until :meth:`stop`, then drain and end the loops."""
        await self._start(stack)
        self.ready.set()
        log.info("ready: %s (token file %s)", self.url, self.state_dir / "token")
        await self._stop.wait()
        log.info("draining: no new jobs; waiting for running transactions")
        self._move_to(DaemonState.DRAINING)
        if self.healthpoint is not None:
            await self.healthpoint.drain()
        self._loops.cancel_all()

    async def _start(self, stack: contextlib.AsyncExitStack) -> None:
        s = self.settings
        host, port = split_listen(s.listen)
        sock = bind_socket(host, port)
        stack.callback(sock.close)
        access = open_access(s, self.state_dir)  # token, clients, TLS: StateDirUnusable, CannotStart
        self.token, self.clients, self.tls_fingerprint = access.token, access.clients, access.fingerprint
        path = self.state_dir / "claimbridge.db"
        try:
            mark, mark_problem = check_before_open(path)  # JournalDamaged: exit 1
            journal = await stack.enter_async_context(Journal(path, clock=self.now))
            remembered_terminals = await journal.terminals()
            self.hub.events = await stack.enter_async_context(EventLog(journal))  # flushed before the journal closes
        except (JournalUnavailable, OSError) as exc:
            detail = exc.detail if isinstance(exc, JournalUnavailable) else (exc.strerror or str(exc))
            raise CannotStart(f"claimbridge: the journal {path} cannot be opened ({detail}); if it is damaged, "
                              "restore it from a backup (docs/operations.md); if its directory is read-only, "
                              "make it writable") from None
        self.journal = journal
        keeper = MarkKeeper(journal, mark, mark_problem)
        await keeper.start()  # a journal behind its mark: degraded until accept-gap
        os.environ.setdefault("XDG_CONFIG_HOME", str(self.state_dir / "browser"))
        os.environ["NODE_OPTIONS"] = driver_node_options(os.environ.get("NODE_OPTIONS"))  # Playwright's driver
        healthpoint = self.healthpoint = HealthPointPart(
            s, journal, self.hub, self.now, package_version(),
            gate=self.gate, host_url=self._host_url, changed=self._refresh_state, spawn=self._spawn,
        )
        self.browser, self.workers, self.service = healthpoint.browser, healthpoint.workers, healthpoint.service
        service = healthpoint.service
        await healthpoint.add_terminals(remembered_terminals)
        handlers = healthpoint.methods()
        healthcode = None
        if s.healthcode.url:
            from bridge.clearing.service import HealthcodePart  # httpx only when it is used

            healthcode = await stack.enter_async_context(HealthcodePart(
                s.healthcode, journal, self.hub, self.now, lambda: service.accepting, s.state_dir,
            ))
            handlers.update(healthcode.methods())
            self.healthcode = healthcode
        observability = await stack.enter_async_context(Observability(
            journal, self.hub, self.workers, self.browser,
            ready=lambda: self.ready.is_set() and self.health().all_ok,
            secrets=secrets_to_mask(self.token, s.api_key, s.healthcode.password_file),
            log_level=s.log_level, now=self.now, version=package_version(),
        ))
        self.observability = observability
        sessions = ConsoleSessions()
        console = Console(sessions, self.clients, s, observability.recent)
        routes: dict[str, _Route] = {**observability.routes(), **console.routes()}
        notifier = await self._systemd_notifier(stack)
        dispatcher = Dispatcher(handlers, package_version(), max_batch=s.max_batch)
        self.dispatcher = dispatcher
        self.server = await stack.enter_async_context(WebsocketServer(
            host, port, self.clients, dispatcher, self.hub,
            allowed_origins=tuple(s.allowed_origins),
            readiness=self._readiness,
            extra_routes=routes,
            max_frame_bytes=s.max_frame_bytes,
            max_connections=s.max_connections,
            max_in_flight=s.max_in_flight,
            sock=sock,
            console_sessions=sessions,
            ssl_context=access.tls,
        ))
        self._spawn(self.clients.watch(on_change=self.server.revoked), "claimbridge.clients")
        self.listening.set()
        await healthpoint.recover_running()
        await stack.enter_async_context(healthpoint)  # the browser: CannotStart
        await healthpoint.start()
        self._started = True
        self._refresh_state()
        self._spawn(self._journal_loop(), "claimbridge.journal.probe")
        self._spawn(keeper.run(), "claimbridge.journal.mark")
        if healthcode is not None:
            self._spawn(healthcode.run(), "claimbridge.healthcode")
        if s.mqtt.enabled:
            from bridge.mqtt.link import MqttLink  # aiomqtt only when it is used
            async def terminal_states() -> list[dict[str, object]]:
                return [t.model_dump(mode="json") for t in await service.terminals(None, None)]

            link = self.mqtt = await stack.enter_async_context(MqttLink(
                s.mqtt, dispatcher, self.hub, terminal_states, self.clients, max_payload=s.max_frame_bytes,
            ))
            observability.watch_mqtt(lambda: {u: n.client is not None for u, n in zip(s.mqtt.broker_urls, link.nodes)})
        if notifier is not None:
            self._spawn(notifier.run(), "claimbridge.sdnotify")
        self._spawn(service.reconciler.run(s.reconciliation), "claimbridge.reconciliation")

    async def _systemd_notifier(self, stack: contextlib.AsyncExitStack) -> SystemdNotifier | None:
        """sd_notify, entered on ``stack``, when ``$NOTIFY_SOCKET`` is set (systemd ``Type=notify``)."""
        from bridge.sdnotify import notifier_from_environment

        notifier = notifier_from_environment(os.environ, os.getpid(), self.hub, self.workers, lambda: self.health().all_ok,
                                             self.ready, self._stop)
        return None if notifier is None else await stack.enter_async_context(notifier)

    async def _journal_loop(self) -> None:
        """Measure the journal with a real write (:class:`~bridge.journal.watch.JournalWatch`);
        commit held outcomes (and publish them) as soon as writes work again."""
        if self.journal is not None:
            await JournalWatch(self.journal, self.hub.publish_job, self._after_probe, probe_s=JOURNAL_PROBE_S).run()

    async def _after_probe(self) -> None:
        hp = self.healthpoint
        if hp is not None and self.journal is not None and self.journal.writable and not hp.recovered:
            await hp.recover_running()
        self._refresh_state()

    async def _readiness(self) -> tuple[bool, dict[str, object]]:
        self._refresh_state()
        health = self.health()
        ready = health.all_ok and self.state is DaemonState.READY
        return ready, {
            "state": str(self.state),
            "journal": health.journal_ok,
            "journalBehind": health.journal_behind,
            "browser": health.browser_up and (self.healthpoint is None or self.healthpoint.restarting is None),
            "iclient": health.iclient_ok,
            "terminals": health.pages,
        }
