"""systemd notifications: the only code that writes to ``$NOTIFY_SOCKET``.

With ``Type=notify`` systemd waits for ``READY=1`` before it counts the service as started,
restarts it when ``WATCHDOG=1`` stops arriving for ``WatchdogSec=``, and shows the last
``STATUS=`` line in ``systemctl status``. The protocol (sd_notify(3)): newline-separated
``KEY=VALUE`` assignments in one datagram sent to the unix socket named by ``$NOTIFY_SOCKET``
(a path, or an abstract name written with a leading ``@``). ``$WATCHDOG_USEC`` gives the
watchdog period in microseconds, ``$WATCHDOG_PID`` the process it is meant for.

What we send:
  - ``READY=1`` once, when the journal is open, the browser is up and every terminal's page is
    loaded (the same rule as ``/readyz``);
  - ``STATUS=`` with the terminals' states, again whenever they change;
  - ``WATCHDOG=1`` every half period from a task on the event loop, so a hung loop (not only a
    dead process) gets restarted;
  - ``STOPPING=1`` when the daemon starts to drain.

The functions at the top are pure (message formatting, addresses, periods, status lines); the
socket is touched only by :class:`Notifier`. :class:`SystemdNotifier` is the daemon's part: an
async context manager that opens the socket and pings the watchdog, and whose :meth:`run`
follows the daemon once its terminals are started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.hub import Hub
    from bridge.terminals.runner import TerminalWorker

__all__ = [
    "Notifier",
    "SystemdNotifier",
    "TerminalStatus",
    "format_message",
    "notifier_from_environment",
    "socket_address",
    "status_line",
    "watchdog_interval",
]

log = logging.getLogger("claimbridge.sdnotify")

#: How often the STATUS line is recomputed when no notification prompts it, in seconds.
_STATUS_POLL_S = 5.0
#: How often readiness is re-checked after ``daemon.ready`` while a page is still loading.
_READY_POLL_S = 0.2


# -- pure part -------------------------------------------------------------------------------------


def format_message(fields: Mapping[str, str | int]) -> bytes:
    """One notification datagram.

    Args:
        fields: assignments in the order they are sent, e.g. ``{"READY": 1, "STATUS": "up"}``.

    Returns:
        ``KEY=VALUE`` lines joined by newlines, UTF-8 encoded.

    Raises:
        ValueError: a key is not upper-case letters, digits and ``_``, or a value holds a newline
            (sd_notify(3): a newline would start a new assignment).
    """
    lines = []
    for key, value in fields.items():
        if not key or not all(c.isupper() or c.isdigit() or c == "_" for c in key):
            raise ValueError(f"bad sd_notify key {key!r}")
        text = str(value)
        if "\n" in text:
            raise ValueError(f"sd_notify value for {key} holds a newline")
        lines.append(f"{key}={text}")
    if not lines:
        raise ValueError("an sd_notify message needs at least one assignment")
    return "\n".join(lines).encode()


def socket_address(notify_socket: str) -> str | bytes:
    """The address to send to for a ``$NOTIFY_SOCKET`` value.

    Args:
        notify_socket: an absolute path, or ``@name`` for Linux's abstract namespace.

    Returns:
        The path as given, or the abstract name as bytes with its leading NUL.

    Raises:
        ValueError: neither an absolute path nor ``@name`` (``vsock:`` addresses are not
            supported; systemd uses them only for virtual machines).
    """
    if notify_socket.startswith("@") and len(notify_socket) > 1:
        return b"\0" + notify_socket[1:].encode()
    if notify_socket.startswith("/"):
        return notify_socket
    raise ValueError(f"unsupported NOTIFY_SOCKET {notify_socket!r}")


def watchdog_interval(environ: Mapping[str, str], pid: int) -> float | None:
    """How often to send ``WATCHDOG=1``, in seconds: half the period systemd set.

    Args:
        environ: the process environment (``WATCHDOG_USEC``, ``WATCHDOG_PID``).
        pid: our process id; a ``WATCHDOG_PID`` for another process means "not for us".

    Returns:
        Seconds between pings, or None when the watchdog is off.
    """
    usec = environ.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    owner = environ.get("WATCHDOG_PID", "")
    if owner and (not owner.isdigit() or int(owner) != pid):
        return None
    return int(usec) / 2_000_000


@dataclass(frozen=True, slots=True)
class TerminalStatus:
    """What ``STATUS=`` says about one terminal."""

    name: str
    paired: bool
    ready: bool
    busy: bool
    queued: int


def status_line(terminals: Sequence[TerminalStatus], ready: bool, stopping: bool = False) -> str:
    """The ``STATUS=`` text: one phrase for the daemon, one per terminal.

    Args:
        terminals: the terminals, in the order to show them.
        ready: whether the daemon has reported ``READY=1``.
        stopping: whether it is draining.

    Returns:
        e.g. ``"ready; front-desk: idle; surgery-2: busy, 1 queued"``.
    """
    head = "stopping" if stopping else ("ready" if ready else "starting")
    parts = [head]
    if not terminals:
        parts.append("no terminals configured")
    for t in terminals:
        if not t.paired:
            state = "not paired"
        elif not t.ready:
            state = "page not loaded"
        elif t.busy:
            state = "busy"
        else:
            state = "idle"
        if t.queued:
            state += f", {t.queued} queued"
        parts.append(f"{t.name}: {state}")
    return "; ".join(parts)


# -- adapter -----------------------------------------------------------------------------------------


class Notifier:
    """Sends datagrams to systemd's notification socket; never raises on a send.

    Args:
        notify_socket: the ``$NOTIFY_SOCKET`` value.
    """

    def __init__(self, notify_socket: str) -> None:
        self.address = socket_address(notify_socket)
        self._sock: socket.socket | None = None

    def open(self) -> None:
        """Create the (unconnected) datagram socket."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        sock.setblocking(False)
        self._sock = sock

    def close(self) -> None:
        """Close the socket."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def send(self, **fields: str | int) -> bool:
        """Send one message; False (and a debug log) when systemd is not listening."""
        if self._sock is None:
            return False
        try:
            self._sock.sendto(format_message(fields), self.address)
        except OSError as exc:  # socket gone or full: systemd acts on what is missing, not on us
            log.debug("sd_notify %s failed: %s", ",".join(fields), exc)
            return False
        return True


class SystemdNotifier:
    """sd_notify for one daemon: ``STATUS=starting`` and the watchdog from the start, then
    ``READY=1``, the ``STATUS=`` lines and ``STOPPING=1`` (:meth:`run`).

    Args:
        notify_socket: ``$NOTIFY_SOCKET``.
        watchdog_s: seconds between ``WATCHDOG=1`` pings (:func:`watchdog_interval`), None: off.
        hub: every notification prompts a fresh ``STATUS=`` line.
        workers: terminal name -> worker, read for each ``STATUS=`` line (the daemon adds to it).
        ready_now: the rule of ``/readyz`` (journal writable, browser up, every page answers).
        started: set by the daemon once start-up is over.
        stopping: set by the daemon when it begins to drain.

    Raises:
        ValueError: ``notify_socket`` is neither a path nor an abstract name.
    """

    def __init__(
        self,
        notify_socket: str,
        watchdog_s: float | None,
        hub: Hub,
        workers: Mapping[str, TerminalWorker],
        ready_now: Callable[[], bool],
        started: asyncio.Event,
        stopping: asyncio.Event,
    ) -> None:
        self._notifier = Notifier(notify_socket)
        self._watchdog_s = watchdog_s
        self._hub = hub
        self._workers = workers
        self._ready_now = ready_now
        self._started = started
        self._stopping = stopping
        self._ready = False
        self._changed = asyncio.Event()
        self._watchdog: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SystemdNotifier:
        # The watchdog starts before the browser is launched: start-up counts too.
        self._notifier.open()
        self._notifier.send(STATUS="starting")
        if self._watchdog_s is not None:
            self._watchdog = asyncio.get_running_loop().create_task(
                _watchdog(self._notifier, self._watchdog_s), name="claimbridge.sdnotify.watchdog"
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            await asyncio.gather(self._watchdog, return_exceptions=True)
            self._watchdog = None
        self._notifier.close()

    def _terminals(self) -> list[TerminalStatus]:
        return [
            TerminalStatus(name=name, paired=w.paired, ready=w.ready, busy=w.busy, queued=w.queued)
            for name, w in sorted(self._workers.items())
        ]

    async def run(self) -> None:
        """Until cancelled: ``READY=1`` once ready, ``STATUS=`` on changes, ``STOPPING=1`` at the drain."""
        self._hub.listen(lambda method, params: self._changed.set())
        async with asyncio.TaskGroup() as group:
            group.create_task(self._announce_ready(), name="claimbridge.sdnotify.ready")
            group.create_task(self._status(), name="claimbridge.sdnotify.status")
            group.create_task(self._announce_stopping(), name="claimbridge.sdnotify.stopping")

    async def _announce_ready(self) -> None:
        await self._started.wait()
        while not self._ready_now():
            await asyncio.sleep(_READY_POLL_S)
        self._notifier.send(READY=1, STATUS=status_line(self._terminals(), ready=True), MAINPID=os.getpid())
        self._ready = True
        log.info("told systemd we are ready")

    async def _status(self) -> None:
        last = ""
        while True:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation that races
            # with the event being set, and this task must end when the daemon cancels it.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_STATUS_POLL_S):
                    await self._changed.wait()
            self._changed.clear()
            await asyncio.sleep(0)  # let the worker finish the state change that prompted us
            line = status_line(self._terminals(), ready=self._ready, stopping=self._stopping.is_set())
            if line != last:
                self._notifier.send(STATUS=line)
                last = line

    async def _announce_stopping(self) -> None:
        await self._stopping.wait()
        self._notifier.send(STOPPING=1, STATUS=status_line(self._terminals(), ready=False, stopping=True))
        self._changed.set()


async def _watchdog(notifier: Notifier, interval: float) -> None:
    # Runs on the event loop on purpose: if the loop hangs, the pings stop and systemd restarts us.
    while True:
        notifier.send(WATCHDOG=1)
        await asyncio.sleep(interval)


def notifier_from_environment(
    environ: Mapping[str, str],
    pid: int,
    hub: Hub,
    workers: Mapping[str, TerminalWorker],
    ready_now: Callable[[], bool],
    started: asyncio.Event,
    stopping: asyncio.Event,
) -> SystemdNotifier | None:
    """sd_notify when ``$NOTIFY_SOCKET`` is set (systemd ``Type=notify``), else None; a socket
    that cannot be used is one warning and no notifier."""
    notify_socket = environ.get("NOTIFY_SOCKET")
    if not notify_socket:
        return None
    try:
        return SystemdNotifier(notify_socket, watchdog_interval(environ, pid), hub, workers,
                               ready_now=ready_now, started=started, stopping=stopping)
    except ValueError as exc:
        log.warning("sd_notify off: %s", exc)
        return None
