"""The loopback link between the daemon and its terminal pages: one websocket per page.

Why not ``page.evaluate`` for everything: a call through Playwright crosses four processes each
way (Python, Playwright's node driver, the browser, the renderer), and Playwright checks every
message in Python. Measured while claims run (``python -m bench.latency``'s set-up) that is about
2.3 ms a direction, and a claim pays it twice on its critical path (start it, hear its outcome).
A websocket from the page to the daemon is one loopback hop. Playwright still owns each page's
life in :mod:`bridge.browser.page`: launching, loading, the ``crash`` and ``close`` events and the
liveness probe.

:class:`PageLink` listens on 127.0.0.1 only, on a port of its own (never the PMS-facing
listener). A page gets in only with the 256-bit secret the daemon handed it when loading it, and
each secret admits one connection. :class:`PageChannel` is one page's connection.

Frames are JSON text::

    daemon -> page   {"id": 7, "cmd": "run", "args": [...]}     (no "id": no reply wanted)
    page -> daemon   {"id": 7, "ok": true, "value": ...}  or  {"id": 7, "ok": false, "error": "..."}
    page -> daemon   {"op": "<opId>", "events": [[kind, payload], ...]}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from http import HTTPStatus
from importlib import resources
from types import TracebackType
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from bridge.errors import TerminalError

__all__ = ["PageLink", "PageChannel", "EventSink"]

log = logging.getLogger("claimbridge.browser.pagelink")

#: Receives one batch of a page's events: the operation's id and its ``[kind, payload]`` pairs.
EventSink = Callable[[str, list[Any]], None]

_PATH = "/page/"
_HOST = "/host/"
#: The host page's files (bridge/browser/host/), by name.
_HOST_FILES = {"index.html": "text/html; charset=utf-8", "host.js": "text/javascript; charset=utf-8"}
#: A day's reconciliation report is the largest thing a page sends; far below this.
_MAX_FRAME = 64 * 1024 * 1024


class PageChannel:
    """One page's connection: calls with replies, one-way messages, and pushed event batches.

    Args:
        on_events: called with each batch the page pushes.
        on_closed: called once when the connection ends (the page crashed, closed or reloaded).
    """

    def __init__(self, on_events: EventSink, on_closed: Callable[[], None]) -> None:
        self._on_events = on_events
        self._on_closed = on_closed
        self._ws: ServerConnection | None = None
        self._connected = asyncio.Event()
        self._ended = False
        self._replies: dict[int, asyncio.Future[Any]] = {}
        self._last_id = 0
        self._sends: set[asyncio.Task[None]] = set()

    @property
    def up(self) -> bool:
        """Whether the page is connected now."""
        return self._ws is not None and not self._ended

    async def wait_connected(self, timeout_s: float) -> None:
        """Return once the page has connected.

        Raises:
            TerminalError: it did not within ``timeout_s``, or the link already ended.
        """
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except TimeoutError as exc:
            raise TerminalError(f"the page did not connect to the daemon within {timeout_s:.0f} s") from exc
        if self._ended:
            raise TerminalError("the page's link to the daemon closed")

    async def call(self, cmd: str, args: list[Any], timeout_s: float) -> Any:
        """Send ``cmd`` and return the page's answer.

        Raises:
            TerminalError: the page refused (its message), did not answer in time, or is gone.
        """
        ws = self._ws
        if ws is None or self._ended:
            raise TerminalError("the page's link to the daemon is down")
        self._last_id += 1
        call_id = self._last_id
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._replies[call_id] = reply
        try:
            await ws.send(json.dumps({"id": call_id, "cmd": cmd, "args": args}))
            return await asyncio.wait_for(reply, timeout_s)
        except TimeoutError as exc:
            raise TerminalError(f"the page did not answer within {timeout_s:.1f} s") from exc
        except ConnectionClosed as exc:
            raise TerminalError("the page's link to the daemon closed") from exc
        finally:
            self._replies.pop(call_id, None)

    def tell(self, cmd: str, args: list[Any]) -> None:
        """Send ``cmd`` without waiting for anything (lost with the page if it is gone)."""
        ws = self._ws
        if ws is None or self._ended:
            return
        task = asyncio.get_running_loop().create_task(self._send_quietly(ws, {"cmd": cmd, "args": args}))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    @staticmethod
    async def _send_quietly(ws: ServerConnection, message: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps(message))

    async def close(self) -> None:
        """End the connection (the page is being closed)."""
        if self._ws is not None:
            await self._ws.close()

    async def serve(self, ws: ServerConnection) -> None:
        """Run the connection until it ends (called by :class:`PageLink`)."""
        self._ws = ws
        self._connected.set()
        try:
            async for frame in ws:
                self._receive(frame)
        except ConnectionClosed:
            pass
        finally:
            self._end()

    def _end(self) -> None:
        if self._ended:
            return
        self._ended = True
        self._connected.set()
        for reply in self._replies.values():
            if not reply.done():
                reply.set_exception(TerminalError("the page's link to the daemon closed"))
        self._on_closed()

    def _receive(self, frame: str | bytes) -> None:
        try:
            message = json.loads(frame)
        except ValueError:
            log.error("a terminal page sent a frame that is not JSON; ignored")
            return
        if not isinstance(message, dict):
            log.error("a terminal page sent a frame that is not an object; ignored")
            return
        if "op" in message:
            self._on_events(str(message["op"]), list(message.get("events") or []))
            return
        reply = self._replies.get(message.get("id", -1))
        if reply is None or reply.done():
            return  # its caller gave up waiting
        if message.get("ok"):
            reply.set_result(message.get("value"))
        else:
            reply.set_exception(TerminalError(str(message.get("error") or "refused"), refused=True))


def _host_file(connection: ServerConnection, name: str) -> Response:
    ctype = _HOST_FILES.get(name)
    if ctype is None:
        return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
    body = resources.files("bridge").joinpath("browser", "host", name).read_bytes()
    headers = Headers([("Content-Type", ctype), ("Content-Length", str(len(body))), ("Cache-Control", "no-store"),
                       ("Connection", "close")])
    return Response(HTTPStatus.OK.value, HTTPStatus.OK.phrase, headers, body)


class PageLink:
    """The loopback websocket server the terminal pages connect to (an async context manager)."""

    def __init__(self) -> None:
        self._server: Server | None = None
        self._expected: dict[str, PageChannel] = {}
        self.port = 0

    async def __aenter__(self) -> PageLink:
        self._server = await serve(
            self._serve, "127.0.0.1", 0, process_request=self._admit, max_size=_MAX_FRAME,
            # Loopback: deflating every command and batch (Chromium offers permessage-deflate)
            # would only cost both ends time on the claim's path.
            compression=None,
        )
        self.port = int(next(iter(self._server.sockets)).getsockname()[1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def channel(self, on_events: EventSink, on_closed: Callable[[], None]) -> tuple[str, PageChannel]:
        """A channel for a page about to be loaded, and the URL (with its secret) it connects to."""
        if self._server is None:
            raise TerminalError("the page link is not listening")
        secret = secrets.token_urlsafe(32)
        channel = PageChannel(on_events, on_closed)
        self._expected[secret] = channel
        return f"ws://127.0.0.1:{self.port}{_PATH}{secret}", channel

    def forget(self, channel: PageChannel) -> None:
        """A page that will not connect after all (its load failed): its secret stops working."""
        for secret in [s for s, c in self._expected.items() if c is channel]:
            del self._expected[secret]

    @property
    def host_url(self) -> str:
        """The host page served here, over plain HTTP on loopback (used when the daemon's own
        port speaks TLS only, whose certificate Chromium has no reason to trust)."""
        return f"http://127.0.0.1:{self.port}{_HOST}index.html"

    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith(_HOST):
            return _host_file(connection, request.path[len(_HOST):].split("?", 1)[0])
        secret = request.path[len(_PATH):] if request.path.startswith(_PATH) else ""
        if secret not in self._expected:
            log.warning("refused a connection to the page link without a valid secret")
            return connection.respond(HTTPStatus.FORBIDDEN, "unknown page\n")
        return None

    async def _serve(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        channel = self._expected.pop(path[len(_PATH):], None)
        if channel is None:  # a second connection with the same secret, raced past _admit
            await ws.close(1008, "unknown page")
            return
        await channel.serve(ws)
