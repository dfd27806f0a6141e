"""The engineers' console: serves the static files in ``bridge/console/`` and two small JSON
documents; owns no other I/O.

Everything the console shows or changes goes through the JSON-RPC websocket at ``/v1``. The page
logs in with ``GET /console/session`` and the token in an ``Authorization`` header; the answer
sets a session cookie (``HttpOnly; SameSite=Strict``: a session id the daemon holds in memory,
never the token) that ``/v1`` accepts from the console's own origin only. ``/console/logout``
forgets the session. Two things are not protocol methods and are served here behind the same
cookie: ``/console/logs.json`` (the last 200 log records, from the daemon's
:class:`bridge.observability.RecentLogs`) and ``/console/info.json`` (the POS product data and
where the daemon keeps its files). Every console answer carries
``Content-Security-Policy: frame-ancestors 'none'``, so no other page can frame the console.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from websockets.datastructures import Headers
from websockets.http11 import Response

from bridge.roles import Role
from bridge.server import SESSION_COOKIE, ConsoleSessions, session_cookie

if TYPE_CHECKING:
    from websockets.http11 import Request

    from bridge.clients import ClientRegistry
    from bridge.config import Settings
    from bridge.observability import RecentLogs

__all__ = ["PREFIX", "Console"]

#: Where the console lives on the daemon's port.
PREFIX = "/console/"

_FILES = ("index.html", "console.js", "format.js", "jobview.js", "console.css")

#: The console loads only its own files, talks only to its own origin, and is never framed.
CSP = "default-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"


def _response(status: HTTPStatus, body: bytes, ctype: str, cookie: str | None = None) -> Response:
    headers = Headers()
    headers["Content-Type"] = ctype
    headers["Content-Length"] = str(len(body))
    headers["Cache-Control"] = "no-store"
    headers["Connection"] = "close"
    headers["Content-Security-Policy"] = CSP
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    if cookie is not None:
        headers["Set-Cookie"] = cookie
    return Response(status.value, status.phrase, headers, body)


def _static(name: str) -> Response:
    if name not in _FILES:
        return _response(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")
    resource = resources.files("bridge").joinpath("console", name)
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return _response(HTTPStatus.OK, resource.read_bytes(), f"{ctype}; charset=utf-8")


def _json(value: object, status: HTTPStatus = HTTPStatus.OK, cookie: str | None = None) -> Response:
    return _response(status, json.dumps(value, ensure_ascii=False).encode(), "application/json", cookie)


def _cookie(value: str, max_age: int | None = None) -> str:
    age = f"; Max-Age={max_age}" if max_age is not None else ""
    return f"{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/{age}"


class Console:
    """The console's HTTP routes (it has no life cycle of its own: the server serves them).

    Args:
        sessions: the server's console sessions (the same object ``/v1`` checks cookies against).
        clients: the clients; a login must present an engineer's token (INTERFACES.md: the
            console's login is an engineer's).
        settings: what ``/console/info.json`` shows.
        recent: the daemon's recent log records, for ``/console/logs.json``.
    """

    def __init__(self, sessions: ConsoleSessions, clients: ClientRegistry, settings: Settings, recent: RecentLogs) -> None:
        self._sessions = sessions
        self._clients = clients
        self._settings = settings
        self._recent = recent

    def routes(self) -> dict[str, Callable[[Request], Awaitable[Response]]]:
        """``/console`` and everything under ``/console/``, and ``/`` (a redirect to the console),
        for the server's extra routes. ``/`` comes last: as a prefix it would match every path,
        so :meth:`root` answers 404 for any other."""
        return {"/console": self.route, PREFIX: self.route, "/": self.root}  # the server drops a trailing slash

    async def root(self, request: Request) -> Response:
        """``GET /``: 302 to ``/console/`` (an engineer types the daemon's address and lands there)."""
        if request.path.split("?", 1)[0] != "/":
            return _response(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")
        response = _response(HTTPStatus.FOUND, b"", "text/plain; charset=utf-8")
        response.headers["Location"] = PREFIX
        return response

    def _logged_in(self, request: Request) -> bool:
        return self._sessions.valid(session_cookie(request))

    def _login(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        client = self._clients.identify(token)
        if client is None:
            return _json({"error": "that token was refused"}, HTTPStatus.UNAUTHORIZED)
        if client.role is not Role.ENGINEER:
            return _json({"error": f"the console is for engineers; client {client.name} is {client.role}"},
                         HTTPStatus.FORBIDDEN)
        return _json({"ok": True, "client": client.name}, cookie=_cookie(self._sessions.create(client, token)))

    def _logout(self, request: Request) -> Response:
        self._sessions.drop(session_cookie(request))
        return _json({"ok": True}, cookie=_cookie("", max_age=0))

    def _info(self) -> dict[str, object]:
        s = self._settings
        return {
            "posProduct": {
                "posProductVendor": s.pos_product.vendor,
                "posProductName": s.pos_product.name,
                "posProductVersion": s.pos_product.version,
            },
            "iclientUrl": s.iclient_url,
            "stateDir": str(Path(s.state_dir)),
            "healthcode": s.healthcode.url is not None,
            "mqtt": s.mqtt.enabled,
        }

    async def route(self, request: Request) -> Response:
        """Answer one request under ``/console``."""
        path = request.path.split("?", 1)[0]
        name = path[len(PREFIX):] if path.startswith(PREFIX) else ""
        if name == "session":
            return self._login(request)
        if name == "logout":
            return self._logout(request)
        if name in ("logs.json", "info.json"):
            if not self._logged_in(request):
                return _json({"error": "log in first"}, HTTPStatus.UNAUTHORIZED)
            return _json(self._recent.snapshot() if name == "logs.json" else self._info())
        return _static(name or "index.html")
