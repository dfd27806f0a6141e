"""The websocket server: the only code that imports ``websockets`` on the daemon's side.

One port serves the JSON-RPC 2.0 protocol at ``/v1`` (bearer token at the handshake, or the
``bearer.<token>`` subprotocol for browsers), and beside it plain HTTP: ``/healthz``,
``/readyz``, ``/metrics`` and the host page Chromium loads. Frames go to the
:class:`~bridge.dispatcher.Dispatcher`.

Limits keep one client from starving the others: at most ``max_connections`` websocket
connections (the next handshake gets HTTP 503) and ``max_in_flight`` requests per connection
(the next request gets -32005 at once); each connection's frames are read one at a time, with a
yield to the event loop between them, so a client pipelining thousands of requests is throttled
by its own socket while every other connection is served. Repeated refusals, and accept errors
when the process runs out of file descriptors, are logged at most once a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import mimetypes
import secrets
import socket
import ssl
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from importlib import resources
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from bridge.clients import ClientRegistry
from bridge.dispatcher import Dispatcher
from bridge.errors import TemporarilyUnavailable
from bridge.hub import Hub
from bridge.journal import LANE as JOURNAL_LANE
from bridge.roles import ClientIdentity

__all__ = ["ConsoleSessions", "SESSION_COOKIE", "SUBPROTOCOL", "ThrottledLog", "WebsocketServer", "session_cookie"]

log = logging.getLogger("claimbridge.server")

SUBPROTOCOL = "claimbridge.v1"
_BEARER_PREFIX = "bearer."



#: Seconds between two log lines about the same kind of refusal.
_REFUSAL_LOG_S = 60.0


class ThrottledLog:
    """Logs a repeated event at most once per ``interval_s``, with how many were not logged.

    Args:
        logger: where the line goes.
        interval_s: the shortest time between two lines.
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(self, logger: logging.Logger, interval_s: float = _REFUSAL_LOG_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = logger
        self._interval = interval_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warning(self, key: str, message: str, *args: object) -> bool:
        """Log ``message`` unless a line for ``key`` went out less than ``interval_s`` ago.

        Returns:
            Whether a line was written.
        """
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self._skipped[key] = self._skipped.get(key, 0) + 1
            return False
        skipped = self._skipped.pop(key, 0)
        self._last[key] = now
        suffix = f" ({skipped} more since the last report)" if skipped else ""
        self._log.warning(message + suffix, *args)
        return True


class _WsPeer:
    """A websocket connection as the hub sees it, and the client it speaks for."""

    def __init__(self, connection: ServerConnection, client: ClientIdentity) -> None:
        self.connection = connection
        #: Checked against the role table by the dispatcher; history's ``by``.
        self.client = client

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        await self.connection.send(json.dumps({"jsonrpc": "2.0", "method": method, "params": params}))


#: The console's session cookie: ``HttpOnly; SameSite=Strict; Path=/``, set by ``/console/session``.
#: It holds a session id, never the token, so a script on any page (even another port of this
#: host) cannot read it, and a session dies with the daemon or at logout.
SESSION_COOKIE = "claimbridge_session"

#: The most console sessions held at once; the oldest is forgotten first.
_MAX_SESSIONS = 64


class ConsoleSessions:
    """The console's login sessions, in memory only: forgotten at logout and at every restart.

    Each session remembers the client whose token logged in (and that token, in memory only),
    so revoking the client ends its sessions too.
    """

    def __init__(self) -> None:
        self._ids: dict[str, tuple[ClientIdentity, str]] = {}

    def create(self, client: ClientIdentity, token: str) -> str:
        """A new session id (256 random bits) for ``client``, who logged in with ``token``."""
        session = secrets.token_urlsafe(32)
        self._ids[session] = (client, token)
        while len(self._ids) > _MAX_SESSIONS:
            del self._ids[next(iter(self._ids))]
        return session

    def client(self, session: str | None) -> ClientIdentity | None:
        """The client of a live session (compared in constant time), or None."""
        if not session:
            return None
        found: ClientIdentity | None = None
        for known, (client, _token) in self._ids.items():
            if hmac.compare_digest(known.encode(), session.encode()):
                found = client
        return found

    def valid(self, session: str | None) -> bool:
        """Whether ``session`` is a live session."""
        return self.client(session) is not None

    def drop(self, session: str | None) -> None:
        """Log a session out."""
        if session:
            self._ids.pop(session, None)

    def drop_revoked(self, still: Callable[[str], ClientIdentity | None]) -> None:
        """Forget every session whose token no longer names the same client."""
        for session, (client, token) in list(self._ids.items()):
            if still(token) != client:
                del self._ids[session]


def session_cookie(request: Request) -> str | None:
    """The console's session id from the request's cookies, if it carries one."""
    for header in request.headers.get_all("Cookie"):
        for pair in header.split(";"):
            name, sep, value = pair.strip().partition("=")
            if sep and name == SESSION_COOKIE and value:
                return value
    return None


def _token_from(request: Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    for header in request.headers.get_all("Sec-WebSocket-Protocol"):
        for proto in header.split(","):
            proto = proto.strip()
            if proto.startswith(_BEARER_PREFIX):
                return proto[len(_BEARER_PREFIX):]
    return None


def _text_response(status: HTTPStatus, body: bytes, content_type: str) -> Response:
    headers = Headers()
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    headers["Cache-Control"] = "no-store"
    headers["Connection"] = "close"
    return Response(status.value, status.phrase, headers, body)


class WebsocketServer:
    """Serves ``/v1`` and the HTTP endpoints beside it.

    Args:
        host, port: where to listen (port 0 picks a free one; see :attr:`port`).
        clients: the clients and their tokens (compared in constant time); the server closes
            the connections of a client whose token is revoked (:meth:`revoked`).
        dispatcher: answers JSON-RPC frames.
        hub: forgets peers that disconnect.
        allowed_origins: browser origins allowed besides the daemon's own.
        readiness: returns (ready, details) for ``/readyz``.
        extra_routes: path -> coroutine returning (status, body, content type), e.g. /metrics.
        max_frame_bytes: the largest frame accepted.
        max_connections: websocket connections served at once (HTTP 503 beyond).
        max_in_flight: requests one connection may have in flight (-32005 beyond).
        sock: a socket already bound (the daemon binds before it opens the journal).
        console_sessions: the console's login sessions, shared with the console's routes
            (a fresh set when not given).
        ssl_context: TLS for the port (``[tls]``): then it serves ``wss://`` and ``https://``
            only; a plain ``ws://`` or ``http://`` client fails its handshake.
    """

    def __init__(
        self,
        host: str,
        port: int,
        clients: ClientRegistry,
        dispatcher: Dispatcher,
        hub: Hub,
        allowed_origins: tuple[str, ...] = (),
        readiness: Callable[[], Awaitable[tuple[bool, dict[str, Any]]]] | None = None,
        extra_routes: Mapping[str, Callable[[Request], Awaitable[tuple[HTTPStatus, bytes, str] | Response]]] | None = None,
        max_frame_bytes: int = 1_048_576,
        max_connections: int = 256,
        max_in_flight: int = 32,
        sock: socket.socket | None = None,
        console_sessions: ConsoleSessions | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.clients = clients
        self.dispatcher = dispatcher
        self.hub = hub
        self.allowed_origins = allowed_origins
        self._readiness = readiness
        self.extra_routes = dict(extra_routes or {})
        self.max_frame_bytes = max_frame_bytes
        self.max_connections = max_connections
        self.max_in_flight = max_in_flight
        self._sock = sock
        self._ssl = ssl_context
        self._server: Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: The console's login sessions (bridge/console.py creates and drops them).
        self.console_sessions = console_sessions if console_sessions is not None else ConsoleSessions()
        #: Connections admitted at the handshake and not yet closed (failed handshakes drop out).
        self._admitted: weakref.WeakSet[ServerConnection] = weakref.WeakSet()
        #: Who each admitted connection speaks for: the client, and its token (None: a console
        #: session, whose id is kept instead).
        self._who: weakref.WeakKeyDictionary[ServerConnection, tuple[ClientIdentity, str | None, str | None]] = (
            weakref.WeakKeyDictionary()
        )
        self._refusals = ThrottledLog(log)
        self.refused_connections = 0
        self.refused_requests = 0

    async def __aenter__(self) -> WebsocketServer:
        self._install_accept_error_handler()
        where: dict[str, Any] = {"sock": self._sock} if self._sock is not None else {"host": self.host, "port": self.port}
        self._server = await serve(
            self._handle,
            **where,
            process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            max_size=self.max_frame_bytes,
            server_header="claimbridge",
            # Frames are small JSON on a LAN: deflate would cost CPU on every frame for nothing.
            compression=None,
            ssl=self._ssl,
        )
        sock = next(iter(self._server.sockets))
        self.port = sock.getsockname()[1]
        log.info("listening on %s://%s:%d/v1", self.scheme, self.host, self.port)
        return self

    def _install_accept_error_handler(self) -> None:
        """At fd exhaustion asyncio retries ``accept`` every second and reports each failure
        through the loop's exception handler: keep one line a minute of that, not a flood."""
        loop = asyncio.get_running_loop()
        previous = loop.get_exception_handler()

        def handler(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            exc = context.get("exception")
            if isinstance(exc, OSError) and "accept" in str(context.get("message", "")):
                self._refusals.warning("accept", "cannot accept connections: %s", exc.strerror or exc)
                return
            if previous is not None:
                previous(lp, context)
            else:
                lp.default_exception_handler(context)

        loop.set_exception_handler(handler)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()

    @property
    def scheme(self) -> str:
        """``wss`` with TLS, else ``ws``."""
        return "wss" if self._ssl is not None else "ws"

    @property
    def own_origins(self) -> tuple[str, ...]:
        """Origins of the daemon's own pages (console, host page)."""
        hosts = {self.host, "127.0.0.1", "localhost"}
        http = "https" if self._ssl is not None else "http"
        return tuple(f"{http}://{h}:{self.port}" for h in hosts)

    @property
    def host_page_url(self) -> str:
        """The page each terminal's Chromium tab loads."""
        return f"http://127.0.0.1:{self.port}/host/index.html"

    # -- handshake -----------------------------------------------------------------------------

    def _select_subprotocol(self, connection: ServerConnection, offered: Any) -> Any:
        return SUBPROTOCOL if SUBPROTOCOL in offered else None

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = PurePosixPath(request.path.split("?", 1)[0])
        if str(path) == "/v1":
            refused = self._authorise(connection, request)
            if refused is None:
                if len(self._admitted) >= self.max_connections:
                    self.refused_connections += 1
                    self._refusals.warning(
                        "connections", "refusing websocket connections: %d open (max_connections)", len(self._admitted)
                    )
                    return _text_response(HTTPStatus.SERVICE_UNAVAILABLE, b"too many connections; try again later\n", "text/plain")
                self._admitted.add(connection)
            return refused
        return await self._http(request, str(path))

    def _authorise(self, connection: ServerConnection, request: Request) -> Response | None:
        token = _token_from(request)
        origin = request.headers.get("Origin")
        if token is None:
            # The console after login: its session cookie, and only from the console's own origin
            # (a browser always sends Origin on a websocket), so no other page can ride on it.
            session = session_cookie(request)
            client = self.console_sessions.client(session) if origin in self.own_origins else None
            if client is not None:
                self._who[connection] = (client, None, session)
                return None
            return _text_response(HTTPStatus.UNAUTHORIZED, b"a valid bearer token is required\n", "text/plain")
        client = self.clients.identify(token)
        if client is None:
            return _text_response(HTTPStatus.UNAUTHORIZED, b"a valid bearer token is required\n", "text/plain")
        if origin is not None and origin not in self.own_origins and origin not in self.allowed_origins:
            # A web page in the clinic must not drive the daemon (cross-site websocket hijacking).
            return _text_response(HTTPStatus.FORBIDDEN, b"origin not allowed\n", "text/plain")
        self._who[connection] = (client, token, None)
        return None

    def revoked(self) -> None:
        """The clients changed: close every connection (and console session) whose token no
        longer names the same client (code 1008, "client token revoked")."""
        self.console_sessions.drop_revoked(self.clients.identify)
        for connection, (client, token, session) in list(self._who.items()):
            gone = (self.clients.identify(token) != client) if token is not None else (
                self.console_sessions.client(session) != client)
            if gone:
                log.warning("client %s: token revoked; closing its connection", client.name)
                del self._who[connection]
                task = asyncio.get_running_loop().create_task(
                    connection.close(1008, "client token revoked"), name="claimbridge.server.revoke"
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _http(self, request: Request, path: str) -> Response:
        if path == "/healthz":
            return _text_response(HTTPStatus.OK, b'{"status":"ok"}', "application/json")
        if path == "/readyz":
            ready, details = (await self._readiness()) if self._readiness else (True, {})
            body = json.dumps({"ready": ready, **details}).encode()
            return _text_response(HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE, body, "application/json")
        if path.startswith("/host/"):
            return _static("browser/host", path[len("/host/"):])
        route = self.extra_routes.get(path)
        if route is None:
            for prefix, candidate in self.extra_routes.items():
                if prefix.endswith("/") and path.startswith(prefix):
                    route = candidate
                    break
        if route is not None:
            answer = await route(request)
            if isinstance(answer, Response):  # the console's, with its cookie and CSP headers
                return answer
            status, body, ctype = answer
            return _text_response(status, body, ctype)
        return _text_response(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

    # -- connections ---------------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        who = self._who.get(connection)
        if who is None:  # revoked between the handshake and now
            await connection.close(1008, "client token revoked")
            return
        peer = _WsPeer(connection, who[0])
        in_flight: set[asyncio.Task[None]] = set()
        try:
            async for frame in connection:
                if len(in_flight) >= self.max_in_flight:
                    await self._refuse(connection, frame)
                else:
                    task = asyncio.get_running_loop().create_task(
                        self._answer(connection, peer, frame), name="claimbridge.server.request"
                    )
                    in_flight.add(task)
                    self._tasks.add(task)
                    task.add_done_callback(in_flight.discard)
                    task.add_done_callback(self._tasks.discard)
                # Buffered frames would otherwise be read without ever yielding: let the other
                # connections (and the requests just started) run between two frames.
                await asyncio.sleep(0)
        except ConnectionClosed:
            pass
        finally:
            self._admitted.discard(connection)
            self._who.pop(connection, None)
            self.hub.forget(peer)

    async def _refuse(self, connection: ServerConnection, frame: str | bytes) -> None:
        """Answer a request beyond ``max_in_flight`` with -32005 at once (nothing is done)."""
        self.refused_requests += 1
        self._refusals.warning("in-flight", "refusing requests: a connection has %d in flight (max_in_flight)",
                               self.max_in_flight)
        reply = self.dispatcher.refuse_frame(
            frame, TemporarilyUnavailable("tooManyRequests", "", 100)
        )
        if reply is not None:
            with contextlib.suppress(ConnectionClosed):
                await connection.send(reply)

    async def _answer(self, connection: ServerConnection, peer: _WsPeer, frame: str | bytes) -> None:
        # Journal calls made for this request wait in this connection's lane (fair to the others).
        JOURNAL_LANE.set(id(connection))
        reply = await self.dispatcher.handle_frame(frame, peer)
        if reply is not None:
            try:
                await connection.send(reply)
            except ConnectionClosed:
                pass  # the client went away; the job's outcome stays in the journal


def _static(package_dir: str, name: str) -> Response:
    name = name or "index.html"
    if "/" in name or name.startswith("."):
        return _text_response(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
    resource = resources.files("bridge").joinpath(package_dir, name)
    if not resource.is_file():
        return _text_response(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype.endswith("javascript"):
        ctype += "; charset=utf-8"
    return _text_response(HTTPStatus.OK, resource.read_bytes(), ctype)
