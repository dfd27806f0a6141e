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
socket is touched only by :class:`Notifier`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.daemon import Daemon

__all__ = [
    "Notifier",
    "TerminalStatus",
    "format_message",
    "install",
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


def _terminals(daemon: Daemon) -> list[TerminalStatus]:
    return [
        TerminalStatus(name=name, paired=w.paired, ready=w.ready, busy=w.busy, queued=w.queued)
        for name, w in sorted(daemon.workers.items())
    ]


def _ready_now(daemon: Daemon) -> bool:
    # The rule of /readyz: the journal takes writes, the browser is up, every page answers.
    return daemon.health().all_ok


async def _announce_ready(daemon: Daemon, notifier: Notifier, state: dict[str, bool]) -> None:
    await daemon.ready.wait()
    while not _ready_now(daemon):
        await asyncio.sleep(_READY_POLL_S)
    notifier.send(READY=1, STATUS=status_line(_terminals(daemon), ready=True), MAINPID=os.getpid())
    state["ready"] = True
    log.info("told systemd we are ready")


async def _watchdog(notifier: Notifier, interval: float) -> None:
    # Runs on the event loop on purpose: if the loop hangs, the pings stop and systemd restarts us.
    while True:
        notifier.send(WATCHDOG=1)
        await asyncio.sleep(interval)


async def _status(daemon: Daemon, notifier: Notifier, changed: asyncio.Event, state: dict[str, bool]) -> None:
    last = ""
    while True:
        # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation that races
        # with the event being set, and this task must end when the daemon cancels it.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_STATUS_POLL_S):
                await changed.wait()
        changed.clear()
        await asyncio.sleep(0)  # let the worker finish the state change that prompted us
        line = status_line(_terminals(daemon), ready=state["ready"], stopping=daemon.stopping.is_set())
        if line != last:
            notifier.send(STATUS=line)
            last = line


async def _stopping(daemon: Daemon, notifier: Notifier, changed: asyncio.Event) -> None:
    await daemon.stopping.wait()
    notifier.send(STOPPING=1, STATUS=status_line(_terminals(daemon), ready=False, stopping=True))
    changed.set()


def install(daemon: Daemon) -> None:
    """Plug sd_notify in when ``$NOTIFY_SOCKET`` is set (that is, under systemd ``Type=notify``)."""
    notify_socket = os.environ.get("NOTIFY_SOCKET")
    if not notify_socket:
        return
    try:
        notifier = Notifier(notify_socket)
    except ValueError as exc:
        log.warning("sd_notify off: %s", exc)
        return
    interval = watchdog_interval(os.environ, os.getpid())

    async def early(d: Daemon, stack: contextlib.AsyncExitStack) -> None:
        # The watchdog starts before the browser is launched: start-up counts too.
        notifier.open()
        stack.callback(notifier.close)
        notifier.send(STATUS="starting")
        if interval is not None:
            d.spawn(_watchdog(notifier, interval), name="claimbridge.sdnotify.watchdog")

    async def late(d: Daemon, stack: contextlib.AsyncExitStack) -> None:
        state = {"ready": False}
        changed = asyncio.Event()
        d.hub.listen(lambda method, params: changed.set())
        d.spawn(_announce_ready(d, notifier, state), name="claimbridge.sdnotify.ready")
        d.spawn(_status(d, notifier, changed, state), name="claimbridge.sdnotify.status")
        d.spawn(_stopping(d, notifier, changed), name="claimbridge.sdnotify.stopping")

    daemon.add_setup(early)
    daemon.add_setup(late, late=True)
